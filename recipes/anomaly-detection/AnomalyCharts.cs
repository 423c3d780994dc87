using Recipes.Runtime.IO;
using Recipes.Runtime.Summaries;
using ScottPlot;

namespace Recipes.AnomalyDetection;

/// <summary>What an anomaly detector saw and decided, in the units of the series, for <see cref="AnomalyCharts"/>.</summary>
/// <param name="Series">The whole series.</param>
/// <param name="ScoredRows">The rows that were forecast and judged, in order (the test period, or more).</param>
/// <param name="Predicted">The forecast for each scored row.</param>
/// <param name="Errors">The error that was thresholded for each scored row.</param>
/// <param name="Flags">Whether each scored row was flagged as an anomaly.</param>
/// <param name="TestStart">The first timestamp of the seed's test period.</param>
/// <param name="Windows">Labelled anomaly windows to shade, if any.</param>
public sealed record AnomalyChartData(
    string Title,
    string ValueLabel,
    TimestampedSeries Series,
    IReadOnlyList<int> ScoredRows,
    IReadOnlyList<double> Predicted,
    IReadOnlyList<double> Errors,
    string ErrorLabel,
    double Threshold,
    IReadOnlyList<bool> Flags,
    DateTime TestStart,
    IReadOnlyList<AnomalyWindow> Windows);

/// <summary>
/// The seed notebook's four pictures, as PNGs rendered headless with ScottPlot: the series; forecast against
/// actual; the error with the anomaly threshold; and the series with the anomalies marked and the start of the
/// test period. Labelled windows, when known, are shaded in the first, third and fourth.
/// </summary>
public static class AnomalyCharts
{
    public const string SeriesFile = "series.png", PredictionFile = "predicted_vs_actual.png", ErrorFile = "errors.png", AnomaliesFile = "anomalies.png";

    const int Width = 1400, Height = 520;
    static readonly Color WindowColor = Colors.Gold.WithAlpha(0.28);

    /// <summary>Writes all four charts into <paramref name="folder"/> and returns their paths.</summary>
    public static IReadOnlyList<string> WriteAll(string folder, AnomalyChartData data)
    {
        string series = Path.Combine(folder, SeriesFile), prediction = Path.Combine(folder, PredictionFile),
            errors = Path.Combine(folder, ErrorFile), anomalies = Path.Combine(folder, AnomaliesFile);
        WriteSeries(series, data);
        WritePrediction(prediction, data);
        WriteErrors(errors, data);
        WriteAnomalies(anomalies, data);
        return [series, prediction, errors, anomalies];
    }

    public static void WriteSeries(string path, AnomalyChartData data)
    {
        using var plot = NewPlot($"{data.Title}: the series", data.ValueLabel);
        ShadeWindows(plot, data.Windows, data.Series.Timestamps[0], data.Series.Timestamps[^1]);
        var line = plot.Add.ScatterLine(Dates(data.Series.Timestamps), data.Series.Values.ToArray(), Colors.SteelBlue);
        line.LineWidth = 1;
        line.LegendText = "value";
        Save(plot, path);
    }

    public static void WritePrediction(string path, AnomalyChartData data)
    {
        using var plot = NewPlot($"{data.Title}: forecast against actual", data.ValueLabel);
        double[] xs = Dates(data.ScoredRows.Select(row => data.Series.Timestamps[row]).ToList());
        // Thinner, see-through lines when months of points share the width of the picture.
        float width = xs.Length > 2000 ? 1f : 1.5f;
        var actual = plot.Add.ScatterLine(xs, data.ScoredRows.Select(row => data.Series.Values[row]).ToArray(), Colors.SteelBlue);
        actual.LineWidth = width;
        actual.LegendText = "actual";
        var predicted = plot.Add.ScatterLine(xs, data.Predicted.ToArray(), Colors.OrangeRed.WithAlpha(xs.Length > 2000 ? 0.7 : 1.0));
        predicted.LineWidth = width;
        predicted.LegendText = "forecast";
        Save(plot, path);
    }

