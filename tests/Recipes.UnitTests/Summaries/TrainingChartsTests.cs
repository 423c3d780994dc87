using Recipes.Runtime.Summaries;
using SkiaSharp;

namespace Recipes.Tests.Summaries;

public class TrainingChartsTests
{
    // The colours the chart gives the per-epoch train loss and the first validation metric.
    static readonly SKColor TrainLossColor = new(0x00, 0x00, 0x80);
    static readonly SKColor FirstMetricColor = new(0x2C, 0xA0, 0x2C);

    static TrainingHistory SmallHistory(bool withAccuracy)
    {
        var history = new TrainingHistory();
        long iteration = 0;
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            for (int step = 0; step < 10; step++) history.RecordIterationLoss(epoch, ++iteration, 2.3 / Math.Sqrt(iteration));
            var metrics = new Dictionary<string, double> { ["train_loss"] = 1.0 / epoch, ["val_loss"] = 1.2 / epoch, ["learning_rate"] = 0.01 };
            if (withAccuracy) metrics["val_accuracy"] = 0.8 + epoch * 0.05;
            history.RecordEpoch(epoch, metrics);
        }
        return history;
    }

    [Fact]
    public void Chart_is_a_png_of_the_requested_size_with_both_panels_drawn()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("charts/loss.png");
        TrainingCharts.WriteLossAndMetricChart(SmallHistory(withAccuracy: true), path, "LeNet-5 on MNIST", width: 640, height: 480);

        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal(640, bitmap.Width);
        Assert.Equal(480, bitmap.Height);
        Assert.True(ContainsColor(bitmap, TrainLossColor), "no per-epoch train loss drawn");
        Assert.True(ContainsColor(bitmap, FirstMetricColor), "no validation metric drawn");
        Assert.Equal(["loss.png"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Without_validation_metrics_only_the_loss_panel_is_drawn()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("loss.png");
        TrainingCharts.WriteLossAndMetricChart(SmallHistory(withAccuracy: false), path, "losses only");

        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal(1000, bitmap.Width);
        Assert.Equal(800, bitmap.Height);
        Assert.True(ContainsColor(bitmap, TrainLossColor));
        Assert.False(ContainsColor(bitmap, FirstMetricColor));
    }

    [Fact]
    public void Chosen_metrics_go_in_the_lower_panel()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("lr.png");
        TrainingCharts.WriteLossAndMetricChart(SmallHistory(withAccuracy: false), path, "learning rate", validationMetricNames: ["learning_rate"]);

        using var bitmap = SKBitmap.Decode(path);
        Assert.True(ContainsColor(bitmap, FirstMetricColor));
    }

    [Fact]
    public void An_empty_history_still_gives_a_chart()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("empty.png");
        TrainingCharts.WriteLossAndMetricChart(new TrainingHistory(), path, "nothing yet", width: 300, height: 200);

        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((300, 200), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void Non_finite_values_of_a_diverged_run_are_left_out_rather_than_breaking_the_chart()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("diverged.png");
        var history = SmallHistory(withAccuracy: true);
        history.RecordIterationLoss(4, 1000, double.NaN);
        history.RecordIterationLoss(4, 1001, double.PositiveInfinity);
        history.RecordEpoch(4, new Dictionary<string, double> { ["train_loss"] = double.NaN, ["val_accuracy"] = double.NegativeInfinity });
        TrainingCharts.WriteLossAndMetricChart(history, path, "diverged", width: 640, height: 480);

        // Accuracy rising from 0.85 to 0.95 must fill most of its panel; an axis stretched by an infinity would flatten it.
        using var bitmap = SKBitmap.Decode(path);
        Assert.True(VerticalExtent(bitmap, FirstMetricColor) > 100, $"accuracy spans only {VerticalExtent(bitmap, FirstMetricColor)} px");
        Assert.True(VerticalExtent(bitmap, TrainLossColor) > 30, $"train loss spans only {VerticalExtent(bitmap, TrainLossColor)} px");
    }

    static int VerticalExtent(SKBitmap bitmap, SKColor color)
    {
        var rows = Enumerable.Range(0, bitmap.Height).Where(y => Enumerable.Range(0, bitmap.Width).Any(x => bitmap.GetPixel(x, y) == color)).ToArray();
        return rows.Length == 0 ? 0 : rows.Max() - rows.Min();
    }

    static bool ContainsColor(SKBitmap bitmap, SKColor color) => bitmap.Pixels.Contains(color);
}
