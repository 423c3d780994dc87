namespace Recipes.Runtime.Data.Download;

/// <summary>
/// A download that could not be completed: the server is unreachable, answered with an error, stalled,
/// or cut the transfer off. Recipes catch this to fall back to generated data.
/// </summary>
public sealed class DownloadFailedException : Exception
{
    public DownloadFailedException(Uri url, string reason, Exception? inner = null)
        : base($"download of {url} failed: {reason}", inner)
    {
        Url = url;
        Reason = reason;
    }

    public Uri Url { get; }
    public string Reason { get; }
}
