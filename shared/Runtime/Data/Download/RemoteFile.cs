namespace Recipes.Runtime.Data.Download;

/// <summary>
/// A file published at <see cref="Url"/>, kept in the cache as <see cref="FileName"/>. Its content must
/// hash to <see cref="Sha256"/> (lower-case hex) before anyone may use it; for a file whose publisher gives
/// no checksum (<see cref="WithoutPublishedChecksum"/>), the <see cref="Downloader"/> records the SHA-256 of
/// the first complete download beside it and holds every later use to that record instead.
/// </summary>
public sealed record RemoteFile
{
    public RemoteFile(Uri url, string fileName, string sha256)
        : this(url, fileName) => Sha256 = CheckSha256(sha256);

    RemoteFile(Uri url, string fileName)
    {
        Url = CheckUrl(url);
        FileName = CheckFileName(fileName);
    }

    /// <summary>
    /// A file published without a checksum. Nothing can vouch for its first download, so say so where it is
    /// used; what the record buys is that a copy changed afterwards (on disk, or by the server) is never
    /// taken for the one first downloaded.
    /// </summary>
    public static RemoteFile WithoutPublishedChecksum(Uri url, string fileName) => new(url, fileName);

    public Uri Url { get; }

    public string FileName { get; }

    /// <summary>The published SHA-256 (lower-case hex), or null when the publisher gives none.</summary>
    public string? Sha256 { get; }

    static Uri CheckUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"'{url}' is not an absolute http(s) URL", nameof(url));
        return url;
    }

    // The name becomes a path inside the cache folder, so it must not be able to point anywhere else.
    static string CheckFileName(string fileName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        if (fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', '\0']) >= 0)
            throw new ArgumentException($"'{fileName}' is not a plain file name", nameof(fileName));
        return fileName;
    }

    static string CheckSha256(string sha256)
    {
        // Null is not "unknown": that has to be asked for by name, with WithoutPublishedChecksum.
        ArgumentNullException.ThrowIfNull(sha256);
        if (!IsSha256Hex(sha256))
            throw new ArgumentException($"'{sha256}' is not a SHA-256 in hex (64 hex digits)", nameof(sha256));
        return sha256.ToLowerInvariant();
    }

    internal static bool IsSha256Hex(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigit);
}
