using System.Formats.Tar;
using System.IO.Compression;
using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;
using Recipes.Tests.Download;
using Recipes.Xray;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.Xray;

/// <summary>
/// The download tier against a miniature NIH release served from 127.0.0.1: the three metadata files and two
/// tiny archives of real PNGs under images/, one loopback server per file.
/// </summary>
public sealed class ChestXrayDownloadsTests : IDisposable
{
    // Bounded: the downloader's stall timeout is short and xunit stops a test at this.
    const int TestTimeoutMs = 30_000;

    const string Labels =
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n" +
        "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143\n" +
        "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143\n" +
        "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171\n" +
        "00000003_000.png,Hernia,0,3,81,F,PA,2582,2991,0.143,0.143\n" +
        "00000004_000.png,Mass|Nodule,0,4,82,M,AP,2500,2048,0.168,0.168\n";

    static readonly string[] FirstArchiveImages = ["00000001_000.png", "00000001_001.png", "00000002_000.png"];
    static readonly string[] SecondArchiveImages = ["00000003_000.png", "00000004_000.png"];

    readonly string root = Path.Combine(Path.GetTempPath(), $"recipes-xray-download-tests-{Guid.NewGuid():N}");
    readonly string dataFolder;
    readonly StringWriter log = new();
    // No proxy: the requests must go straight to the local servers whatever the environment says.
    readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    public ChestXrayDownloadsTests()
    {
        dataFolder = Path.Combine(root, "cache", ChestXrayDownloads.CacheSubfolder);
    }

