using System.Net;
using System.Net.Http.Headers;
using Recipes.Runtime.IO;

namespace Recipes.Runtime.Data.Download;

/// <summary>
/// Fetches <see cref="RemoteFile"/>s into a cache folder. A file is only ever placed under its final name
/// after its SHA-256 matched, and is checked again before every reuse. Bytes in flight live in
/// <c>&lt;name&gt;.partial</c>, which a later call resumes with an HTTP Range request. For a file published
/// without a checksum, the SHA-256 of its first complete download is written to <c>&lt;name&gt;.sha256</c>
/// (as <c>sha256sum</c> writes it) before the file takes its final name, and stands in for the published one
/// from then on: a later download must match it too.
/// </summary>
public sealed class Downloader
{
    public const string PartialSuffix = ".partial";
    public const string ChecksumRecordSuffix = ".sha256";
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromSeconds(30);

    // HttpClient is meant to be shared. Its whole-request timeout is switched off because it would cut off a
    // slow but healthy transfer of a large file; stalls are caught per read instead (see ReceiveAsync).
    static readonly HttpClient SharedHttp = new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    readonly HttpClient http;
    readonly IProgress<DownloadProgress>? progress;
    readonly TimeSpan stallTimeout;

    /// <param name="cacheFolder">Where verified files (and partial downloads) are kept.</param>
    /// <param name="http">The client to use; a shared one without a whole-request timeout when null.</param>
    /// <param name="progress">Told after every chunk received.</param>
    /// <param name="timeout">How long a transfer may go without receiving a byte (30 s when null).</param>
    public Downloader(string cacheFolder, HttpClient? http = null, IProgress<DownloadProgress>? progress = null, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheFolder);
        if (timeout is { } given && given <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), given, "the stall timeout must be positive");
        CacheFolderPath = Path.GetFullPath(cacheFolder);
        this.http = http ?? SharedHttp;
        this.progress = progress;
        stallTimeout = timeout ?? DefaultStallTimeout;
    }

    public string CacheFolderPath { get; }

    /// <summary>
    /// How many transfers one <see cref="FetchAsync"/> may make when the server keeps cutting them off.
    /// A retry only happens after an attempt that received bytes, so an unreachable server fails at once.
    /// </summary>
    public int MaxAttempts
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxAttempts), value, "at least one attempt is needed");
    } = 3;

    /// <summary>Where <paramref name="file"/> lives in the cache once verified.</summary>
    public string CachedPath(RemoteFile file) => Path.Combine(CacheFolderPath, file.FileName);

    /// <summary>Where the SHA-256 of <paramref name="file"/>'s first download is recorded when none is published.</summary>
    public string ChecksumRecordPath(RemoteFile file) => CachedPath(file) + ChecksumRecordSuffix;

    /// <summary>
    /// The SHA-256 that <paramref name="file"/> must have: the published one, else the one recorded at its first
    /// download, else null (never downloaded, so nothing to hold a cached copy to).
    /// </summary>
    /// <exception cref="DataFileException">The record exists but does not hold a SHA-256.</exception>
    public string? ExpectedSha256(RemoteFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Sha256 is { } published) return published;
        string record = ChecksumRecordPath(file);
        if (!File.Exists(record)) return null;
        string digest = File.ReadAllText(record).Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        if (!RemoteFile.IsSha256Hex(digest))
            throw new DataFileException(record, "not a SHA-256 record (expected 64 hex digits then the file name, as sha256sum writes)");
        return digest.ToLowerInvariant();
    }

    /// <summary>
    /// The cached copy of <paramref name="file"/> if one exists and its checksum matches the published or
    /// recorded one; null otherwise.
    /// </summary>
    public string? FindVerified(RemoteFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        // The record is read even when there is no file, so that a damaged one is reported before any download.
        string? expected = ExpectedSha256(file);
        string path = CachedPath(file);
        if (!File.Exists(path) || expected is null) return null;
        return FileChecksum.Sha256Hex(path) == expected ? path : null;
    }

    /// <summary>
    /// <see cref="FindVerified(RemoteFile)"/>, and when a cached copy exists but fails its checksum, removes it and
    /// says so on <paramref name="log"/> (which file, the expected and actual SHA-256), so that what the run does
    /// next (download it again, or fall back to generated data) is never a silent change of data.
    /// </summary>
    public string? FindVerified(RemoteFile file, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(log);
        string? expected = ExpectedSha256(file);
        string path = CachedPath(file);
        if (!File.Exists(path) || expected is null) return null;
        string actual = FileChecksum.Sha256Hex(path);
        if (actual == expected) return path;
        log.WriteLine($"The cached {path} fails its checksum (SHA-256 expected {expected}, got {actual}): it is damaged or not the published file; removed it, it is not used.");
        try
        {
            File.Delete(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"Could not remove {path} ({error.Message}); it is ignored.");
        }
        return null;
    }

    /// <summary>
    /// Returns the verified path of <paramref name="file"/> in the cache, downloading (or resuming) it first
    /// when needed.
    /// </summary>
    /// <exception cref="DownloadFailedException">The server could not be reached, refused, stalled or cut off the transfer.</exception>
    /// <exception cref="DataFileException">The downloaded bytes do not have the published (or recorded) SHA-256;
    /// nothing is kept. Or the checksum record is not one.</exception>
    public async Task<string> FetchAsync(RemoteFile file, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (FindVerified(file) is { } cached) return cached;

        Directory.CreateDirectory(CacheFolderPath);
        string finalPath = CachedPath(file);
        string partialPath = finalPath + PartialSuffix;
        // A file under the final name that failed verification is not the file we want; do not leave it to be trusted.
        File.Delete(finalPath);

        for (int attempt = 1; ; attempt++)
        {
            long lengthBefore = LengthOrZero(partialPath);
            try
            {
                await TransferAsync(file, partialPath, ct);
                break;
            }
            catch (DownloadFailedException) when (attempt < MaxAttempts && LengthOrZero(partialPath) > lengthBefore)
            {
                // The server sent something before failing: the next attempt resumes where it stopped.
            }
        }

        string actual = FileChecksum.Sha256Hex(partialPath);
        string? expected = ExpectedSha256(file);
        if (expected is null)
        {
            // The record goes first: a file under its final name must always have something to be checked against.
            AtomicFile.WriteAllText(ChecksumRecordPath(file), $"{actual}  {file.FileName}\n");
        }
        else if (actual != expected)
        {
            File.Delete(partialPath);
            string problem = file.Sha256 is not null
                ? $"checksum mismatch: expected {expected}, got {actual}"
                : $"checksum mismatch: expected {expected}, recorded at its first download in {ChecksumRecordPath(file)}, got {actual} " +
                  "(if the publisher has changed the file, delete that record to accept the new one)";
            throw new DataFileException(file.Url.ToString(), problem);
        }
        File.Move(partialPath, finalPath, overwrite: true);
        return finalPath;
    }

    async Task TransferAsync(RemoteFile file, string partialPath, CancellationToken ct)
    {
        FileStream output;
        try
        {
            // FileShare.None: a second process fetching the same file must not interleave its bytes with ours.
            output = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        }
        catch (IOException e)
        {
            throw new DownloadFailedException(file.Url, $"cannot write {partialPath} (is another download of it running?): {e.Message}", e);
        }

        await using (output)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
            try
            {
                await ReceiveAsync(file, output, stall, ct);
                output.Flush(flushToDisk: true);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                string reason = stall.IsCancellationRequested
                    ? $"no data received for {stallTimeout.TotalSeconds:0.###} s"
                    : $"timed out ({e.Message})";
                throw new DownloadFailedException(file.Url, reason, e);
            }
            catch (HttpRequestException e)
            {
                throw new DownloadFailedException(file.Url, e.InnerException is { } cause ? $"{e.Message} ({cause.Message})" : e.Message, e);
            }
            catch (IOException e)
            {
                throw new DownloadFailedException(file.Url, e.Message, e);
            }
        }
    }

    async Task ReceiveAsync(RemoteFile file, FileStream output, CancellationTokenSource stall, CancellationToken ct)
    {
        long offset = output.Length;
        HttpResponseMessage response = await SendAsync(file.Url, offset, stall);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && offset > 0)
        {
            long? total = response.Content.Headers.ContentRange?.Length;
            response.Dispose();
            if (total == offset)
            {
                // The previous run had received everything but stopped before verifying; the checksum decides.
                Report(file, offset, total);
                return;
            }
            // The partial file does not fit what the server has: it cannot be trusted, so start over.
            output.SetLength(0);
            offset = 0;
            response = await SendAsync(file.Url, offset, stall);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
                throw new DownloadFailedException(file.Url, $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}");

            long? totalBytes = response.Content.Headers.ContentLength;
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                ContentRangeHeaderValue? range = response.Content.Headers.ContentRange;
                if (range?.From != offset)
                {
                    output.SetLength(0);
                    throw new DownloadFailedException(file.Url, $"asked for bytes from {offset} but the server sent the range '{range}'");
                }
                totalBytes = range.Length ?? offset + totalBytes;
            }
            else if (offset > 0)
            {
                // A plain 200 to a Range request: the server ignores ranges and sends the whole file again.
                output.SetLength(0);
                offset = 0;
            }
            output.Seek(offset, SeekOrigin.Begin);

            await using Stream body = await response.Content.ReadAsStreamAsync(stall.Token);
            byte[] buffer = new byte[1 << 16];
            long received = offset;
            Report(file, received, totalBytes);
            while (true)
            {
                // Restarting the timer before every read turns it into "no bytes for this long", not "whole transfer".
                stall.CancelAfter(stallTimeout);
                int count = await body.ReadAsync(buffer, stall.Token);
                if (count == 0) break;
                await output.WriteAsync(buffer.AsMemory(0, count), ct);
                received += count;
                Report(file, received, totalBytes);
            }
            if (totalBytes is { } expected && received < expected)
                throw new DownloadFailedException(file.Url, $"the connection closed after {received} of {expected} bytes");
        }
    }

    async Task<HttpResponseMessage> SendAsync(Uri url, long offset, CancellationTokenSource stall)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
        // Some hosts refuse requests without a User-Agent.
        request.Headers.UserAgent.ParseAdd("dotnet-dl-recipes/1.0");
        stall.CancelAfter(stallTimeout);
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token);
    }

    void Report(RemoteFile file, long received, long? total) =>
        progress?.Report(new DownloadProgress(file.FileName, received, total));

    static long LengthOrZero(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? info.Length : 0;
    }
}
