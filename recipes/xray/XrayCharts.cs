using System.Globalization;
using Recipes.Runtime.IO;
using Recipes.Runtime.Metrics;
using Recipes.Runtime.Summaries;
using ScottPlot;
using SkiaSharp;

namespace Recipes.Xray;

/// <summary>
/// The recipe's two pictures of how well it finds each of the 14 findings, rendered headless with ScottPlot:
/// validation AUC per epoch, and the ROC curves of the test set.
/// </summary>
public static class XrayCharts
{
    static readonly Color MeanColor = Colors.Black;
    static readonly Color RocColor = new(0xD6, 0x27, 0x28);
    // A bluish grey: never produced by antialiased black or grey text, so tests can find it.
    static readonly Color ChanceColor = new(0x88, 0x96, 0xA6);
    const int RocTitleHeight = 44;

    // Findings 0-9 take the ten Category10 colours; 10-13 repeat the first four with dashed lines, so no two
    // findings look alike (no palette has 14 colours that can be told apart).
    static Color FindingColor(int index) => Colors.Category10[index % Colors.Category10.Length];

    static LinePattern FindingPattern(int index) => index < Colors.Category10.Length ? LinePattern.Solid : LinePattern.Dashed;

    // A short legend symbol hides the dashes: square markers tell the repeated colours apart there too.
    static MarkerShape FindingMarker(int index) => index < Colors.Category10.Length ? MarkerShape.FilledCircle : MarkerShape.FilledSquare;