    public void Dispose()
    {
        http.Dispose();
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    Downloader NewDownloader(int maxAttempts = 3, double stallSeconds = 5) =>
        new(dataFolder, http, timeout: TimeSpan.FromSeconds(stallSeconds)) { MaxAttempts = maxAttempts };

    Task<string> FetchAsync(LocalRelease release, int parts = 2, Downloader? downloader = null) =>
        // Fetch blocks; on the thread pool the test's own timeout can still stop it.
        Task.Run(() => ChestXrayDownloads.Fetch(downloader ?? NewDownloader(), parts, log, release.Archives, release.Metadata));

    string? FindCached(LocalRelease release, int parts = 2) =>
        ChestXrayDownloads.FindCached(NewDownloader(), parts, log, release.Archives, release.Metadata);

    string CachedArchive(int part) => Path.Combine(dataFolder, ChestXrayDownloads.ArchiveFileName(part));

    string ImagesOf(int part) => Path.Combine(dataFolder, ChestXrayDownloads.ImagesFolderName(part), "images");

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Fetch_gives_the_NIH_layout_with_the_metadata_and_each_archive_unpacked_into_its_folder()
    {
        await using var release = LocalRelease.Start();

        string folder = await FetchAsync(release);

        Assert.Equal(dataFolder, folder);
        Assert.Equal(Labels, await File.ReadAllTextAsync(Path.Combine(folder, ChestXrayDownloads.LabelsFileName)));
        Assert.Equal(release.MetadataContent[1], await File.ReadAllBytesAsync(Path.Combine(folder, ChestXrayDownloads.TrainValListFileName)));
        Assert.Equal(release.MetadataContent[2], await File.ReadAllBytesAsync(Path.Combine(folder, ChestXrayDownloads.TestListFileName)));
        AssertImages(1, FirstArchiveImages);
        AssertImages(2, SecondArchiveImages);
        // No checksums are published: each archive's is recorded beside it at its first download.
        for (int part = 1; part <= 2; part++)
            Assert.Equal($"{FileChecksum.Sha256Hex(release.ArchiveContent[part - 1])}  {ChestXrayDownloads.ArchiveFileName(part)}\n",
                await File.ReadAllTextAsync(CachedArchive(part) + Downloader.ChecksumRecordSuffix));
        Assert.All(release.Servers, server => Assert.Equal(1, server.RequestCount));
        string text = log.ToString();
        Assert.Contains($"Downloading images_002.tar.gz (archive 2 of 2) from {release.Archives[1].Url}", text);
        Assert.Contains("images_001/: 3 files.", text);
        Assert.Contains("images_002/: 2 files.", text);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_second_Fetch_downloads_nothing_and_FindCached_returns_the_folder()
    {
        await using var release = LocalRelease.Start();
        Assert.Null(FindCached(release));
        string folder = await FetchAsync(release);
        log.GetStringBuilder().Clear();

        string again = await FetchAsync(release);

        Assert.Equal(folder, again);
        Assert.Equal(5, release.TotalRequests);
        Assert.DoesNotContain("Downloading", log.ToString());
        Assert.DoesNotContain("Unpacking", log.ToString());
        Assert.Equal(folder, FindCached(release));
        Assert.Equal(folder, FindCached(release, parts: 1));
        // The cache is known by file names, whatever addresses filled it; and only the archives fetched are there.
        Assert.Equal(folder, ChestXrayDownloads.FindCached(NewDownloader(), 2, log));
        Assert.Null(ChestXrayDownloads.FindCached(NewDownloader(), 3, log));
        Assert.Equal(5, release.TotalRequests);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_cached_archive_whose_bytes_changed_is_deleted_and_fetched_again_and_the_log_says_so()
    {
        await using var release = LocalRelease.Start();
        await FetchAsync(release);
        Corrupt(CachedArchive(2));
        log.GetStringBuilder().Clear();

        await FetchAsync(release);

        Assert.Contains("images_002.tar.gz in the cache no longer matches the SHA-256 recorded at its download", log.ToString());
        Assert.Equal(release.ArchiveContent[1], await File.ReadAllBytesAsync(CachedArchive(2)));
        Assert.Equal(2, release.ArchiveServers[1].RequestCount);
        Assert.Equal(4, release.Servers.Except([release.ArchiveServers[1]]).Sum(server => server.RequestCount));
        // The new copy is the one its images came from (same checksum): nothing to unpack again.
        Assert.DoesNotContain("Unpacking", log.ToString());
        Assert.Equal(dataFolder, FindCached(release));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task FindCached_refuses_a_changed_archive_deletes_it_and_says_so()
    {
        await using var release = LocalRelease.Start();
        await FetchAsync(release);
        Corrupt(CachedArchive(1));
        log.GetStringBuilder().Clear();

        Assert.Null(FindCached(release));

        Assert.Contains("images_001.tar.gz in the cache no longer matches the SHA-256 recorded at its download", log.ToString());
        Assert.Contains("deleted it", log.ToString());
        Assert.False(File.Exists(CachedArchive(1)));
        Assert.Equal(5, release.TotalRequests);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Images_that_went_missing_are_unpacked_again_from_the_verified_archive_without_a_request()
    {
        await using var release = LocalRelease.Start();
        await FetchAsync(release);
        File.Delete(Path.Combine(ImagesOf(1), FirstArchiveImages[1]));
        log.GetStringBuilder().Clear();

        Assert.Null(FindCached(release));
        Assert.Contains("images_001/ in the cache is missing 1 of its 3 files", log.ToString());
        await FetchAsync(release);

        AssertImages(1, FirstArchiveImages);
        Assert.Equal(5, release.TotalRequests);
        Assert.Contains("Unpacking images_001.tar.gz", log.ToString());
        Assert.DoesNotContain("Unpacking images_002.tar.gz", log.ToString());
        Assert.Equal(dataFolder, FindCached(release));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task An_archive_with_a_parent_folder_entry_is_refused_deleted_and_leaves_nothing_outside()
    {
        byte[] hostile = TarGz(("images/", null), ("images/00000003_000.png", Png(3)), ("../escaped.png", Png(4)));
        await using var release = LocalRelease.Start(secondArchive: hostile);

        var error = await Assert.ThrowsAsync<DataFileException>(() => FetchAsync(release));

        Assert.Equal(CachedArchive(2), error.FilePath);
        Assert.Contains("entry '../escaped.png' would be written outside the target folder", error.Problem);
        Assert.Contains("the next run downloads it again", error.Problem);
        Assert.Empty(Directory.EnumerateFiles(root, "escaped.png", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(Path.Combine(dataFolder, "images_002")));
        Assert.Empty(Directory.EnumerateDirectories(dataFolder, ".images_002.extracting-*"));
        Assert.False(File.Exists(CachedArchive(2)));
        Assert.False(File.Exists(CachedArchive(2) + Downloader.ChecksumRecordSuffix));
        Assert.Contains("Deleted images_002.tar.gz and its recorded checksum", log.ToString());
        // The first archive was fine and stays usable.
        AssertImages(1, FirstArchiveImages);
        Assert.Equal(dataFolder, FindCached(release, parts: 1));
        Assert.Null(FindCached(release, parts: 2));

        await Assert.ThrowsAsync<DataFileException>(() => FetchAsync(release));
        Assert.Equal(2, release.ArchiveServers[1].RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task An_interrupted_archive_download_resumes_with_a_range_request_on_the_next_Fetch()
    {
        await using var release = LocalRelease.Start();
        int cut = release.ArchiveContent[1].Length / 2;
        release.ArchiveServers[1].CutFirstResponseAfter = cut;

        var failure = await Assert.ThrowsAsync<DownloadFailedException>(() => FetchAsync(release, downloader: NewDownloader(maxAttempts: 1)));
        Assert.Equal(release.Archives[1].Url, failure.Url);
        Assert.Equal(cut, new FileInfo(CachedArchive(2) + Downloader.PartialSuffix).Length);

        string folder = await FetchAsync(release, downloader: NewDownloader(maxAttempts: 1));

        Assert.Equal([null, $"bytes={cut}-"], release.ArchiveServers[1].RangeHeaders);
        Assert.Equal(release.ArchiveContent[1], await File.ReadAllBytesAsync(CachedArchive(2)));
        Assert.False(File.Exists(CachedArchive(2) + Downloader.PartialSuffix));
        AssertImages(2, SecondArchiveImages);
        Assert.Equal(folder, FindCached(release));
        Assert.All(release.Servers.Except([release.ArchiveServers[1]]), server => Assert.Equal(1, server.RequestCount));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_second_Fetch_into_the_same_folder_while_one_runs_is_refused()
    {
        await using var release = LocalRelease.Start();
        // The labels server sends its headers and then nothing: the first Fetch holds the folder until its stall timeout.
        release.MetadataServers[0].StallAfterHeaders = true;
        Task<string> first = FetchAsync(release, downloader: NewDownloader(maxAttempts: 1, stallSeconds: 3));
        for (int wait = 0; wait < 200 && release.MetadataServers[0].RequestCount == 0; wait++) await Task.Delay(25);
        Assert.Equal(1, release.MetadataServers[0].RequestCount);

        var refused = await Assert.ThrowsAsync<DataFileException>(() => FetchAsync(release));

        Assert.Equal(dataFolder, refused.FilePath);
        Assert.Contains("another process is fetching ChestX-ray14 into this folder", refused.Problem);
        await Assert.ThrowsAsync<DownloadFailedException>(() => first);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(13)]
    public void Parts_outside_1_to_12_are_refused_with_a_clear_message(int parts)
    {
        var fetch = Assert.Throws<ArgumentOutOfRangeException>(() => ChestXrayDownloads.Fetch(NewDownloader(), parts, log));
        var find = Assert.Throws<ArgumentOutOfRangeException>(() => ChestXrayDownloads.FindCached(NewDownloader(), parts, log));

        Assert.Equal("parts", fetch.ParamName);
        Assert.Contains("ask for 1 to 12", fetch.Message);
        Assert.Equal("parts", find.ParamName);
        Assert.False(Directory.Exists(dataFolder));
    }

    [Fact]
    public void Other_addresses_must_keep_the_NIH_file_names()
    {
        RemoteFile renamed = RemoteFile.WithoutPublishedChecksum(new Uri("http://127.0.0.1/a"), "first.tar.gz");

        var error = Assert.Throws<ArgumentException>(() => ChestXrayDownloads.Fetch(NewDownloader(), 1, log, archives: [renamed]));

        Assert.Equal("archives", error.ParamName);
        Assert.Contains("'first.tar.gz'", error.Message);
        Assert.Contains("'images_001.tar.gz'", error.Message);
        Assert.Throws<ArgumentException>(() => ChestXrayDownloads.Fetch(NewDownloader(), 2, log, archives: ChestXrayDownloads.Archives.Take(1).ToArray()));
    }

    [Fact]
    public void The_published_addresses_are_the_12_NIH_archives_and_the_three_metadata_files()
    {
        Assert.Equal(ChestXrayDownloads.ArchiveCount, ChestXrayDownloads.Archives.Count);
        Assert.Equal(Enumerable.Range(1, 12).Select(part => $"images_{part:000}.tar.gz"), ChestXrayDownloads.Archives.Select(file => file.FileName));
        Assert.All(ChestXrayDownloads.Archives, file => Assert.StartsWith("https://nihcc.box.com/shared/static/", file.Url.ToString()));
        Assert.Equal(12, ChestXrayDownloads.Archives.Select(file => file.Url).Distinct().Count());
        Assert.Equal("https://nihcc.box.com/shared/static/vfk49d74nhbxq3nqjg0900w5nvkorp5c.gz", ChestXrayDownloads.Archives[0].Url.ToString());
        Assert.Equal(["Data_Entry_2017_v2020.csv", "train_val_list.txt", "test_list.txt"], ChestXrayDownloads.MetadataFiles.Select(file => file.FileName));
        // NIH publishes no checksums; none may be made up.
        Assert.All([.. ChestXrayDownloads.Archives, .. ChestXrayDownloads.MetadataFiles], file => Assert.Null(file.Sha256));
    }

    void AssertImages(int part, string[] names)
    {
        string images = ImagesOf(part);
        Assert.Equal(names, Directory.GetFiles(images).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string name in names)
        {
            using var image = Image.Load<L8>(Path.Combine(images, name));
            Assert.Equal(PixelOf(name), image[0, 0].PackedValue);
        }
    }

    static void Corrupt(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
    }

    // Each image is a different shade, so that a test can tell which file it is looking at.
    static byte PixelOf(string name) => (byte)(10 * int.Parse(name.AsSpan(0, 8)) + int.Parse(name.AsSpan(9, 3)));

    static byte[] Png(string name) => Png(PixelOf(name));

    static byte[] Png(byte shade)
    {
        using var image = new Image<L8>(6, 5, new L8(shade));
        using var buffer = new MemoryStream();
        image.SaveAsPng(buffer);
        return buffer.ToArray();
    }

    static byte[] ArchiveOf(string[] names) =>
        TarGz([("images/", null), .. names.Select(name => ($"images/{name}", (byte[]?)Png(name)))]);

    static byte[] TarGz(params (string Name, byte[]? Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string name, byte[]? content) in entries)
            {
                var entry = new PaxTarEntry(content is null ? TarEntryType.Directory : TarEntryType.RegularFile, name);
                if (content is not null) entry.DataStream = new MemoryStream(content);
                tar.WriteEntry(entry);
            }
        }
        return buffer.ToArray();
    }

    /// <summary>The miniature release: one loopback server per file, so each file's requests can be told apart.</summary>
    sealed class LocalRelease : IAsyncDisposable
    {
        LocalRelease(byte[][] metadataContent, byte[][] archiveContent)
        {
            MetadataContent = metadataContent;
            ArchiveContent = archiveContent;
            MetadataServers = metadataContent.Select(content => new LocalFileServer(content)).ToArray();
            ArchiveServers = archiveContent.Select(content => new LocalFileServer(content)).ToArray();
            Metadata = MetadataServers.Select((server, i) => RemoteFile.WithoutPublishedChecksum(server.FileUrl, ChestXrayDownloads.MetadataFiles[i].FileName)).ToArray();
            Archives = ArchiveServers.Select((server, i) => RemoteFile.WithoutPublishedChecksum(server.FileUrl, ChestXrayDownloads.ArchiveFileName(i + 1))).ToArray();
        }

        public static LocalRelease Start(byte[]? secondArchive = null) => new(
            [
                System.Text.Encoding.UTF8.GetBytes(Labels),
                System.Text.Encoding.UTF8.GetBytes("00000001_000.png\n00000001_001.png\n00000003_000.png\n"),
                System.Text.Encoding.UTF8.GetBytes("00000002_000.png\n00000004_000.png\n"),
            ],
            [ArchiveOf(FirstArchiveImages), secondArchive ?? ArchiveOf(SecondArchiveImages)]);

        public byte[][] MetadataContent { get; }
        public byte[][] ArchiveContent { get; }
        public LocalFileServer[] MetadataServers { get; }
        public LocalFileServer[] ArchiveServers { get; }
        public IReadOnlyList<RemoteFile> Metadata { get; }
        public IReadOnlyList<RemoteFile> Archives { get; }
        public IEnumerable<LocalFileServer> Servers => MetadataServers.Concat(ArchiveServers);
        public int TotalRequests => Servers.Sum(server => server.RequestCount);

        public async ValueTask DisposeAsync()
        {
            foreach (LocalFileServer server in Servers) await server.DisposeAsync();
        }
    }
}
