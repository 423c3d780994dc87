using Spectre.Console;

namespace Recipes.Runtime.Data.Download;

/// <summary>Fetches a file the way a recipe wants it shown: a progress bar with bytes, speed and time left.</summary>
public static class ConsoleDownloadProgress
{
    /// <inheritdoc cref="Downloader.FetchAsync"/>
    /// <param name="cacheFolder">Where to cache; <see cref="CacheFolder.Default"/> when null.</param>
    public static async Task<string> FetchAsync(RemoteFile file, string? cacheFolder = null, HttpClient? http = null, CancellationToken ct = default)
    {
        string folder = cacheFolder ?? CacheFolder.Default;
        // A verified copy needs no bar at all.
        if (new Downloader(folder, http).FindVerified(file) is { } cached) return cached;

        return await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                ProgressTask bar = context.AddTask(Markup.Escape(file.FileName));
                bar.IsIndeterminate = true;
                var downloader = new Downloader(folder, http, new ProgressBarUpdater(bar));
                string path = await downloader.FetchAsync(file, ct);
                bar.StopTask();
                return path;
            });
    }

    // Updates the bar on the downloader's own thread: Progress<T> would post the updates out of order.
    sealed class ProgressBarUpdater(ProgressTask bar) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value)
        {
            if (value.TotalBytes is { } total && total > 0)
            {
                bar.IsIndeterminate = false;
                bar.MaxValue = total;
            }
            bar.Value = value.BytesReceived;
        }
    }
}
