using System.Net;
using System.Net.Sockets;
using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.Tests.Download;

public sealed class DownloaderTests : IDisposable
{
    // Every test is bounded: the downloader's own stall timeout is short and xunit stops a test at this.
    const int TestTimeoutMs = 20_000;

    readonly string root = Path.Combine(Path.GetTempPath(), $"recipes-download-tests-{Guid.NewGuid():N}");
    readonly string cache;
    readonly byte[] content = MakeContent(300_000);
    // No proxy: the requests must go straight to the local server whatever the environment says.
    readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    public DownloaderTests()
    {
        cache = Path.Combine(root, "cache");
    }

    public void Dispose()
    {
        http.Dispose();
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static byte[] MakeContent(int length)
    {
        var bytes = new byte[length];
        new Random(20240601).NextBytes(bytes);
        return bytes;
    }

    RemoteFile FileOn(LocalFileServer server) => new(server.FileUrl, "data.bin", FileChecksum.Sha256Hex(content));

    Downloader NewDownloader(IProgress<DownloadProgress>? progress = null, int maxAttempts = 3, double stallSeconds = 5) =>
        new(cache, http, progress, TimeSpan.FromSeconds(stallSeconds)) { MaxAttempts = maxAttempts };

    [Fact]
    public void A_cached_copy_that_fails_its_checksum_is_reported_with_both_hashes_and_removed()
    {
        var file = new RemoteFile(new Uri("http://127.0.0.1:9/data.bin"), "data.bin", FileChecksum.Sha256Hex(content));
        var downloader = NewDownloader();
        Directory.CreateDirectory(cache);
        string cached = downloader.CachedPath(file);
        byte[] damaged = [.. content];
        damaged[1000] ^= 0xff;
        File.WriteAllBytes(cached, damaged);
        string damagedHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(damaged));

        var log = new StringWriter();
        Assert.Null(downloader.FindVerified(file, log));
        Assert.Contains($"The cached {cached} fails its checksum (SHA-256 expected {file.Sha256}, got {damagedHash})", log.ToString());
        Assert.Contains("removed it", log.ToString());
        Assert.False(File.Exists(cached));

        // A good copy is used without a word; no copy at all is nothing to report either.
        File.WriteAllBytes(cached, content);
        var quiet = new StringWriter();
        Assert.Equal(cached, downloader.FindVerified(file, quiet));
        File.Delete(cached);
        Assert.Null(downloader.FindVerified(file, quiet));
        Assert.Equal("", quiet.ToString());
    }

