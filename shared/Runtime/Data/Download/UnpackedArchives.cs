using System.Globalization;
using Recipes.Runtime.IO;

namespace Recipes.Runtime.Data.Download;

/// <summary>
/// Archives fetched once into the cache, unpacked beside it, and checked on every later use (the NIH chest X-ray
/// archives, PASCAL VOC's tars): a cached archive must match the SHA-256 recorded at its download (published or
/// not), and a marker written after unpacking lists every file it produced with its size, so a later run knows the
/// unpacking finished and nothing went missing. A lock file keeps two processes from fetching into one folder.
/// </summary>
public static class UnpackedArchives
{
    public const string LockFileName = ".download.lock";
    const string MarkerChecksumKey = "archive-sha256";

    /// <summary>The SHA-256 of a cached copy that matches its record, else null (a copy that does not is deleted).</summary>
    public static string? VerifyCached(Downloader downloader, RemoteFile file, TextWriter log)
    {
        string path = downloader.CachedPath(file);
        if (!File.Exists(path)) return null;
        string? expected = downloader.ExpectedSha256(file);
        if (expected is null)
        {
            // A file under the final name always gets its record first, so this one was put there by hand.
            log.WriteLine($"{file.FileName} in the cache has no recorded checksum to check it against: deleted it.");
            File.Delete(path);
            return null;
        }
        string actual = FileChecksum.Sha256Hex(path);
        if (actual == expected) return actual;
        log.WriteLine($"{file.FileName} in the cache no longer matches the SHA-256 recorded at its download " +
                      $"(recorded {expected}, now {actual}): deleted it.");
        File.Delete(path);
        return null;
    }

    /// <summary>The SHA-256 of the verified file in the cache, downloading it first when there is none.</summary>
    public static string Obtain(Downloader downloader, RemoteFile file, string description, TextWriter log, CancellationToken cancellation)
    {
        if (VerifyCached(downloader, file, log) is { } cached) return cached;
        log.WriteLine($"Downloading {description} from {file.Url}");
        // Off the caller's synchronisation context: blocking on it while the download wants it back would deadlock.
        Task.Run(() => downloader.FetchAsync(file, cancellation), cancellation).GetAwaiter().GetResult();
        return downloader.ExpectedSha256(file)
            ?? throw new InvalidOperationException($"{file.FileName} was downloaded but has no checksum to hold it to");
    }

    /// <summary>
    /// The marker lists what was unpacked from which archive: its SHA-256, then each file's size and path
    /// relative to the folder it was unpacked into. A few thousand stat calls tell whether any went missing.
    /// </summary>
    public static void WriteMarker(string marker, string unpackedFolder, string archiveSha256, IReadOnlyList<string> written)
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{MarkerChecksumKey} {archiveSha256}\n");
        foreach (string path in written)
            text.Append(CultureInfo.InvariantCulture, $"{new FileInfo(path).Length}\t{Path.GetRelativePath(unpackedFolder, path).Replace('\\', '/')}\n");
        AtomicFile.WriteAllText(marker, text.ToString());
    }

    /// <summary>
    /// Whether the archive with this checksum is fully unpacked into <paramref name="unpackedFolder"/>, as its marker
    /// records. When it is not, <paramref name="problem"/> says what is wrong, or is null if it was simply never unpacked.
    /// </summary>
    public static bool IsUnpacked(string marker, string unpackedFolder, string archiveSha256, out string? problem)
    {
        problem = null;
        if (!File.Exists(marker)) return false;
        string[] lines = File.ReadAllLines(marker);
        if (lines.Length == 0 || lines[0] != $"{MarkerChecksumKey} {archiveSha256}")
        {
            problem = "was unpacked from another copy of the archive";
            return false;
        }
        int missing = 0;
        foreach (string line in lines.Skip(1))
        {
            int tab = line.IndexOf('\t');
            if (tab <= 0 || !long.TryParse(line.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture, out long size))
            {
                problem = $"has a damaged marker {marker}";
                return false;
            }
            var file = new FileInfo(Path.Combine(unpackedFolder, line[(tab + 1)..]));
            if (!file.Exists || file.Length != size) missing++;
        }
        if (missing > 0) problem = $"is missing {missing:N0} of its {lines.Length - 1:N0} files (or they changed size)";
        return missing == 0;
    }

    /// <summary>An exclusive lock on <paramref name="folder"/>; <paramref name="what"/> names the data for the message another process gets.</summary>
    public static FileStream LockFolder(string folder, string what)
    {
        string path = Path.Combine(folder, LockFileName);
        try
        {
            // FileShare.None takes an exclusive lock that the system releases if this process dies.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new DataFileException(folder, $"another process is fetching {what} into this folder; wait for it to finish ({e.Message})", e);
        }
    }
}
