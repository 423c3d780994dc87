namespace Recipes.Runtime.Data.Download;

/// <summary>
/// A file published at <paramref name="Url"/>, kept in the cache as <paramref name="FileName"/>, whose
/// content must hash to <paramref name="Sha256"/> (lower-case hex) before anyone may use it.
/// </summary>
public sealed record RemoteFile(Uri Url, string FileName, string Sha256)
{
    public Uri Url { get; } = CheckUrl(Url);

    public string FileName { get; } = CheckFileName(FileName);

    public string Sha256 { get; } = CheckSha256(Sha256);

    static Uri CheckUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"'{url}' is not an absolute http(s) URL", nameof(Url));
        return url;
    }

    // The name becomes a path inside the cache folder, so it must not be able to point anywhere else.
    static string CheckFileName(string fileName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        if (fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', '\0']) >= 0)
            throw new ArgumentException($"'{fileName}' is not a plain file name", nameof(FileName));
        return fileName;
    }

    static string CheckSha256(string sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"'{sha256}' is not a SHA-256 in hex (64 hex digits)", nameof(Sha256));
        return sha256.ToLowerInvariant();
    }
}