    string PartialPath => Path.Combine(cache, "data.bin" + Downloader.PartialSuffix);

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Downloads_the_whole_file_verifies_it_and_reports_progress()
    {
        await using var server = new LocalFileServer(content);
        var progress = new RecordingProgress();

        string path = await NewDownloader(progress).FetchAsync(FileOn(server));

        Assert.Equal(Path.Combine(cache, "data.bin"), path);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.False(File.Exists(PartialPath));
        Assert.Equal(1, server.RequestCount);
        Assert.Equal([null], server.RangeHeaders);
        DownloadProgress last = progress.Reports[^1];
        Assert.Equal(new DownloadProgress("data.bin", content.Length, content.Length), last);
        Assert.True(progress.Reports.Count > 1);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_verified_cached_file_is_returned_without_any_request()
    {
        await using var server = new LocalFileServer(content);
        string first = await NewDownloader().FetchAsync(FileOn(server));

        string second = await NewDownloader().FetchAsync(FileOn(server));

        Assert.Equal(first, second);
        Assert.Equal(1, server.RequestCount);
        Assert.Equal(first, NewDownloader().FindVerified(FileOn(server)));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_cached_file_with_the_wrong_content_is_downloaded_again()
    {
        await using var server = new LocalFileServer(content);
        Directory.CreateDirectory(cache);
        await File.WriteAllBytesAsync(Path.Combine(cache, "data.bin"), content.AsSpan(0, 1000).ToArray());
        Assert.Null(NewDownloader().FindVerified(FileOn(server)));

        string path = await NewDownloader().FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task An_interrupted_transfer_is_kept_and_the_next_call_resumes_it_with_a_range_request()
    {
        await using var server = new LocalFileServer(content) { CutFirstResponseAfter = 100_000 };

        var failure = await Assert.ThrowsAsync<DownloadFailedException>(() => NewDownloader(maxAttempts: 1).FetchAsync(FileOn(server)));
        Assert.Contains(server.FileUrl.ToString(), failure.Message);
        Assert.Equal(100_000, new FileInfo(PartialPath).Length);
        Assert.False(File.Exists(Path.Combine(cache, "data.bin")));

        string path = await NewDownloader(maxAttempts: 1).FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal([null, "bytes=100000-"], server.RangeHeaders);
        Assert.False(File.Exists(PartialPath));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_transfer_cut_off_part_way_is_resumed_within_the_same_call()
    {
        await using var server = new LocalFileServer(content) { CutFirstResponseAfter = 123_457 };
        var progress = new RecordingProgress();

        string path = await NewDownloader(progress).FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal([null, "bytes=123457-"], server.RangeHeaders);
        // The resumed transfer reports the whole file's size and counts on from the bytes already there.
        Assert.Contains(new DownloadProgress("data.bin", 123_457, content.Length), progress.Reports);
        Assert.Equal(new DownloadProgress("data.bin", content.Length, content.Length), progress.Reports[^1]);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_server_that_ignores_ranges_gets_the_download_started_over()
    {
        await using var server = new LocalFileServer(content) { IgnoreRanges = true };
        Directory.CreateDirectory(cache);
        // Bytes that are not the start of the file: appending the full answer to them would corrupt it.
        await File.WriteAllBytesAsync(PartialPath, new byte[5000]);

        string path = await NewDownloader().FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["bytes=5000-"], server.RangeHeaders);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_416_for_a_partial_that_is_already_complete_finishes_without_a_second_request()
    {
        await using var server = new LocalFileServer(content);
        Directory.CreateDirectory(cache);
        await File.WriteAllBytesAsync(PartialPath, content);

        string path = await NewDownloader().FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal([$"bytes={content.Length}-"], server.RangeHeaders);
        Assert.False(File.Exists(PartialPath));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_416_for_an_incomplete_partial_starts_over_from_the_first_byte()
    {
        await using var server = new LocalFileServer(content) { RefuseRangesWith416 = true };
        Directory.CreateDirectory(cache);
        await File.WriteAllBytesAsync(PartialPath, new byte[1000]);

        string path = await NewDownloader().FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["bytes=1000-", null], server.RangeHeaders);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_wrong_checksum_is_a_clear_error_and_leaves_nothing_in_the_cache()
    {
        await using var server = new LocalFileServer(content);
        string wrong = FileChecksum.Sha256Hex("other bytes"u8);
        var file = new RemoteFile(server.FileUrl, "data.bin", wrong.ToUpperInvariant());

        var error = await Assert.ThrowsAsync<DataFileException>(() => NewDownloader().FetchAsync(file));

        Assert.Equal(server.FileUrl.ToString(), error.FilePath);
        Assert.Equal($"checksum mismatch: expected {wrong}, got {FileChecksum.Sha256Hex(content)}", error.Problem);
        Assert.Empty(Directory.GetFileSystemEntries(cache));
    }

    RemoteFile UnpublishedFileOn(LocalFileServer server) => RemoteFile.WithoutPublishedChecksum(server.FileUrl, "data.bin");

    string RecordPath => Path.Combine(cache, "data.bin" + Downloader.ChecksumRecordSuffix);

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_file_without_a_published_checksum_has_its_first_download_recorded_and_each_reuse_checked_against_it()
    {
        await using var server = new LocalFileServer(content);
        RemoteFile file = UnpublishedFileOn(server);
        Assert.Null(file.Sha256);
        Assert.Null(NewDownloader().ExpectedSha256(file));
        Assert.Null(NewDownloader().FindVerified(file));

        string path = await NewDownloader().FetchAsync(file);

        string sha256 = FileChecksum.Sha256Hex(content);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        // The format sha256sum writes, so that `sha256sum -c data.bin.sha256` checks it by hand.
        Assert.Equal($"{sha256}  data.bin\n", await File.ReadAllTextAsync(RecordPath));
        Assert.Equal(RecordPath, NewDownloader().ChecksumRecordPath(file));
        Assert.Equal(sha256, NewDownloader().ExpectedSha256(file));
        Assert.Equal(path, NewDownloader().FindVerified(file));
        Assert.Equal(path, await NewDownloader().FetchAsync(file));
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_cached_file_that_no_longer_matches_its_recorded_checksum_is_downloaded_again_and_held_to_the_record()
    {
        await using var server = new LocalFileServer(content);
        string path = await NewDownloader().FetchAsync(UnpublishedFileOn(server));
        string record = await File.ReadAllTextAsync(RecordPath);
        byte[] changed = content.ToArray();
        changed[1234] ^= 0xFF;
        await File.WriteAllBytesAsync(path, changed);

        Assert.Null(NewDownloader().FindVerified(UnpublishedFileOn(server)));
        string again = await NewDownloader().FetchAsync(UnpublishedFileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(again));
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(record, await File.ReadAllTextAsync(RecordPath));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_download_that_differs_from_the_recorded_checksum_is_refused_and_the_record_kept()
    {
        // As if the server had changed the file (or now sent an error page) since the first download.
        await using var server = new LocalFileServer(content);
        Directory.CreateDirectory(cache);
        string recorded = FileChecksum.Sha256Hex("the first download"u8);
        await File.WriteAllTextAsync(RecordPath, $"{recorded}  data.bin\n");

        var error = await Assert.ThrowsAsync<DataFileException>(() => NewDownloader().FetchAsync(UnpublishedFileOn(server)));

        Assert.Equal(server.FileUrl.ToString(), error.FilePath);
        Assert.Contains($"expected {recorded}, recorded at its first download in {RecordPath}, got {FileChecksum.Sha256Hex(content)}", error.Problem);
        Assert.Contains("delete that record", error.Problem);
        Assert.Equal([RecordPath], Directory.GetFileSystemEntries(cache));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_checksum_record_that_holds_no_SHA_256_is_an_error_naming_it_before_any_request()
    {
        await using var server = new LocalFileServer(content);
        Directory.CreateDirectory(cache);
        await File.WriteAllTextAsync(RecordPath, "not a digest\n");

        var error = await Assert.ThrowsAsync<DataFileException>(() => NewDownloader().FetchAsync(UnpublishedFileOn(server)));

        Assert.Equal(RecordPath, error.FilePath);
        Assert.Contains("not a SHA-256 record", error.Problem);
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public void A_published_checksum_cannot_be_null_unknown_has_to_be_asked_for_by_name()
    {
        Assert.Throws<ArgumentNullException>(() => new RemoteFile(new Uri("http://127.0.0.1/x"), "x.bin", null!));
        Assert.Null(RemoteFile.WithoutPublishedChecksum(new Uri("http://127.0.0.1/x"), "x.bin").Sha256);
        Assert.ThrowsAny<ArgumentException>(() => RemoteFile.WithoutPublishedChecksum(new Uri("http://127.0.0.1/x"), "../x.bin"));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_server_that_is_down_gives_DownloadFailedException_naming_the_url()
    {
        var url = new Uri($"http://127.0.0.1:{PortWithNothingListening()}/data.bin");
        var file = new RemoteFile(url, "data.bin", FileChecksum.Sha256Hex(content));

        var error = await Assert.ThrowsAsync<DownloadFailedException>(() => NewDownloader().FetchAsync(file));

        Assert.Equal(url, error.Url);
        Assert.Contains(url.ToString(), error.Message);
        Assert.Contains("refused", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(Path.Combine(cache, "data.bin")));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_stalled_transfer_fails_after_the_timeout_with_an_error_naming_the_url()
    {
        await using var server = new LocalFileServer(content) { StallAfterHeaders = true };

        var error = await Assert.ThrowsAsync<DownloadFailedException>(
            () => NewDownloader(stallSeconds: 0.3).FetchAsync(FileOn(server)));

        Assert.Contains(server.FileUrl.ToString(), error.Message);
        Assert.Contains("no data received for 0.3 s", error.Message);
        // The server may count the request a moment after the client gave up; what matters is that a transfer
        // that never sent a byte is not retried.
        for (int wait = 0; wait < 40 && server.RequestCount == 0; wait++) await Task.Delay(50);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = 3 * TestTimeoutMs)] // 4 s when the machine is idle; CI's load stretched its old 1.8 s to 17 s
    public async Task A_slow_transfer_that_keeps_sending_outlasts_the_stall_timeout()
    {
        // 16 pieces 250 ms apart take about 4 s in all, longer than the 3 s timeout, but no gap comes near it: the
        // timeout is for silence, not for the whole transfer. It failed twice in CI ("no data received") while the
        // test server paused on the thread pool, which the other unit tests starve: the server now pauses on a thread
        // of its own (LocalFileServer), and with 40 pool threads blocked for 5 s this test still passed (it failed so
        // with the old server).
        await using var server = new LocalFileServer(content) { Trickle = (16, TimeSpan.FromMilliseconds(250)) };

        string path = await NewDownloader(maxAttempts: 1, stallSeconds: 3).FetchAsync(FileOn(server));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task An_http_error_status_gives_DownloadFailedException_with_the_status()
    {
        await using var server = new LocalFileServer(content);
        var file = new RemoteFile(server.MissingUrl, "missing.bin", FileChecksum.Sha256Hex(content));

        var error = await Assert.ThrowsAsync<DownloadFailedException>(() => NewDownloader().FetchAsync(file));

        Assert.Contains(server.MissingUrl.ToString(), error.Message);
        Assert.Contains("404", error.Reason);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Cancelling_stops_the_download_with_OperationCanceledException_not_a_download_failure()
    {
        await using var server = new LocalFileServer(content) { StallAfterHeaders = true };
        using var cancel = new CancellationTokenSource();
        var progress = new RecordingProgress(onReport: () => cancel.Cancel());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NewDownloader(progress).FetchAsync(FileOn(server), cancel.Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task The_console_progress_bar_wrapper_downloads_then_reuses_the_cache()
    {
        await using var server = new LocalFileServer(content);

        string first = await ConsoleDownloadProgress.FetchAsync(FileOn(server), cache, http);
        string second = await ConsoleDownloadProgress.FetchAsync(FileOn(server), cache, http);

        Assert.Equal(content, await File.ReadAllBytesAsync(first));
        Assert.Equal(first, second);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory]
    [InlineData("../data.bin")]
    [InlineData("sub/data.bin")]
    [InlineData("..")]
    [InlineData("")]
    public void A_file_name_that_is_not_a_plain_name_is_rejected(string fileName)
    {
        Assert.ThrowsAny<ArgumentException>(() => new RemoteFile(new Uri("http://127.0.0.1/x"), fileName, new string('a', 64)));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000")]
    public void A_checksum_that_is_not_64_hex_digits_is_rejected(string sha256)
    {
        Assert.Throws<ArgumentException>(() => new RemoteFile(new Uri("http://127.0.0.1/x"), "x.bin", sha256));
    }

    [Fact]
    public void Sha256Hex_gives_the_published_lower_case_digest()
    {
        // FIPS 180-2 test vector for "abc".
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", FileChecksum.Sha256Hex("abc"u8));
        Directory.CreateDirectory(root);
        string path = Path.Combine(root, "abc.txt");
        File.WriteAllBytes(path, "abc"u8.ToArray());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", FileChecksum.Sha256Hex(path));
    }

    static int PortWithNothingListening()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>Records reports synchronously, in order (Progress&lt;T&gt; would post them to the thread pool).</summary>
    sealed class RecordingProgress(Action? onReport = null) : IProgress<DownloadProgress>
    {
        readonly List<DownloadProgress> reports = [];

        public IReadOnlyList<DownloadProgress> Reports
        {
            get { lock (reports) return reports.ToArray(); }
        }

        public void Report(DownloadProgress value)
        {
            lock (reports) reports.Add(value);
            onReport?.Invoke();
        }
    }
}