    public static void WriteErrors(string path, AnomalyChartData data)
    {
        using var plot = NewPlot($"{data.Title}: forecast error and anomaly threshold", data.ErrorLabel);
        ShadeWindows(plot, data.Windows, data.Series.Timestamps[data.ScoredRows[0]], data.Series.Timestamps[data.ScoredRows[^1]]);
        double[] xs = Dates(data.ScoredRows.Select(row => data.Series.Timestamps[row]).ToList());
        var errors = plot.Add.ScatterLine(xs, data.Errors.ToArray(), Colors.SlateGray);
        errors.LineWidth = 1;
        errors.LegendText = "error";
        var threshold = plot.Add.HorizontalLine(data.Threshold, 1.5f, Colors.Red, LinePattern.Dashed);
        threshold.LegendText = $"threshold {data.Threshold:#,0.###}";
        var flagged = Enumerable.Range(0, data.Flags.Count).Where(i => data.Flags[i]).ToArray();
        if (flagged.Length > 0)
        {
            var markers = plot.Add.Markers(flagged.Select(i => xs[i]).ToArray(), flagged.Select(i => data.Errors[i]).ToArray(), MarkerShape.FilledCircle, 6, Colors.Red);
            markers.LegendText = $"anomalies ({flagged.Length})";
        }
        Save(plot, path);
    }

    public static void WriteAnomalies(string path, AnomalyChartData data)
    {
        using var plot = NewPlot($"{data.Title}: anomalies", data.ValueLabel);
        ShadeWindows(plot, data.Windows, data.Series.Timestamps[0], data.Series.Timestamps[^1]);
        var line = plot.Add.ScatterLine(Dates(data.Series.Timestamps), data.Series.Values.ToArray(), Colors.SteelBlue.WithAlpha(0.8));
        line.LineWidth = 1;
        line.LegendText = "value";
        var testStart = plot.Add.VerticalLine(data.TestStart.ToOADate(), 1.5f, Colors.DarkGreen, LinePattern.Dashed);
        testStart.LegendText = $"test starts {data.TestStart:yyyy-MM-dd HH:mm}";
        var flaggedRows = data.ScoredRows.Where((_, i) => data.Flags[i]).ToArray();
        if (flaggedRows.Length > 0)
        {
            var markers = plot.Add.Markers(
                flaggedRows.Select(row => data.Series.Timestamps[row].ToOADate()).ToArray(),
                flaggedRows.Select(row => data.Series.Values[row]).ToArray(), MarkerShape.FilledCircle, 7, Colors.Red);
            markers.LegendText = $"anomalies ({flaggedRows.Length})";
        }
        Save(plot, path);
    }

    static Plot NewPlot(string title, string valueLabel)
    {
        var plot = new Plot();
        // Without any installed font ScottPlot draws no text but still renders the chart.
        if (SansSerifFont.FamilyName is string family) plot.Font.Set(family);
        plot.Title(title, size: 18);
        plot.YLabel(valueLabel);
        var dates = plot.Axes.DateTimeTicksBottom();
        dates.TickGenerator = new ScottPlot.TickGenerators.DateTimeAutomatic { LabelFormatter = time => time.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) };
        plot.Axes.Left.MinimumSize = 70;
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    // Only the part of each window inside [from, to], so a chart of the test period keeps its own time axis.
    static void ShadeWindows(Plot plot, IReadOnlyList<AnomalyWindow> windows, DateTime from, DateTime to)
    {
        bool first = true;
        foreach (var window in windows)
        {
            DateTime start = window.Start > from ? window.Start : from, end = window.End < to ? window.End : to;
            if (start > end) continue;
            var span = plot.Add.HorizontalSpan(start.ToOADate(), end.ToOADate(), WindowColor);
            span.LineWidth = 0;
            // One legend entry for all windows.
            span.LegendText = first ? "labelled anomaly windows" : "";
            first = false;
        }
    }

    static double[] Dates(IReadOnlyList<DateTime> timestamps) => timestamps.Select(time => time.ToOADate()).ToArray();

    static void Save(Plot plot, string path)
    {
        plot.Axes.AutoScale();
        using var image = plot.GetImage(Width, Height);
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
    }
}
