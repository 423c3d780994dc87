using Recipes.Runtime.Metrics;
using Recipes.Tests.Summaries;
using Recipes.Xray;
using SkiaSharp;

namespace Recipes.Tests.Xray;

public class XrayChartsTests
{
    // The colours the charts give the first two findings (Category10), the mean, the ROC curves and the chance lines.
    static readonly SKColor FirstFindingColor = new(0x1F, 0x77, 0xB4);
    static readonly SKColor SecondFindingColor = new(0xFF, 0x7F, 0x0E);
    static readonly SKColor MeanColor = new(0x00, 0x00, 0x00);
    static readonly SKColor RocColor = new(0xD6, 0x27, 0x28);
    static readonly SKColor ChanceColor = new(0x88, 0x96, 0xA6);

    static readonly string[] ThreeFindings = ["Atelectasis", "Cardiomegaly", "Effusion"];
    static readonly int[] FourEpochs = [1, 2, 3, 4];

    static double[][] RisingAuc() =>
    [
        [0.80, 0.70, 0.60],
        [0.83, 0.75, 0.62],
        [0.86, 0.78, 0.65],
        [0.90, 0.80, 0.66],
    ];

    static double[] MeansOf(double[][] rows) => rows.Select(row => row.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average()).ToArray();

    [Fact]
    public void AUC_history_is_a_png_of_the_requested_size_with_each_finding_and_the_mean_in_the_data_area()
    {
        using var folder = new TemporaryFolder();
        var rows = RisingAuc();
        string path = XrayCharts.WriteAucHistory(folder.File("charts/auc.png"), ThreeFindings, FourEpochs, rows, MeansOf(rows), "validation AUC");
        Assert.Equal(folder.File("charts/auc.png"), path);

        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((1100, 650), (bitmap.Width, bitmap.Height));
        // The legend sits right of the data area; the lines and markers must be drawn left of it.
        var dataArea = new SKRectI(0, 0, bitmap.Width * 7 / 10, bitmap.Height);
        Assert.True(Count(bitmap, FirstFindingColor, dataArea) > 50, "first finding not drawn");
        Assert.True(Count(bitmap, SecondFindingColor, dataArea) > 50, "second finding not drawn");
        // 0.80 -> 0.90 on an axis 0.4..1 spans a sixth of the data area's height.
        Assert.InRange(VerticalExtent(bitmap, FirstFindingColor, dataArea), 60, 140);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));

        string small = XrayCharts.WriteAucHistory(folder.File("small.png"), ThreeFindings, FourEpochs, rows, MeansOf(rows), "small", width: 640, height: 400);
        using var smallBitmap = SKBitmap.Decode(small);
        Assert.Equal((640, 400), (smallBitmap.Width, smallBitmap.Height));
    }

    [Fact]
    public void The_mean_is_drawn_as_a_bold_line()
    {
        using var folder = new TemporaryFolder();
        var rows = RisingAuc();
        string withMean = XrayCharts.WriteAucHistory(folder.File("mean.png"), ThreeFindings, FourEpochs, rows, MeansOf(rows), "with mean");
        string withoutMean = XrayCharts.WriteAucHistory(folder.File("no-mean.png"), ThreeFindings, FourEpochs, rows, [double.NaN, double.NaN, double.NaN, double.NaN], "with mean");

        // Text and the frame are black too: compare with the same chart whose mean is undefined everywhere.
        using var bitmap = SKBitmap.Decode(withMean);
        using var reference = SKBitmap.Decode(withoutMean);
        var dataArea = new SKRectI(0, 0, bitmap.Width * 7 / 10, bitmap.Height);
        int meanPixels = Count(bitmap, MeanColor, dataArea) - Count(reference, MeanColor, dataArea);
        Assert.True(meanPixels > 1000, $"the mean line adds only {meanPixels} black pixels");
    }

    [Fact]
    public void Undefined_AUC_points_are_skipped_and_a_low_value_widens_the_axis()
    {
        using var folder = new TemporaryFolder();
        double[][] rows =
        [
            [0.80, double.NaN, double.NaN],
            [double.NaN, double.NaN, 0.62],
            [0.86, double.NaN, 0.65],
            [0.90, double.NaN, 0.66],
        ];
        string path = XrayCharts.WriteAucHistory(folder.File("nan.png"), ThreeFindings, FourEpochs, rows, MeansOf(rows), "with NaN");
        using var bitmap = SKBitmap.Decode(path);
        var dataArea = new SKRectI(0, 0, bitmap.Width * 7 / 10, bitmap.Height);
        Assert.True(Count(bitmap, FirstFindingColor, dataArea) > 50, "a finding with an undefined epoch was not drawn");
        Assert.Equal(0, Count(bitmap, SecondFindingColor, dataArea)); // never defined: nothing to draw
        int normalExtent = VerticalExtent(bitmap, FirstFindingColor, dataArea);
        Assert.InRange(normalExtent, 60, 140); // NaN did not stretch the axis

        double[][] withLowValue = rows.Select(row => row.ToArray()).ToArray();
        withLowValue[0][1] = 0.12;
        string low = XrayCharts.WriteAucHistory(folder.File("low.png"), ThreeFindings, FourEpochs, withLowValue, MeansOf(withLowValue), "low");
        using var lowBitmap = SKBitmap.Decode(low);
        Assert.True(Count(lowBitmap, SecondFindingColor, dataArea) > 3, "a value below 0.4 fell off the chart");
        Assert.True(VerticalExtent(lowBitmap, FirstFindingColor, dataArea) < normalExtent * 0.8, "the axis did not widen for a value below 0.4");
    }

    [Fact]
    public void AUC_history_refuses_rows_that_do_not_match()
    {
        using var folder = new TemporaryFolder();
        var rows = RisingAuc();
        Assert.Throws<ArgumentException>(() => XrayCharts.WriteAucHistory(folder.File("a.png"), ThreeFindings, [1, 2, 3], rows, MeansOf(rows), "t"));
        Assert.Throws<ArgumentException>(() => XrayCharts.WriteAucHistory(folder.File("b.png"), ThreeFindings, FourEpochs, rows, [0.7, 0.7], "t"));
        Assert.Contains("epoch 1 has 3 per-class AUC values for 2 findings",
            Assert.Throws<ArgumentException>(() => XrayCharts.WriteAucHistory(folder.File("c.png"), ["a", "b"], FourEpochs, rows, MeansOf(rows), "t")).Message);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    static RocCurve SeparatingCurve(int seed)
    {
        var random = new Random(seed);
        var positives = Enumerable.Range(0, 400).Select(_ => random.NextDouble() < 0.2).ToArray();
        var scores = positives.Select(positive => (float)(random.NextDouble() + (positive ? 0.5 : 0))).ToArray();
        return AucRoc.Curve(scores, positives)!;
    }

    [Fact]
    public void ROC_panels_form_a_grid_and_an_undefined_finding_still_gets_its_panel()
    {
        using var folder = new TemporaryFolder();
        RocCurve?[] curves = [SeparatingCurve(1), null, SeparatingCurve(2)];
        string path = XrayCharts.WriteRocCurves(folder.File("roc/roc.png"), ThreeFindings, curves, "test ROC", panelSize: 200);

        using var bitmap = SKBitmap.Decode(path);
        // Three findings: three columns of 200 px squares under the 44 px title strip.
        Assert.Equal((600, 244), (bitmap.Width, bitmap.Height));
        for (int panel = 0; panel < 3; panel++)
            Assert.True(CountNear(bitmap, ChanceColor, Panel(panel, 3, 200)) > 20, $"panel {panel} has no chance diagonal");
        Assert.True(Count(bitmap, RocColor, Panel(0, 3, 200)) > 50, "first curve not drawn");
        Assert.True(Count(bitmap, RocColor, Panel(2, 3, 200)) > 50, "third curve not drawn");
        Assert.Equal(0, Count(bitmap, RocColor, Panel(1, 3, 200)));
        Assert.Equal(0, Count(bitmap, RocColor, new SKRectI(0, 0, 600, 44))); // nothing drawn over the title strip
    }

    [Fact]
    public void Fourteen_findings_make_four_rows_of_four_columns()
    {
        using var folder = new TemporaryFolder();
        var names = ChestXrayFindings.Names;
        var curves = names.Select((_, index) => index == 13 ? null : SeparatingCurve(index)).ToArray();
        string path = XrayCharts.WriteRocCurves(folder.File("roc.png"), names, curves, "test ROC");

        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((1200, 44 + 4 * 300), (bitmap.Width, bitmap.Height));
        for (int panel = 0; panel < 13; panel++)
            Assert.True(Count(bitmap, RocColor, Panel(panel, 4, 300)) > 50, $"panel {panel} has no curve");
        Assert.Equal(0, Count(bitmap, RocColor, Panel(13, 4, 300)));
        Assert.True(CountNear(bitmap, ChanceColor, Panel(13, 4, 300)) > 20, "the undefined panel was not drawn");
        // The last row holds two panels; the rest of it stays empty.
        Assert.Equal(0, CountNear(bitmap, ChanceColor, Panel(14, 4, 300)) + CountNear(bitmap, ChanceColor, Panel(15, 4, 300)));
    }

    [Fact]
    public void ROC_chart_refuses_mismatched_lists()
    {
        using var folder = new TemporaryFolder();
        Assert.Throws<ArgumentException>(() => XrayCharts.WriteRocCurves(folder.File("a.png"), ThreeFindings, [null, null], "t"));
        Assert.Throws<ArgumentException>(() => XrayCharts.WriteRocCurves(folder.File("b.png"), [], [], "t"));
    }

    static SKRectI Panel(int index, int columns, int size) =>
        SKRectI.Create(index % columns * size, 44 + index / columns * size, size, size);

    static int Count(SKBitmap bitmap, SKColor color, SKRectI area) => CountWhere(bitmap, area, pixel => pixel == color);

    // Thin antialiased lines (the dashed diagonal) rarely cover a pixel fully: accept close shades.
    static int CountNear(SKBitmap bitmap, SKColor color, SKRectI area) =>
        CountWhere(bitmap, area, pixel => Math.Abs(pixel.Red - color.Red) <= 12 && Math.Abs(pixel.Green - color.Green) <= 12 && Math.Abs(pixel.Blue - color.Blue) <= 12);

    static int CountWhere(SKBitmap bitmap, SKRectI area, Func<SKColor, bool> matches)
    {
        int count = 0;
        for (int y = Math.Max(0, area.Top); y < Math.Min(bitmap.Height, area.Bottom); y++)
            for (int x = Math.Max(0, area.Left); x < Math.Min(bitmap.Width, area.Right); x++)
                if (matches(bitmap.GetPixel(x, y))) count++;
        return count;
    }

    static int VerticalExtent(SKBitmap bitmap, SKColor color, SKRectI area)
    {
        var rows = Enumerable.Range(area.Top, area.Height)
            .Where(y => Enumerable.Range(area.Left, area.Width).Any(x => bitmap.GetPixel(x, y) == color)).ToArray();
        return rows.Length == 0 ? 0 : rows.Max() - rows.Min();
    }
}
