using Recipes.Runtime.IO;
using ScottPlot;

namespace Recipes.Runtime.Summaries;

/// <summary>PNG charts of a <see cref="TrainingHistory"/>, rendered headless with ScottPlot.</summary>
public static class TrainingCharts
{
    /// <summary>
    /// Writes a chart of two panels sharing the epoch axis: on top the training loss of each recorded
    /// iteration (light) with every per-epoch loss metric (names ending in "loss"); below the validation
    /// metrics per epoch (by default every metric named "val_*" that is not a loss). An iteration is drawn
    /// at its fraction of the way through its epoch, so the end of epoch N sits at x = N.
    /// The lower panel is left out when there is nothing to show in it.
    /// </summary>
    public static void WriteLossAndMetricChart(
        TrainingHistory history,
        string pngPath,
        string title,
        IReadOnlyList<string>? validationMetricNames = null,
        int width = 1000,
        int height = 800)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 200);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 200);

        var metricNames = validationMetricNames ?? history.MetricNames.Where(IsValidationMetric).ToArray();
        var metricSeries = metricNames.Select(name => (Name: name, Points: history.MetricSeries(name)))
                                      .Where(series => series.Points.Count > 0)
                                      .ToArray();

        var multiplot = new Multiplot();
        var lossPlot = multiplot.Subplots.GetPlot(0);
        DrawLossPanel(lossPlot, history, title);
        if (metricSeries.Length > 0)
        {
            var metricPlot = new Plot();
            multiplot.Subplots.Add(metricPlot);
            DrawMetricPanel(metricPlot, metricSeries);
            multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        }
        var (left, right) = EpochAxisRange(history);
        foreach (var plot in multiplot.GetPlots()) StyleEpochAxis(plot, left, right);
        // The font family is applied as a fixed typeface, so the title's bold weight must be a typeface too.
        if (SansSerifFont.Bold is SkiaSharp.SKTypeface boldTypeface) lossPlot.Axes.Title.Label.Font = boldTypeface;

        byte[] png;
        try
        {
            using var image = multiplot.Render(width, height);
            png = image.GetImageBytes(ImageFormat.Png, 100);
        }
        finally
        {
            foreach (var plot in multiplot.GetPlots()) plot.Dispose();
        }
        AtomicFile.WriteAllBytes(pngPath, png);
    }

    // Both panels get the same epoch range and whole-epoch ticks, so their points line up vertically.
    static void StyleEpochAxis(Plot plot, double left, double right)
    {
        // Without any installed font ScottPlot draws no text but still renders the chart (checked with an empty font folder).
        if (SansSerifFont.FamilyName is string family) plot.Font.Set(family);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        // Tick labels of different widths ("2.4" against "0.55") would otherwise shift one panel's data area.
        plot.Axes.Left.MinimumSize = 80;
        plot.Axes.Right.MinimumSize = 20;
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsX(left, right);
    }

    static (double Left, double Right) EpochAxisRange(TrainingHistory history)
    {
        var epochs = history.Epochs.Select(record => (double)record.Epoch)
            .Concat(history.Iterations.Select(record => (double)record.Epoch))
            .ToArray();
        if (epochs.Length == 0) return (0, 1);
        // Iterations of epoch N are drawn between N-1 and N.
        double first = history.Iterations.Count > 0 ? epochs.Min() - 1 : epochs.Min();
        double last = epochs.Max();
        double margin = Math.Max(0.05 * (last - first), 0.25);
        return (first - margin, last + margin);
    }

    static bool IsValidationMetric(string name) =>
        name.StartsWith("val_", StringComparison.Ordinal) && !IsLoss(name);

    static bool IsLoss(string name) => name.EndsWith("loss", StringComparison.Ordinal);

    static void DrawLossPanel(Plot plot, TrainingHistory history, string title)
    {
        var iterations = history.Iterations;
        if (iterations.Count > 0)
        {
            var (xs, ys) = FiniteOnly(IterationCoordinates(iterations));
            var line = plot.Add.ScatterLine(xs, ys, Colors.SteelBlue.WithAlpha(0.35));
            line.LineWidth = 1;
            line.LegendText = "train loss (iteration)";
        }

        var palette = new[] { Colors.Navy, Colors.OrangeRed, Colors.DarkGreen, Colors.Purple };
        int colorIndex = 0;
        foreach (string name in history.MetricNames.Where(IsLoss))
        {
            var points = history.MetricSeries(name);
            if (points.Count == 0) continue;
            AddEpochSeries(plot, name, points, palette[colorIndex++ % palette.Length]);
        }

        plot.Title(title, size: 20);
        plot.XLabel("epoch");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
    }

    static void DrawMetricPanel(Plot plot, IReadOnlyList<(string Name, IReadOnlyList<(int Epoch, double Value)> Points)> series)
    {
        // Category10 from its third colour on: blue and orange would read as the losses above.
        var palette = Colors.Category10;
        for (int index = 0; index < series.Count; index++)
            AddEpochSeries(plot, series[index].Name, series[index].Points, palette[(index + 2) % palette.Length]);
        plot.XLabel("epoch");
        plot.YLabel("validation metric");
        plot.ShowLegend(Alignment.LowerRight);
    }

    static void AddEpochSeries(Plot plot, string name, IReadOnlyList<(int Epoch, double Value)> points, Color color)
    {
        var (xs, ys) = FiniteOnly((points.Select(point => (double)point.Epoch).ToArray(), points.Select(point => point.Value).ToArray()));
        var scatter = plot.Add.Scatter(xs, ys, color);
        scatter.LineWidth = 2;
        scatter.MarkerSize = 7;
        scatter.LegendText = $"{name} (epoch)";
    }

    // A diverged run logs NaN or infinite losses; they cannot be drawn and would wreck the axis limits.
    static (double[] Xs, double[] Ys) FiniteOnly((double[] Xs, double[] Ys) points)
    {
        var keep = Enumerable.Range(0, points.Ys.Length).Where(index => double.IsFinite(points.Ys[index])).ToArray();
        return (keep.Select(index => points.Xs[index]).ToArray(), keep.Select(index => points.Ys[index]).ToArray());
    }

    /// <summary>Places each iteration at (epoch - 1) + its position within that epoch's recorded iterations.</summary>
    static (double[] Xs, double[] Ys) IterationCoordinates(IReadOnlyList<IterationLoss> iterations)
    {
        var xs = new double[iterations.Count];
        var ys = new double[iterations.Count];
        int start = 0;
        while (start < iterations.Count)
        {
            int epoch = iterations[start].Epoch;
            int end = start;
            while (end < iterations.Count && iterations[end].Epoch == epoch) end++;
            int count = end - start;
            for (int index = start; index < end; index++)
            {
                xs[index] = epoch - 1 + (index - start + 1) / (double)count;
                ys[index] = iterations[index].Loss;
            }
            start = end;
        }
        return (xs, ys);
    }
}
