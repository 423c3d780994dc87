using System.Globalization;
using Recipes.Runtime.IO;
using Recipes.Runtime.Summaries;
using ScottPlot;
using SkiaSharp;

namespace Recipes.ObjectDetection;

/// <summary>The precision-recall curves of a <see cref="VocEvaluationResult"/> as one PNG, rendered headless with ScottPlot.</summary>
public static class PrecisionRecallChart
{
    // Twenty colours cover the VOC classes; beyond them the colours repeat with dashed lines.
    static readonly IPalette Palette = new ScottPlot.Palettes.Category20();
    const int PaletteSize = 20;

    static Color ClassColor(int index) => Palette.GetColor(index % PaletteSize);

    static LinePattern ClassPattern(int index) => index < PaletteSize ? LinePattern.Solid : LinePattern.Dashed;

    /// <summary>
    /// Writes one curve per class: its raw (recall, precision) points in ranked order, as the devkit plots them
    /// (the AP interpolates them; the curve does not). The legend, right of the data area, lists every class in
    /// order as "class (AP 0.xx)", also those without a curve: "(AP 0.00)" for ground truth with no detection and
    /// "(no ground truth)" when the AP is undefined. The title gets the mAP appended. Returns <paramref name="path"/>.
    /// </summary>
    public static string Write(string path, VocEvaluationResult result, string title, int width = 1000, int height = 700)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 300);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 200);

        using var plot = new Plot();
        for (int c = 0; c < result.PerClass.Count; c++)
        {
            var row = result.PerClass[c];
            var color = ClassColor(c);
            if (row.Recall.Count > 0)
            {
                var line = plot.Add.ScatterLine(row.Recall.ToArray(), row.Precision.ToArray(), color);
                line.LineWidth = 2;
                line.LinePattern = ClassPattern(c);
            }
            // Legend entries are added by hand so that classes without a curve are listed too, in class order.
            plot.Legend.ManualItems.Add(new LegendItem
            {
                LabelText = row.AveragePrecision is double ap
                    ? string.Create(CultureInfo.InvariantCulture, $"{row.ClassName} (AP {ap:0.00})")
                    : $"{row.ClassName} (no ground truth)",
                LineColor = color,
                LineWidth = 2,
                LinePattern = ClassPattern(c),
                MarkerShape = MarkerShape.None,
            });
        }

        plot.Axes.SetLimits(-0.01, 1.01, -0.01, 1.02);
        // Ticks every 0.1 on both axes: the automatic 0.05 steps crowd a 0..1 axis.
        var ticks = Enumerable.Range(0, 11).Select(k => new Tick(k / 10.0, (k / 10.0).ToString("0.0", CultureInfo.InvariantCulture))).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        string mean = double.IsNaN(result.MeanAveragePrecision) ? "undefined"
            : result.MeanAveragePrecision.ToString("0.000", CultureInfo.InvariantCulture);
        string method = result.Interpolation == ApInterpolation.AllPoints ? "all-point" : "11-point";
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{title}  (mAP {mean}, {method}, IoU {result.IouThreshold:0.##})"), size: 18);
        plot.XLabel("recall");
        plot.YLabel("precision");
        // Outside the data area: twenty entries would cover the curves.
        plot.ShowLegend(Edge.Right);
        plot.Legend.SymbolWidth = 30;
        // Without any installed font ScottPlot draws no text but still renders the chart.
        if (SansSerifFont.FamilyName is string family)
        {
            plot.Font.Set(family);
            // Hand-made legend items keep their own font unless the legend overrides it.
            plot.Legend.FontName = family;
        }
        if (SansSerifFont.Bold is SKTypeface bold) plot.Axes.Title.Label.Font = bold;

        using var image = plot.GetImage(width, height);
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
        return path;
    }
}
