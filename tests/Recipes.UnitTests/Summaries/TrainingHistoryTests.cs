using Recipes.Runtime.Data;
using Recipes.Runtime.Summaries;

namespace Recipes.Tests.Summaries;

public class TrainingHistoryTests
{
    static TrainingHistory ThreeEpochs()
    {
        var history = new TrainingHistory();
        long iteration = 0;
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            for (int step = 0; step < 4; step++) history.RecordIterationLoss(epoch, ++iteration, 2.0 / iteration);
            var metrics = new Dictionary<string, double>
            {
                [TrainingMetricNames.TrainLoss] = 1.0 / epoch,
                [TrainingMetricNames.ValidationLoss] = 1.1 / epoch,
                [TrainingMetricNames.LearningRate] = 0.1 * Math.Pow(0.5, epoch - 1),
            };
            // Accuracy is measured from the second epoch on, to show how a missing value is kept.
            if (epoch > 1) metrics[TrainingMetricNames.ValidationAccuracy] = 0.9 + epoch / 100.0;
            history.RecordEpoch(epoch, metrics);
        }
        return history;
    }

    [Fact]
    public void Json_round_trip_restores_every_epoch_metric_and_iteration()
    {
        using var folder = new TemporaryFolder();
        var original = ThreeEpochs();
        original.RecordIterationLoss(3, 1000, double.NaN);
        original.Save(folder.Path);

        var loaded = TrainingHistory.Load(folder.File(TrainingHistory.JsonFileName));

        Assert.Equal(original.MetricNames, loaded.MetricNames);
        Assert.Equal(original.Iterations, loaded.Iterations);
        Assert.True(double.IsNaN(loaded.Iterations[^1].Loss));
        Assert.Equal(original.Epochs.Count, loaded.Epochs.Count);
        for (int index = 0; index < original.Epochs.Count; index++)
        {
            Assert.Equal(original.Epochs[index].Epoch, loaded.Epochs[index].Epoch);
            Assert.Equal(original.Epochs[index].Metrics.OrderBy(pair => pair.Key), loaded.Epochs[index].Metrics.OrderBy(pair => pair.Key));
        }
        Assert.Null(loaded.Epochs[0][TrainingMetricNames.ValidationAccuracy]);
        Assert.Equal(0.93, loaded.Epochs[2][TrainingMetricNames.ValidationAccuracy]);
    }

    [Fact]
    public void Csv_has_one_row_per_epoch_with_columns_in_first_seen_order_and_gaps_left_empty()
    {
        using var folder = new TemporaryFolder();
        ThreeEpochs().Save(folder.Path);

        string[] lines = File.ReadAllLines(folder.File(TrainingHistory.CsvFileName));
        Assert.Equal(
        [
            "epoch,train_loss,val_loss,learning_rate,val_accuracy",
            "1,1,1.1,0.1,",
            "2,0.5,0.55,0.05,0.92",
            "3,0.3333333333333333,0.3666666666666667,0.025,0.93",
        ], lines);
    }

    [Fact]
    public void Saving_leaves_exactly_the_two_files_and_no_temporaries()
    {
        using var folder = new TemporaryFolder();
        var history = ThreeEpochs();
        history.Save(folder.Path);
        history.Save(folder.Path);
        Assert.Equal(
            [TrainingHistory.CsvFileName, TrainingHistory.JsonFileName],
            Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_resumed_run_continues_its_history_after_the_checkpointed_epoch()
    {
        using var folder = new TemporaryFolder();
        Assert.Empty(TrainingHistory.LoadOrCreate(folder.Path).Epochs);
        ThreeEpochs().Save(folder.Path);

        // The run crashed after epoch 3 was logged but its checkpoint is from epoch 2.
        var resumed = TrainingHistory.LoadOrCreate(folder.Path);
        resumed.DiscardAfterEpoch(2);
        Assert.Equal([1, 2], resumed.Epochs.Select(record => record.Epoch));
        Assert.Equal(8, resumed.Iterations.Count);
        resumed.RecordIterationLoss(3, 9, 0.2);
        resumed.RecordEpoch(3, new Dictionary<string, double> { [TrainingMetricNames.TrainLoss] = 0.3 });
        resumed.Save(folder.Path);

        var reloaded = TrainingHistory.Load(folder.File(TrainingHistory.JsonFileName));
        Assert.Equal([(1, 1.0), (2, 0.5), (3, 0.3)], reloaded.MetricSeries(TrainingMetricNames.TrainLoss));
        Assert.Equal(9, reloaded.Iterations.Count);
    }

    [Fact]
    public void Discarding_epochs_drops_metrics_no_remaining_epoch_has()
    {
        var history = ThreeEpochs();
        history.DiscardAfterEpoch(1);
        Assert.DoesNotContain(TrainingMetricNames.ValidationAccuracy, history.MetricNames);
    }

    [Fact]
    public void Epochs_and_iterations_must_increase()
    {
        var history = ThreeEpochs();
        Assert.Throws<InvalidOperationException>(() => history.RecordEpoch(3, new Dictionary<string, double>()));
        Assert.Throws<InvalidOperationException>(() => history.RecordIterationLoss(3, 12, 0.1));
    }

    [Fact]
    public void Metric_series_skips_epochs_that_did_not_record_the_metric()
    {
        Assert.Equal([(2, 0.92), (3, 0.93)], ThreeEpochs().MetricSeries(TrainingMetricNames.ValidationAccuracy));
        Assert.Empty(ThreeEpochs().MetricSeries("no_such_metric"));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[1, 2, 3]")]
    [InlineData("""{"epochs": [{"epoch": 1}], "iterations": []}""")]
    [InlineData("""{"epochs": [{"metrics": {"train_loss": 1}}], "iterations": []}""")]
    [InlineData("""{"epochs": [], "iterations": [{"epoch": 1, "iteration": 2, "loss": "high"}]}""")]
    [InlineData("""{"epochs": [{"epoch": 2, "metrics": {}}, {"epoch": 1, "metrics": {}}], "iterations": []}""")]
    [InlineData("""{"iterations": []}""")]
    public void A_malformed_history_file_is_reported_with_its_path(string content)
    {
        using var folder = new TemporaryFolder();
        string path = folder.File(TrainingHistory.JsonFileName);
        File.WriteAllText(path, content);
        var error = Assert.Throws<DataFileException>(() => TrainingHistory.Load(path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains("not a valid training history", error.Problem);
    }
}
