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

/// <summary>
/// Download progress as plain lines (a file's name, percent, megabytes, speed) at most every few seconds and at
/// each file's end: for long multi-file downloads whose output may go to a log rather than a terminal.
/// </summary>
public sealed class LineDownloadProgress(TextWriter log, TimeSpan? every = null) : IProgress<DownloadProgress>
{
    readonly TimeSpan _every = every ?? TimeSpan.FromSeconds(5);
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    string? _file;
    TimeSpan _last;
    TimeSpan _started;
    long _startBytes;

    public void Report(DownloadProgress value)
    {
        var now = _clock.Elapsed;
        if (value.FileName != _file)
        {
            (_file, _started, _startBytes, _last) = (value.FileName, now, value.BytesReceived, now);
            return;
        }
        bool done = value.TotalBytes is long total && value.BytesReceived >= total;
        if (!done && now - _last < _every) return;
        _last = now;
        double seconds = Math.Max((now - _started).TotalSeconds, 1e-3);
        double speed = (value.BytesReceived - _startBytes) / seconds / 1e6;
        string percent = value.TotalBytes is long size && size > 0 ? $"{100.0 * value.BytesReceived / size,5:F1}% of {size / 1e6:N0} MB" : "";
        log.WriteLine(System.FormattableString.Invariant($"  {value.FileName}: {value.BytesReceived / 1e6:N0} MB {percent} ({speed:F1} MB/s)"));
    }
}
