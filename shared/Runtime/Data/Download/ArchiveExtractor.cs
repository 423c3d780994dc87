using System.Formats.Tar;
using System.IO.Compression;

namespace Recipes.Runtime.Data.Download;

/// <summary>
/// Unpacks downloaded archives (.gz, .zip, .tar, .tar.gz/.tgz) without trusting them. Every entry is
/// checked before it is written: absolute paths, <c>..</c> segments and links leading out of the target are
/// refused. Everything is first extracted into a staging folder beside the target and only moved in once
/// the whole archive has been read and its checksums matched, so a hostile or truncated archive leaves
/// the target as it was.
/// </summary>
public static class ArchiveExtractor
{
    enum ArchiveKind { Gzip, Zip, Tar, TarGzip }

    /// <summary>An extracted entry, by its path relative to the staging (and later the target) folder.</summary>
    readonly record struct StagedEntry(string RelativePath, bool IsDirectory);

    /// <summary>
    /// Extracts <paramref name="archivePath"/> into <paramref name="targetFolder"/> (created if needed; files
    /// already there with the same names are replaced) and returns the full paths of the files written.
    /// A .gz that is not a tar holds one file, named as the archive without ".gz".
    /// </summary>
    /// <exception cref="DataFileException">The archive is of an unknown kind, truncated, corrupt, or has an entry
    /// that would land outside the target folder.</exception>
    public static IReadOnlyList<string> Extract(string archivePath, string targetFolder)
    {
        string archive = Path.GetFullPath(archivePath);
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetFolder));
        if (!File.Exists(archive)) throw new DataFileException(archive, "archive not found");
        ArchiveKind kind = DetectKind(archive);
        string parent = Path.GetDirectoryName(target)
            ?? throw new ArgumentException($"cannot extract into the file system root '{target}'", nameof(targetFolder));

        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $"{StagingPrefix(target)}{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var staged = new List<StagedEntry>();
            try
            {
                switch (kind)
                {
                    case ArchiveKind.Gzip: ExtractSingleGzip(archive, staging, staged); break;
                    case ArchiveKind.Zip: ExtractZip(archive, staging, staged); break;
                    case ArchiveKind.Tar:
                        using (var tar = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                            ExtractTar(archive, tar, staging, staged);
                        break;
                    case ArchiveKind.TarGzip:
                        using (var tar = new CheckedGzipStream(archive))
                        {
                            ExtractTar(archive, tar, staging, staged);
                            // The gzip trailer is only checked at the end of the stream, past the tar's end marker.
                            tar.CopyTo(Stream.Null);
                        }
                        break;
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new DataFileException(archive, $"truncated or corrupt archive: {e.Message}", e);
            }
            return MoveIntoTarget(archive, staging, target, staged);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Deletes the staging folders that extractions into <paramref name="targetFolder"/> left behind because
    /// their process was killed before it could clean up (each one can be as large as its archive), and returns
    /// how many there were. Call it only where no other extraction into that folder can be running.
    /// </summary>
    public static int DeleteAbandonedStaging(string targetFolder)
    {
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetFolder));
        string? parent = Path.GetDirectoryName(target);
        if (parent is null || !Directory.Exists(parent)) return 0;
        int deleted = 0;
        foreach (string staging in Directory.EnumerateDirectories(parent, StagingPrefix(target) + "*"))
        {
            // Extract makes real folders; a link with such a name is someone else's and may lead anywhere.
            if (new DirectoryInfo(staging).LinkTarget is not null) continue;
            // Deleting recursively removes the links found inside, never what they point to.
            Directory.Delete(staging, recursive: true);
            deleted++;
        }
        return deleted;
    }

    static string StagingPrefix(string target) => $".{Path.GetFileName(target)}.extracting-";

    static ArchiveKind DetectKind(string archive)
    {
        string name = Path.GetFileName(archive).ToLowerInvariant();
        if (name.EndsWith(".tar.gz") || name.EndsWith(".tgz")) return ArchiveKind.TarGzip;
        if (name.EndsWith(".gz")) return ArchiveKind.Gzip;
        if (name.EndsWith(".zip")) return ArchiveKind.Zip;
        if (name.EndsWith(".tar")) return ArchiveKind.Tar;
        throw new DataFileException(archive, "not a recognised archive (expected .gz, .zip, .tar, .tar.gz or .tgz)");
    }

    static void ExtractSingleGzip(string archive, string staging, List<StagedEntry> staged)
    {
        string name = Path.GetFileName(archive)[..^".gz".Length];
        if (name.Length == 0) throw new DataFileException(archive, "a .gz archive needs a name to give the file inside");
        using var content = new CheckedGzipStream(archive);
        WriteFile(archive, staging, name, content);
        staged.Add(new StagedEntry(name, IsDirectory: false));
    }

    static void ExtractZip(string archive, string staging, List<StagedEntry> staged)
    {
        using var zip = ZipFile.OpenRead(archive);
        foreach (ZipArchiveEntry entry in zip.Entries)
        {
            bool isDirectory = entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\');
            string? relative = SafeRelativePath(archive, entry.FullName, isDirectory);
            if (relative is null) continue;
            if (isDirectory)
            {
                CreateRealFolders(archive, staging, relative);
            }
            else
            {
                // Zip symbolic links (a Unix mode in the external attributes) come out as small text files
                // holding the link target: harmless, and no data set relies on them.
                using Stream data = entry.Open();
                Crc32 written = WriteFile(archive, staging, relative, data);
                if (written.Length != entry.Length || written.Value != entry.Crc32)
                    throw new InvalidDataException(
                        $"entry '{entry.FullName}' decompressed to {written.Length} bytes with CRC-32 {written.Value:x8}, " +
                        $"but the archive records {entry.Length} bytes with CRC-32 {entry.Crc32:x8}");
            }
            staged.Add(new StagedEntry(relative, isDirectory));
        }
    }

    static void ExtractTar(string archive, Stream tarStream, string staging, List<StagedEntry> staged)
    {
        using var reader = new TarReader(tarStream, leaveOpen: true);
        while (reader.GetNextEntry() is { } entry)
        {
            bool isDirectory = entry.EntryType == TarEntryType.Directory;
            string? relative = SafeRelativePath(archive, entry.Name, isDirectory);
            if (relative is null) continue;
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    CreateRealFolders(archive, staging, relative);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    WriteFile(archive, staging, relative, entry.DataStream ?? Stream.Null);
                    break;
                case TarEntryType.SymbolicLink:
                    // Relative to the link's own folder. Only links that lead downward are kept: with no '..'
                    // anywhere, no chain of links can climb out of the target.
                    RefuseUnsafeLinkTarget(archive, entry);
                    File.CreateSymbolicLink(PrepareDestination(archive, staging, relative), entry.LinkName);
                    break;
                case TarEntryType.HardLink:
                    // Relative to the archive root; materialised as a copy of the file extracted before it.
                    RefuseUnsafeLinkTarget(archive, entry);
                    string? linked = SafeRelativePath(archive, entry.LinkName, isDirectory: false);
                    string source = Path.Combine(staging, linked ?? "");
                    if (linked is null || !File.Exists(source))
                        throw new DataFileException(archive, $"entry '{entry.Name}' is a hard link to '{entry.LinkName}', which the archive does not hold before it");
                    File.Copy(source, PrepareDestination(archive, staging, relative));
                    break;
                default:
                    throw new DataFileException(archive, $"entry '{entry.Name}' is a {entry.EntryType} entry, which a data archive should not hold; refusing to extract");
            }
            staged.Add(new StagedEntry(relative, isDirectory));
        }
    }

    /// <summary>
    /// The entry's path relative to the extraction folder, refusing any name that could resolve elsewhere:
    /// absolute paths, drive letters and '..' segments (even ones that would come back inside). Null for a
    /// directory entry naming the extraction folder itself ("./").
    /// </summary>
    static string? SafeRelativePath(string archive, string entryName, bool isDirectory)
    {
        string[] segments = entryName.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries);
        if (IsAbsolute(entryName) || segments.Contains("..") || entryName.Contains('\0'))
            throw new DataFileException(archive, $"entry '{entryName}' would be written outside the target folder; refusing to extract");
        string relative = Path.Combine(segments.Where(segment => segment != ".").ToArray());
        if (relative.Length > 0) return relative;
        if (isDirectory) return null;
        throw new DataFileException(archive, $"entry '{entryName}' has no file name");
    }

    static bool IsAbsolute(string name) =>
        name.StartsWith('/') || name.StartsWith('\\') || (name.Length >= 2 && name[1] == ':');

    static void RefuseUnsafeLinkTarget(string archive, TarEntry entry)
    {
        string linkTarget = entry.LinkName;
        bool climbs = linkTarget.Split(['/', '\\']).Contains("..");
        if (linkTarget.Length == 0 || IsAbsolute(linkTarget) || climbs || linkTarget.Contains('\0'))
            throw new DataFileException(archive, $"entry '{entry.Name}' is a link to '{linkTarget}', outside the target folder; refusing to extract");
    }

    /// <summary>
    /// Makes room for a new file at <paramref name="relative"/> under <paramref name="root"/> and returns its
    /// full path: creates its folders without passing through a link, and removes an earlier entry of the
    /// same name (a link is removed itself, never written through).
    /// </summary>
    static string PrepareDestination(string archive, string root, string relative)
    {
        CreateRealFolders(archive, root, Path.GetDirectoryName(relative) ?? "");
        string destination = Path.Combine(root, relative);
        var existing = new FileInfo(destination);
        if (existing.LinkTarget is not null || existing.Exists) existing.Delete();
        else if (Directory.Exists(destination))
            throw new DataFileException(archive, $"'{relative}' is both a folder and a file in the archive");
        return destination;
    }

    static Crc32 WriteFile(string archive, string root, string relative, Stream content)
    {
        var crc = new Crc32();
        byte[] buffer = new byte[1 << 16];
        using var output = new FileStream(PrepareDestination(archive, root, relative), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        int count;
        while ((count = content.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, count);
            crc.Append(buffer.AsSpan(0, count));
        }
        return crc;
    }

    static IReadOnlyList<string> MoveIntoTarget(string archive, string staging, string target, List<StagedEntry> staged)
    {
        // Each name once: a repeated entry was already overwritten in staging by its last version.
        var entries = staged.DistinctBy(entry => entry.RelativePath).ToList();
        // Check every folder first, so that a link already in the target stops the move before anything moved.
        foreach (StagedEntry entry in entries)
            RefuseLinksOnTheWay(archive, target, entry.IsDirectory ? entry.RelativePath : Path.GetDirectoryName(entry.RelativePath) ?? "");

        Directory.CreateDirectory(target);
        var written = new List<string>();
        foreach (StagedEntry entry in entries)
        {
            if (entry.IsDirectory)
            {
                CreateRealFolders(archive, target, entry.RelativePath);
                continue;
            }
            string destination = PrepareDestination(archive, target, entry.RelativePath);
            File.Move(Path.Combine(staging, entry.RelativePath), destination);
            written.Add(destination);
        }
        return written;
    }

    static void RefuseLinksOnTheWay(string archive, string root, string relativeFolder)
    {
        string current = root;
        foreach (string segment in relativeFolder.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, segment);
            if (new DirectoryInfo(current).LinkTarget is not null)
                throw new DataFileException(archive, $"'{current}' is a symbolic link; refusing to extract through it");
        }
    }

    /// <summary>
    /// Creates the folders of <paramref name="relativeFolder"/> under <paramref name="root"/> one by one,
    /// refusing to go through a symbolic link: it could lead anywhere.
    /// </summary>
    static void CreateRealFolders(string archive, string root, string relativeFolder)
    {
        string current = root;
        foreach (string segment in relativeFolder.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, segment);
            var folder = new DirectoryInfo(current);
            if (folder.LinkTarget is not null)
                throw new DataFileException(archive, $"'{current}' is a symbolic link; refusing to extract through it");
            if (File.Exists(current))
                throw new DataFileException(archive, $"'{current}' is a file where the archive has a folder");
            if (!folder.Exists) folder.Create();
        }
    }
}
