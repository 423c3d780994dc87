using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.AnomalyDetection;

/// <summary>
/// A resolved series for anomaly detection, with where it came from and, when known, its labelled anomaly
/// windows (<see cref="Windows"/> null means there is nothing to score against).
/// </summary>
public sealed record AnomalySeriesData(
    TimestampedSeries Series,
    DataSourceKind Source,
    string Name,
    string Description,
    IReadOnlyList<AnomalyWindow>? Windows,
    string? WindowsOrigin)
{
    /// <summary>What each window is, when known (NAB's events, or the kind of a generated anomaly).</summary>
    public IReadOnlyList<string>? WindowNames { get; init; }

    /// <summary>The CSV file the series was read from, for messages about it.</summary>
    public string? FilePath { get; init; }
}

/// <summary>
/// Finds the NYC taxi series in the order of DESIGN.md section 5: <c>--data</c> (a CSV file, or a folder
/// holding nyc_taxi.csv), the verified download cache, a download from NAB, and finally a generated series
/// written beside the results together with its own labels file, so scoring works offline too.
/// </summary>
public static class AnomalySeriesDataSets
{
    public static AnomalySeriesData Resolve(string? localPath, string cacheFolder, bool offline, string generatedFolder, TextWriter log)
    {
        // 1. A local copy in NAB's CSV format.
        if (localPath is not null)
        {
            string csv = Directory.Exists(localPath) ? Path.Combine(localPath, NabNycTaxi.FileName) : localPath;
            if (!File.Exists(csv)) throw new DataFileException(localPath, $"no {NabNycTaxi.FileName} in this folder (pass the CSV file itself for another series)");
            return WithKnownWindows(TimeSeriesCsv.Read(csv), DataSourceKind.Local, $"{Path.GetFileName(csv)} from {Path.GetDirectoryName(Path.GetFullPath(csv))}") with { FilePath = csv };
        }

        // 2. The cache, when a previous download's checksum was verified; 3. a download.
        var downloader = new Downloader(Path.Combine(cacheFolder, "nab"));
        if (downloader.FindVerified(NabNycTaxi.Csv, log) is { } cached)
            return WithKnownWindows(TimeSeriesCsv.Read(cached), DataSourceKind.Cache, $"NAB {NabNycTaxi.FileName} from the cache {downloader.CacheFolderPath}") with { FilePath = cached };
        if (!offline)
        {
            try
            {
                string downloaded = ConsoleDownloadProgress.FetchAsync(NabNycTaxi.Csv, downloader.CacheFolderPath).GetAwaiter().GetResult();
                return WithKnownWindows(TimeSeriesCsv.Read(downloaded), DataSourceKind.Download, $"NAB {NabNycTaxi.FileName} downloaded to {downloader.CacheFolderPath}") with { FilePath = downloaded };
            }
            catch (Exception error) when (error is DownloadFailedException or DataFileException)
            {
                // Unreachable servers are the normal offline case; a checksum mismatch left nothing in the cache.
                log.WriteLine($"Could not download {NabNycTaxi.FileName} ({error.Message}); falling back to a generated series.");
            }
        }

        // 4. A generated taxi-like series, written out and read back through the same CSV and labels readers.
        var generated = GeneratedDemandSeries.Create();
        var (csvPath, windowsPath) = generated.WriteFiles(generatedFolder);
        var series = TimeSeriesCsv.Read(csvPath);
        var windows = NabWindowsFile.For(NabWindowsFile.Read(windowsPath), series.Name, windowsPath);
        log.WriteLine($"Using a GENERATED taxi-like series (not NAB's NYC taxi data): {series.Count:N0} half-hourly points with " +
                      $"{generated.Anomalies.Count} injected anomalies ({string.Join(", ", generated.Anomalies.Select(a => a.Kind))}), written to {csvPath} and {windowsPath}.");
        return new AnomalySeriesData(series, DataSourceKind.Generated, "generated taxi-like series", $"generated series {csvPath}", windows, windowsPath)
        {
            WindowNames = windows is not null && windows.Count == generated.Anomalies.Count ? generated.Anomalies.Select(a => a.Kind).ToList() : null,
            FilePath = csvPath,
        };
    }

    /// <summary>
    /// Reads the windows of <paramref name="series"/> from a labels file in NAB's combined_windows.json format.
    /// </summary>
    public static IReadOnlyList<AnomalyWindow> WindowsFromFile(string labelsPath, TimestampedSeries series) =>
        NabWindowsFile.For(NabWindowsFile.Read(labelsPath), series.Name, labelsPath)
        ?? throw new DataFileException(labelsPath, $"no windows for {series.Name} (expected a key \"{series.Name}\" or ending in \"/{series.Name}\")");

    // NAB's windows belong to NAB's series: attach them only to a file of that name covering their dates.
    static AnomalySeriesData WithKnownWindows(TimestampedSeries series, DataSourceKind source, string description)
    {
        bool isNabTaxi = series.Name == NabNycTaxi.FileName
                         && NabNycTaxi.KnownWindows.All(window => window.Start >= series.Timestamps[0] && window.End <= series.Timestamps[^1]);
        return isNabTaxi
            ? new AnomalySeriesData(series, source, "NAB NYC taxi", description, NabNycTaxi.KnownWindows, $"NAB labels/combined_windows.json, \"{NabNycTaxi.LabelsKey}\" (built in)")
            {
                WindowNames = NabNycTaxi.KnownWindowNames,
            }
            : new AnomalySeriesData(series, source, series.Name, description, null, null);
    }
}
