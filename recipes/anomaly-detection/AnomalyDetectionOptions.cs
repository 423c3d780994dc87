using System.CommandLine;
using Recipes.Runtime.Data;

namespace Recipes.AnomalyDetection;

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record AnomalyDetectionSettings(string? WindowsPath, bool WholeSeries, double AnomalyFraction, DetectorSettings Detector);

/// <summary>The options this recipe adds to the common ones.</summary>
public sealed class AnomalyDetectionOptions
{
    public AnomalyDetectionOptions(RootCommand root)
    {
        Windows = new Option<string?>("--windows") { Description = "Labels in NAB's combined_windows.json format to score against (default: NAB's windows for nyc_taxi.csv, or the generated series' own)" };
        WholeSeries = new Option<bool>("--whole-series") { Description = "Flag and score anomalies over the whole series, not only the last 1000 points (the seed's test period)" };
        Fraction = new Option<double>("--anomaly-fraction") { Description = "Fraction of the scored points with the largest errors to flag (the seed: 0.01)", DefaultValueFactory = _ => 0.01 };
        Horizon = new Option<int>("--horizon") { Description = "Detector: steps ahead the weekly forecaster predicts (1 = the next 30 minutes)", DefaultValueFactory = _ => DetectorDefaults.Horizon };
        TailProbability = new Option<double>("--tail-probability") { Description = "Detector: alarm when the anomaly likelihood's tail probability falls to this (Numenta's NAB threshold: 1e-5)", DefaultValueFactory = _ => DetectorDefaults.TailProbability };
        QuietHours = new Option<double>("--quiet-hours") { Description = "Detector: hours without a further alarm after one (one alarm per event)", DefaultValueFactory = _ => DetectorDefaults.QuietHours };
        foreach (var option in new Option[] { Windows, WholeSeries, Fraction, Horizon, TailProbability, QuietHours })
            root.Options.Add(option);
    }

    public Option<string?> Windows { get; }
    public Option<bool> WholeSeries { get; }
    public Option<double> Fraction { get; }
    public Option<int> Horizon { get; }
    public Option<double> TailProbability { get; }
    public Option<double> QuietHours { get; }

    public AnomalyDetectionSettings Read(ParseResult parsed)
    {
        double anomalyFraction = parsed.GetValue(Fraction);
        if (!(anomalyFraction > 0 && anomalyFraction <= 1)) throw new ArgumentException("--anomaly-fraction must be in (0, 1]");
        var detector = new DetectorSettings(parsed.GetValue(Horizon), parsed.GetValue(TailProbability), parsed.GetValue(QuietHours));
        detector.Validate();
        string? windowsPath = parsed.GetValue(Windows);
        if (windowsPath is not null && !File.Exists(windowsPath)) throw new DataFileException(windowsPath, "no such file (--windows)");
        return new AnomalyDetectionSettings(windowsPath, parsed.GetValue(WholeSeries), anomalyFraction, detector);
    }
}
