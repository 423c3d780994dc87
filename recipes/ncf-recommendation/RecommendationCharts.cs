using Recipes.Runtime.IO;
using Recipes.Runtime.Summaries;
using ScottPlot;

namespace Recipes.NcfRecommendation;

/// <summary>Charts of how well a recommender did, rendered headless with ScottPlot.</summary>
public static class RecommendationCharts
{
    /// <summary>
    /// HR@K against K for several rankers (each series: HR@1, HR@2, ...), with the line a random ranking of
    /// <paramref name="candidatesPerUser"/> candidates would follow (K / candidates).
    /// </summary>
    public static void WriteHitRatioCurves(string pngPath, string title, IReadOnlyList<(string Name, IReadOnlyList<double> HitRatios)> series,
        int candidatesPerUser, int width = 900, int height = 600)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(candidatesPerUser, 1);
        int maxK = series.Count == 0 ? 10 : series.Max(s => s.HitRatios.Count);
        using var plot = new Plot();
        var palette = new[] { Colors.DarkOrange, Colors.SteelBlue, Colors.SeaGreen, Colors.Purple };
        for (int s = 0; s < series.Count; s++)
        {
            double[] ks = Enumerable.Range(1, series[s].HitRatios.Count).Select(k => (double)k).ToArray();
            var line = plot.Add.Scatter(ks, series[s].HitRatios.ToArray(), palette[s % palette.Length]);
            line.LineWidth = 2;
            line.MarkerSize = 6;
            line.LegendText = series[s].Name;
        }
        var random = plot.Add.Scatter(new double[] { 1, maxK }, new double[] { 1.0 / candidatesPerUser, Math.Min(1, (double)maxK / candidatesPerUser) }, Colors.Gray);
        random.LinePattern = LinePattern.Dashed;
        random.MarkerSize = 0;
        random.LegendText = "random ranking";
        plot.Title(title, size: 18);
        plot.XLabel($"K (the held-out item is in the top K of {candidatesPerUser} candidates)");
        plot.YLabel("hit ratio HR@K");
        plot.Axes.SetLimits(0.5, maxK + 0.5, 0, 1);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.LowerRight);
        Save(plot, pngPath, width, height);
    }

    /// <summary>How many test ratings have each number of stars, next to how many the model predicted of each.</summary>
    public static void WriteStarDistribution(string pngPath, string title, RatingScale scale, IReadOnlyList<double> actualStars,
        IReadOnlyList<(string Name, IReadOnlyList<double> Stars)> predictions, int width = 900, int height = 600)
    {
        var groups = new List<(string Name, IReadOnlyList<double> Stars)> { ("actual", actualStars) };
        groups.AddRange(predictions);
        using var plot = new Plot();
        var palette = new[] { Colors.SlateGray, Colors.DarkOrange, Colors.SteelBlue, Colors.SeaGreen };
        double groupWidth = 0.8, barWidth = groupWidth / groups.Count;
        for (int g = 0; g < groups.Count; g++)
        {
            var counts = new double[scale.ClassCount];
            // Fractional predictions (expected stars) count at the nearest allowed value.
            foreach (double stars in groups[g].Stars)
                counts[Math.Clamp((int)Math.Round((stars - scale.Min) / scale.Step), 0, scale.ClassCount - 1)]++;
            double[] positions = Enumerable.Range(0, scale.ClassCount)
                .Select(c => scale.StarsOf(c) / scale.Step - groupWidth / 2 + barWidth * (g + 0.5)).ToArray();
            var bars = plot.Add.Bars(positions, counts);
            bars.Color = palette[g % palette.Length];
            foreach (var bar in bars.Bars) bar.Size = barWidth * 0.95;
            bars.LegendText = groups[g].Name;
        }
        var ticks = Enumerable.Range(0, scale.ClassCount)
            .Select(c => new Tick(scale.StarsOf(c) / scale.Step, $"{scale.StarsOf(c):0.#}")).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title, size: 18);
        plot.XLabel("stars");
        plot.YLabel("test ratings");
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, pngPath, width, height);
    }

    static void Save(Plot plot, string pngPath, int width, int height)
    {
        // Without any installed font ScottPlot draws no text but still renders the chart.
        if (SansSerifFont.FamilyName is string family) plot.Font.Set(family);
        if (SansSerifFont.Bold is SkiaSharp.SKTypeface bold) plot.Axes.Title.Label.Font = bold;
        using var image = plot.GetImage(width, height);
        AtomicFile.WriteAllBytes(pngPath, image.GetImageBytes(ImageFormat.Png, 100));
    }
}
