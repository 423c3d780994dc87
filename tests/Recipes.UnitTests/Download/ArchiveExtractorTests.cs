using System.Formats.Tar;
using System.IO.Compression;
using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.Tests.Download;

public sealed class ArchiveExtractorTests : IDisposable
{
    // root/archives holds the archives; root/work/target is where they go, so anything written beside the
    // target (root/work) or above it (root) is an escape the tests can see.
    readonly string root = Path.Combine(Path.GetTempPath(), $"recipes-archive-tests-{Guid.NewGuid():N}");
    readonly string archives;
    readonly string work;
    readonly string target;

    public ArchiveExtractorTests()
    {
        archives = Path.Combine(root, "archives");
        work = Path.Combine(root, "work");
        target = Path.Combine(work, "target");
        Directory.CreateDirectory(archives);
        Directory.CreateDirectory(work);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    string ArchivePath(string name) => Path.Combine(archives, name);

    // ---- well-formed archives ----

    [Fact]
    public void A_gz_file_extracts_to_one_file_named_without_gz()
    {
        byte[] content = Bytes(150_000, 1);
        string archive = WriteGzip(ArchivePath("train-images-idx3-ubyte.gz"), content);

        IReadOnlyList<string> files = ArchiveExtractor.Extract(archive, target);

        string expected = Path.Combine(target, "train-images-idx3-ubyte");
        Assert.Equal([expected], files);
        Assert.Equal(content, File.ReadAllBytes(expected));
        AssertNothingBesideTarget();
    }

    [Fact]
    public void A_zip_extracts_files_and_folders()
    {
        byte[] nested = Bytes(70_000, 2);
        string archive = WriteZip(ArchivePath("data.zip"), ("top.txt", "hello"u8.ToArray()), ("sub/", null), ("sub/deeper/nested.bin", nested));

        IReadOnlyList<string> files = ArchiveExtractor.Extract(archive, target);

        Assert.Equal([Path.Combine(target, "top.txt"), Path.Combine(target, "sub", "deeper", "nested.bin")], files);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(target, "top.txt")));
        Assert.Equal(nested, File.ReadAllBytes(Path.Combine(target, "sub", "deeper", "nested.bin")));
        AssertNothingBesideTarget();
    }

    [Theory]
    [InlineData("data.tar.gz")]
    [InlineData("data.tgz")]
    [InlineData("data.tar")]
    public void A_tar_extracts_files_folders_and_links_that_stay_inside(string name)
    {
        byte[] big = Bytes(200_000, 3);
        string archive = WriteTar(ArchivePath(name),
            FolderEntry("./"),
            FolderEntry("./images/"),
            FileEntry("./images/a.bin", big),
            FileEntry("./labels.csv", "id,label\n1,7\n"u8.ToArray()),
            SymbolicLinkEntry("./latest.bin", "images/a.bin"),
            HardLinkEntry("./copy.csv", "./labels.csv"));

        IReadOnlyList<string> files = ArchiveExtractor.Extract(archive, target);

        Assert.Equal(4, files.Count);
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(target, "images", "a.bin")));
        Assert.Equal("id,label\n1,7\n", File.ReadAllText(Path.Combine(target, "labels.csv")));
        Assert.Equal("id,label\n1,7\n", File.ReadAllText(Path.Combine(target, "copy.csv")));
        Assert.Equal("images/a.bin", new FileInfo(Path.Combine(target, "latest.bin")).LinkTarget);
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(target, "latest.bin")));
        AssertNothingBesideTarget();
    }

    [Fact]
    public void Extracting_again_replaces_files_and_keeps_others_in_the_target()
    {
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "mine");
        File.WriteAllText(Path.Combine(target, "top.txt"), "old");
        string archive = WriteZip(ArchivePath("data.zip"), ("top.txt", "new"u8.ToArray()));

        ArchiveExtractor.Extract(archive, target);

        Assert.Equal("new", File.ReadAllText(Path.Combine(target, "top.txt")));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(target, "keep.txt")));
    }

    // ---- hostile archives: refused, naming the archive and the entry, with nothing written anywhere ----

    [Fact]
    public void A_zip_entry_climbing_out_with_dot_dot_is_refused()
    {
        string archive = WriteZip(ArchivePath("evil.zip"), ("fine.txt", "ok"u8.ToArray()), ("../evil.txt", "gotcha"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, "../evil.txt");
        Assert.False(File.Exists(Path.Combine(work, "evil.txt")));
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_zip_entry_with_an_absolute_path_is_refused()
    {
        string outside = Path.Combine(root, "absolute-zip.txt");
        string archive = WriteZip(ArchivePath("evil.zip"), (outside, "gotcha"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, outside);
        Assert.False(File.Exists(outside));
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Theory]
    [InlineData("data.tar")]
    [InlineData("data.tar.gz")]
    public void A_tar_entry_climbing_out_with_dot_dot_is_refused(string name)
    {
        string archive = WriteTar(ArchivePath(name), FileEntry("fine.txt", "ok"u8.ToArray()), FileEntry("../../x", "gotcha"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, "../../x");
        Assert.False(File.Exists(Path.Combine(root, "x")));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(root)!, "x")));
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_tar_entry_with_a_dot_dot_that_comes_back_inside_is_refused_too()
    {
        // Harmless on its own, but after a symbolic link "a -> ." the same name would climb out.
        string archive = WriteTar(ArchivePath("data.tar"), FileEntry("a/../b.txt", "x"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, "a/../b.txt");
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_tar_entry_with_an_absolute_path_is_refused()
    {
        string outside = Path.Combine(root, "absolute-tar.txt");
        string archive = WriteTar(ArchivePath("data.tar"), FileEntry(outside, "gotcha"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, outside);
        Assert.False(File.Exists(outside));
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_tar_symbolic_link_to_etc_is_refused_and_nothing_is_written_through_it()
    {
        string archive = WriteTar(ArchivePath("data.tar"),
            SymbolicLinkEntry("etc", "/etc"),
            FileEntry("etc/recipes-should-never-write-here", "gotcha"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, "etc");
        Assert.Contains("/etc", error.Problem);
        Assert.False(File.Exists("/etc/recipes-should-never-write-here"));
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_tar_symbolic_link_climbing_out_relatively_is_refused()
    {
        string archive = WriteTar(ArchivePath("data.tar"), SymbolicLinkEntry("up", "../.."));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, "up");
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_file_entry_written_through_a_link_from_the_same_archive_is_refused()
    {
        // The link itself stays inside, but writing through links is never allowed.
        string archive = WriteTar(ArchivePath("data.tar"), FolderEntry("real/"), SymbolicLinkEntry("alias", "real"), FileEntry("alias/x.txt", "x"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Contains("symbolic link", error.Problem);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_tar_hard_link_to_a_file_outside_is_refused()
    {
        string outside = Path.Combine(root, "secret.txt");
        File.WriteAllText(outside, "secret");
        string archive = WriteTar(ArchivePath("data.tar"), HardLinkEntry("stolen.txt", "../../secret.txt"));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        AssertNamesArchiveAndEntry(error, archive, "stolen.txt");
        File.Delete(outside);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_symbolic_link_already_in_the_target_is_not_extracted_through()
    {
        string elsewhere = Path.Combine(root, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateDirectory(target);
        Directory.CreateSymbolicLink(Path.Combine(target, "sub"), elsewhere);
        string archive = WriteZip(ArchivePath("data.zip"), ("first.txt", "1"u8.ToArray()), ("sub/x.txt", "x"u8.ToArray()));

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Contains("symbolic link", error.Problem);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
        // Refused before anything moved: not even the harmless first entry is there.
        Assert.False(File.Exists(Path.Combine(target, "first.txt")));
    }

    // ---- damaged archives ----

    [Fact]
    public void A_truncated_gz_is_a_DataFileException()
    {
        string whole = WriteGzip(ArchivePath("whole.gz"), Bytes(150_000, 4));
        string archive = Truncate(whole, "labels.gz");

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Equal(archive, error.FilePath);
        Assert.Contains("truncated or corrupt", error.Problem);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_gz_with_a_corrupted_byte_is_a_DataFileException()
    {
        // Stored without compression, a flipped byte still inflates: only the CRC-32 in the trailer catches it.
        byte[] gz = File.ReadAllBytes(WriteGzip(ArchivePath("whole.gz"), Bytes(50_000, 5), CompressionLevel.NoCompression));
        gz[gz.Length / 2] ^= 0x5A;
        string archive = ArchivePath("corrupt.gz");
        File.WriteAllBytes(archive, gz);

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Equal(archive, error.FilePath);
        Assert.Contains("truncated or corrupt", error.Problem);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_truncated_zip_is_a_DataFileException()
    {
        string archive = Truncate(WriteZip(ArchivePath("whole.zip"), ("a.bin", Bytes(80_000, 6))), "cut.zip");

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Equal(archive, error.FilePath);
        Assert.Contains("truncated or corrupt", error.Problem);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void A_zip_entry_whose_data_was_corrupted_is_a_DataFileException()
    {
        byte[] zip = File.ReadAllBytes(WriteZip(ArchivePath("whole.zip"), ("a.bin", Bytes(50_000, 7))));
        zip[1000] ^= 0x5A; // inside the stored data of the only entry, past its local header
        string archive = ArchivePath("corrupt.zip");
        File.WriteAllBytes(archive, zip);

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Contains("'a.bin'", error.Problem);
        Assert.Contains("CRC-32", error.Problem);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Theory]
    [InlineData("data.tar.gz")]
    [InlineData("data.tar")]
    public void A_truncated_tar_is_a_DataFileException(string name)
    {
        string whole = WriteTar(ArchivePath("whole-" + name), FileEntry("a.bin", Bytes(100_000, 8)), FileEntry("b.bin", Bytes(100_000, 9)));
        string archive = Truncate(whole, name);

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Equal(archive, error.FilePath);
        AssertTargetUntouchedAndNoStagingLeft();
    }

    [Fact]
    public void An_unknown_archive_kind_is_a_DataFileException()
    {
        string archive = ArchivePath("data.rar");
        File.WriteAllBytes(archive, [1, 2, 3]);

        var error = Assert.Throws<DataFileException>(() => ArchiveExtractor.Extract(archive, target));

        Assert.Contains(".tar.gz", error.Problem);
    }

    [Fact]
    public void Abandoned_staging_folders_of_the_target_are_deleted_and_nothing_else()
    {
        // What a killed extraction leaves: a staging folder beside the target, named after it.
        string abandoned = Path.Combine(work, ".target.extracting-0123456789abcdef");
        Directory.CreateDirectory(Path.Combine(abandoned, "images"));
        File.WriteAllText(Path.Combine(abandoned, "images", "half.bin"), "x");
        string otherTargets = Path.Combine(work, ".other.extracting-0123456789abcdef");
        Directory.CreateDirectory(otherTargets);
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "kept.txt"), "kept");
        // A link under a staging name is not one Extract made; what it points to must survive.
        string precious = Path.Combine(root, "precious");
        Directory.CreateDirectory(precious);
        File.WriteAllText(Path.Combine(precious, "file.txt"), "precious");
        Directory.CreateSymbolicLink(Path.Combine(work, ".target.extracting-link"), precious);

        int deleted = ArchiveExtractor.DeleteAbandonedStaging(target);

        Assert.Equal(1, deleted);
        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(otherTargets));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(target, "kept.txt")));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(precious, "file.txt")));
        Assert.Equal(0, ArchiveExtractor.DeleteAbandonedStaging(Path.Combine(root, "no-such-folder", "target")));
    }

    // ---- helpers ----

    static void AssertNamesArchiveAndEntry(DataFileException error, string archive, string entry)
    {
        Assert.Equal(archive, error.FilePath);
        Assert.Contains($"'{entry}'", error.Problem);
        Assert.Contains("refusing", error.Problem);
    }

    void AssertTargetUntouchedAndNoStagingLeft()
    {
        Assert.False(Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any(),
            "the target folder must be left as it was (here: absent or empty)");
        AssertNothingBesideTarget();
        Assert.Equal([archives, work], Directory.GetFileSystemEntries(root).Order().ToArray());
    }

    void AssertNothingBesideTarget()
    {
        string[] beside = Directory.GetFileSystemEntries(work);
        Assert.True(beside.Length == 0 || (beside.Length == 1 && beside[0] == target), $"unexpected entries beside the target: {string.Join(", ", beside)}");
    }

    string Truncate(string path, string newName)
    {
        byte[] bytes = File.ReadAllBytes(path);
        string truncated = ArchivePath(newName);
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        return truncated;
    }

    static string WriteGzip(string path, byte[] content, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, level);
        gzip.Write(content);
        return path;
    }

    /// <summary>Writes a zip; a null content makes a folder entry.</summary>
    static string WriteZip(string path, params (string Name, byte[]? Content)[] entries)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach ((string name, byte[]? content) in entries)
        {
            ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.Fastest);
            if (content is null) continue;
            using Stream data = entry.Open();
            data.Write(content);
        }
        return path;
    }

    static string WriteTar(string path, params TarEntry[] entries)
    {
        using var file = File.Create(path);
        using Stream output = path.EndsWith(".tar", StringComparison.Ordinal) ? file : new GZipStream(file, CompressionLevel.Fastest);
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (TarEntry entry in entries) writer.WriteEntry(entry);
        }
        return path;
    }

    static TarEntry FileEntry(string name, byte[] content) =>
        new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };

    static TarEntry FolderEntry(string name) => new PaxTarEntry(TarEntryType.Directory, name);

    static TarEntry SymbolicLinkEntry(string name, string linkTarget) =>
        new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = linkTarget };

    static TarEntry HardLinkEntry(string name, string linkTarget) =>
        new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = linkTarget };
}
