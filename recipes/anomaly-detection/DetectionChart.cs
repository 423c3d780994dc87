using Recipes.Runtime.IO;
using Recipes.Runtime.Summaries;
using ScottPlot;

namespace Recipes.AnomalyDetection;

/// <summary>
/// Where the detector's alarms fall: above, the series with the labelled windows shaded, the end of NAB's
/// probationary period and each alarm as a red line; below, the anomaly likelihood as -log10 of the tail
/// probability with the alarm threshold, on the same time axis.
/// </summary>
public static class DetectionChart
{
    public const string FileName = "detections.png";

    public static void Write(string path, string title, TimestampedSeries series, IReadOnlyList<AnomalyWindow> windows,
        IReadOnlyList<bool> alarms, IReadOnlyList<double> tailProbabilities, double threshold, int probationaryRows)
    {
        var multiplot = new Multiplot();
        var top = multiplot.Subplots.GetPlot(0);
        var bottom = new Plot();
        multiplot.Subplots.Add(bottom);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        try
        {
            double[] xs = series.Timestamps.Select(time => time.ToOADate()).ToArray();
            foreach (var plot in multiplot.GetPlots())
            {
                if (SansSerifFont.FamilyName is string family) plot.Font.Set(family);
                var dates = plot.Axes.DateTimeTicksBottom();
                dates.TickGenerator = new ScottPlot.TickGenerators.DateTimeAutomatic { LabelFormatter = time => time.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) };
                plot.Axes.Left.MinimumSize = 70;
                bool firstWindow = true;
                foreach (var window in windows)
                {
                    var span = plot.Add.HorizontalSpan(window.Start.ToOADate(), window.End.ToOADate(), Colors.Gold.WithAlpha(0.3));
                    span.LineWidth = 0;
                    span.LegendText = firstWindow && plot == top ? "labelled anomaly windows" : "";
                    firstWindow = false;
                }
                if (probationaryRows > 0 && probationaryRows < series.Count)
                {
                    var probation = plot.Add.VerticalLine(xs[probationaryRows], 1.5f, Colors.DarkGreen, LinePattern.Dashed);
                    probation.LegendText = plot == top ? "end of NAB's probationary period" : "";
                }
            }

            top.Title(title, size: 18);
            top.YLabel("value");
            var line = top.Add.ScatterLine(xs, series.Values.ToArray(), Colors.SteelBlue.WithAlpha(0.8));
            line.LineWidth = 1;
            line.LegendText = "value";
            int alarmCount = 0;
            for (int t = 0; t < alarms.Count; t++)
            {
                if (!alarms[t]) continue;
                var mark = top.Add.VerticalLine(xs[t], 1.5f, Colors.Red);
                mark.LegendText = alarmCount++ == 0 ? "alarms" : "";
            }
            top.ShowLegend(Alignment.LowerLeft);

            bottom.YLabel("-log10 tail probability");
            double[] surprise = tailProbabilities.Select(p => double.IsNaN(p) ? double.NaN : -Math.Log10(Math.Max(p, 1e-12))).ToArray();
            var likelihood = bottom.Add.ScatterLine(xs, surprise, Colors.SlateGray);
            likelihood.LineWidth = 1;
            likelihood.LegendText = "anomaly likelihood";
            var limit = bottom.Add.HorizontalLine(-Math.Log10(threshold), 1.5f, Colors.Red, LinePattern.Dashed);
            limit.LegendText = $"alarm threshold (tail probability {threshold:G2})";
            bottom.ShowLegend(Alignment.UpperLeft);

            foreach (var plot in multiplot.GetPlots()) plot.Axes.AutoScale();
            bottom.Axes.SetLimitsY(0, Math.Max(-Math.Log10(threshold) * 1.6, 1));
            bottom.Axes.SetLimitsX(top.Axes.GetLimits().Left, top.Axes.GetLimits().Right);
            using var image = multiplot.Render(1400, 760);
            AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
        }
        finally
        {
            foreach (var plot in multiplot.GetPlots()) plot.Dispose();
        }
    }
}
