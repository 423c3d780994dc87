namespace Recipes.Runtime.Data.Download;

/// <summary>How far a download of <paramref name="FileName"/> has got; the total is null when the server does not say.</summary>
public readonly record struct DownloadProgress(string FileName, long BytesReceived, long? TotalBytes);
