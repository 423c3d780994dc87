using System.Net;
using System.Net.Http.Headers;

namespace Recipes.Runtime.Data.Download;

/// <summary>
/// Fetches <see cref="RemoteFile"/>s into a cache folder. A file is only ever placed under its final name
/// after its SHA-256 matched, so anything found there under that name can be trusted. Bytes in flight live
/// in <c>&lt;name&gt;.partial</c>, which a later call resumes with an HTTP Range request.
/// </summary>
public sealed class Downloader
{
    public const string PartialSuffix = ".partial";
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

    /// <summary>The cached copy of <paramref name="file"/> if one exists and its checksum matches; null otherwise.</summary>
    public string? FindVerified(RemoteFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string path = CachedPath(file);
        return File.Exists(path) && FileChecksum.Sha256Hex(path) == file.Sha256 ? path : null;
    }

    /// <summary>
    /// Returns the verified path of <paramref name="file"/> in the cache, downloading (or resuming) it first
    /// when needed.
    /// </summary>
    /// <exception cref="DownloadFailedException">The server could not be reached, refused, stalled or cut off the transfer.</exception>
    /// <exception cref="DataFileException">The downloaded bytes do not have the expected SHA-256; nothing is kept.</exception>
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
        if (actual != file.Sha256)
        {
            File.Delete(partialPath);
            throw new DataFileException(file.Url.ToString(), $"checksum mismatch: expected {file.Sha256}, got {actual}");
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