    /// <summary>
    /// Validation AUC per epoch: one thin line per finding (the legend gives each name and its AUC at the last epoch)
    /// and the mean in bold black. The y axis spans 0.4..1 unless a value lies lower. Undefined (NaN) points are
    /// left out (the line joins its neighbours). Returns <paramref name="path"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The epochs, per-class rows and means differ in count, or a row does
    /// not hold one value per name.</exception>
    public static string WriteAucHistory(string path, IReadOnlyList<string> names, IReadOnlyList<int> epochs,
        IReadOnlyList<double[]> perClassPerEpoch, IReadOnlyList<double> meanPerEpoch, string title,
        int width = 1100, int height = 650)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 300);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 200);
        if (perClassPerEpoch.Count != epochs.Count || meanPerEpoch.Count != epochs.Count)
            throw new ArgumentException($"{epochs.Count} epochs but {perClassPerEpoch.Count} rows of per-class AUC and {meanPerEpoch.Count} means");
        for (int e = 0; e < perClassPerEpoch.Count; e++)
            if (perClassPerEpoch[e].Length != names.Count)
                throw new ArgumentException($"epoch {epochs[e]} has {perClassPerEpoch[e].Length} per-class AUC values for {names.Count} findings");

        using var plot = new Plot();
        double[] epochXs = epochs.Select(epoch => (double)epoch).ToArray();
        for (int c = 0; c < names.Count; c++)
        {
            double[] values = perClassPerEpoch.Select(row => row[c]).ToArray();
            var line = AddDefinedPoints(plot, epochXs, values, FindingColor(c));
            line.LineWidth = 1.5f;
            line.LinePattern = FindingPattern(c);
            line.MarkerShape = FindingMarker(c);
            line.MarkerSize = 5;
            line.LegendText = $"{names[c]}  {LastValue(values)}";
        }
        var mean = AddDefinedPoints(plot, epochXs, meanPerEpoch.ToArray(), MeanColor);
        mean.LineWidth = 3.5f;
        mean.MarkerSize = 8;
        mean.LegendText = $"mean  {LastValue(meanPerEpoch.ToArray())}";

        double lowest = perClassPerEpoch.SelectMany(row => row).Concat(meanPerEpoch).Where(double.IsFinite).DefaultIfEmpty(1).Min();
        // 0.4..1 keeps charts of different runs comparable; a worse value widens the axis in steps of 0.05.
        double bottom = Math.Min(0.4, Math.Floor((lowest - 0.01) * 20) / 20);
        if (bottom <= 0.5)
        {
            var chance = plot.Add.HorizontalLine(0.5, 1.5f, ChanceColor, LinePattern.Dotted);
            chance.LegendText = "chance (0.5)";
        }
        plot.Axes.SetLimitsY(bottom, 1.01);
        double first = epochXs.DefaultIfEmpty(1).Min(), last = epochXs.DefaultIfEmpty(1).Max();
        plot.Axes.SetLimitsX(first - 0.3, last + 0.3);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        plot.Title(title, size: 20);
        plot.XLabel("epoch");
        plot.YLabel("validation AUC-ROC");
        // Outside the data area: fourteen entries would hide the lines.
        plot.ShowLegend(Edge.Right);
        plot.Legend.SymbolWidth = 30;
        ApplyFont(plot);
        using var image = plot.GetImage(width, height);
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
        return path;
    }

    /// <summary>
    /// ROC curves of the test set: a grid of square panels of <paramref name="panelSize"/> pixels, one per finding,
    /// 4 columns (fewer when there are fewer findings), under a title strip of 44 pixels.
    /// Each panel has its curve, the chance diagonal and "AUC 0.870" in its title; a finding whose curve is
    /// undefined (null: no positives or no negatives in the set) still gets its panel, saying so.
    /// Returns <paramref name="path"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The names and curves differ in count, or there are none.</exception>
    public static string WriteRocCurves(string path, IReadOnlyList<string> names, IReadOnlyList<RocCurve?> curves, string title,
        int panelSize = 300)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(curves);
        ArgumentOutOfRangeException.ThrowIfLessThan(panelSize, 200);
        if (names.Count != curves.Count) throw new ArgumentException($"{names.Count} findings but {curves.Count} curves");
        if (names.Count == 0) throw new ArgumentException("no findings to draw", nameof(names));

        int columns = Math.Min(4, names.Count), rows = (names.Count + columns - 1) / columns;
        int width = columns * panelSize, height = RocTitleHeight + rows * panelSize;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"could not create a {width}x{height} drawing surface");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        DrawTitle(canvas, title, width);
        for (int index = 0; index < names.Count; index++)
        {
            int row = index / columns, column = index % columns;
            using var panel = new Plot();
            bool leftColumn = column == 0, bottomOfColumn = index + columns >= names.Count;
            DrawRocPanel(panel, names[index], curves[index], leftColumn, bottomOfColumn);
            // Each panel on its own surface: a plot's render clears the whole canvas it is given.
            using var panelSurface = SKSurface.Create(new SKImageInfo(panelSize, panelSize, SKColorType.Rgba8888, SKAlphaType.Premul))
                ?? throw new InvalidOperationException($"could not create a {panelSize}x{panelSize} drawing surface");
            panel.Render(panelSurface);
            canvas.DrawSurface(panelSurface, column * panelSize, RocTitleHeight + row * panelSize);
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("could not encode the ROC chart as PNG");
        AtomicFile.WriteAllBytes(path, png.AsSpan());
        return path;
    }

    static void DrawRocPanel(Plot plot, string name, RocCurve? curve, bool leftColumn, bool bottomOfColumn)
    {
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.Color = ChanceColor;
        diagonal.LineWidth = 1.5f;
        diagonal.LinePattern = LinePattern.Dashed;
        if (curve is null)
        {
            plot.Title($"{name}: AUC undefined", size: 14);
            var note = plot.Add.Text("no positives (or no negatives)\nin this set", 0.5, 0.62);
            note.LabelFontSize = 12;
            note.LabelFontColor = new Color(0x55, 0x55, 0x55);
            note.LabelAlignment = Alignment.MiddleCenter;
            note.LabelBackgroundColor = Colors.White;
            if (SansSerifFont.FamilyName is string family) note.LabelFontName = family;
        }
        else
        {
            var line = plot.Add.ScatterLine(curve.FalsePositiveRates, curve.TruePositiveRates, RocColor);
            line.LineWidth = 2.5f;
            plot.Title(string.Create(CultureInfo.InvariantCulture, $"{name}: AUC {curve.Auc:0.000}"), size: 14);
        }

        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        var ticks = new[] { 0.0, 0.25, 0.5, 0.75, 1.0 }
            .Select(value => new Tick(value, value is 0 or 0.5 or 1 ? value.ToString("0.#", CultureInfo.InvariantCulture) : "")).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        // Axis labels only on the outer panels; the same fixed margins everywhere keep every data area square (216 px
        // of a 300 px panel) and aligned.
        if (bottomOfColumn) plot.XLabel("false positive rate", size: 12);
        if (leftColumn) plot.YLabel("true positive rate", size: 12);
        plot.Layout.Fixed(new PixelPadding(left: 52, right: 32, bottom: 44, top: 40));
        ApplyFont(plot);
    }

    static void DrawTitle(SKCanvas canvas, string title, int width)
    {
        // No installed font: the panels still render, without text.
        if (string.IsNullOrEmpty(title) || SansSerifFont.Bold is not SKTypeface typeface) return;
        using var font = new SKFont(typeface, 22) { Edging = SKFontEdging.Antialias };
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText(title, width / 2f, RocTitleHeight - 13, SKTextAlign.Center, font, paint);
    }

    /// <summary>A line through the finite points only, so an undefined epoch neither breaks the chart nor its axes.</summary>
    static ScottPlot.Plottables.Scatter AddDefinedPoints(Plot plot, double[] xs, double[] ys, Color color)
    {
        var keep = Enumerable.Range(0, ys.Length).Where(i => double.IsFinite(ys[i])).ToArray();
        return plot.Add.Scatter(keep.Select(i => xs[i]).ToArray(), keep.Select(i => ys[i]).ToArray(), color);
    }

    // The legend gives the latest epoch's value, the one the run ends with (its line shows the earlier ones).
    static string LastValue(double[] values) =>
        values.Length == 0 ? "" : double.IsFinite(values[^1]) ? values[^1].ToString("0.000", CultureInfo.InvariantCulture) : "undefined";

    static void ApplyFont(Plot plot)
    {
        // Without any installed font ScottPlot draws no text but still renders the chart.
        if (SansSerifFont.FamilyName is string family) plot.Font.Set(family);
        if (SansSerifFont.Bold is SKTypeface bold) plot.Axes.Title.Label.Font = bold;
    }
}
