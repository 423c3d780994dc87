using Recipes.Runtime.Training;

namespace Recipes.Runtime.Summaries;

/// <summary>
/// Records a training run as it happens: TensorBoard scalars (per step: loss, learning rate, throughput;
/// per epoch: training loss and every validation metric) and the same history as <c>history.csv</c> /
/// <c>history.json</c>, from which <see cref="WriteChart"/> draws the PNG. Epochs are numbered from 1
/// here, as people count them. A resumed run continues the history it finds.
/// </summary>
public sealed class TrainingSummaries : ITrainingObserver, IDisposable
{
    readonly TensorBoardWriter _events;
    readonly TrainingHistory _history;

    public TrainingSummaries(string folder, bool resume)
    {
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Folder);
        _history = resume ? TrainingHistory.LoadOrCreate(Folder) : new TrainingHistory();
        _events = new TensorBoardWriter(Folder);
    }

    public string Folder { get; }
    public TrainingHistory History => _history;

    public void TrainingStarted(int firstEpoch, int epochs, int batchesPerEpoch, int sampleCount) =>
        // Epochs after the checkpoint's will be trained (and recorded) again.
        _history.DiscardAfterEpoch(firstEpoch);

    public void IterationCompleted(IterationReport report)
    {
        _history.RecordIterationLoss(report.Epoch + 1, report.Iteration, report.Loss);
        _events.AddScalars(report.Iteration,
        [
            KeyValuePair.Create("train/loss", (float)report.Loss),
            KeyValuePair.Create("train/learning_rate", (float)report.LearningRate),
            KeyValuePair.Create("train/samples_per_second", (float)report.SamplesPerSecond),
        ]);
    }

    public void ValidationCompleted(int epoch, long iteration, IReadOnlyDictionary<string, double> scores) =>
        _events.AddScalars(iteration, scores.Select(pair => KeyValuePair.Create($"validation/{pair.Key}", (float)pair.Value)));

    public void EpochCompleted(EpochReport report)
    {
        var metrics = new Dictionary<string, double>
        {
            [TrainingMetricNames.TrainLoss] = report.TrainLoss,
            [TrainingMetricNames.LearningRate] = report.LearningRate,
            [TrainingMetricNames.SamplesPerSecond] = report.SamplesPerSecond,
            [TrainingMetricNames.Seconds] = report.Seconds,
            ["memory_mb"] = report.ProcessMemoryMegabytes,
        };
        foreach (var (name, value) in report.Validation) metrics[$"val_{name}"] = value;
        _history.RecordEpoch(report.Epoch + 1, metrics);
        _history.Save(Folder);
        _events.AddScalars(report.Iteration,
            metrics.Where(pair => pair.Key != TrainingMetricNames.Seconds)
                   .Select(pair => KeyValuePair.Create(pair.Key.StartsWith("val_", StringComparison.Ordinal) ? $"validation/{pair.Key[4..]}" : $"epoch/{pair.Key}", (float)pair.Value)));
    }

    public void TrainingFinished(TrainingResult result) => _history.Save(Folder);

    /// <summary>Draws the loss and validation-metric chart of the history so far.</summary>
    /// <param name="validationMetrics">The validation metrics to draw, as named in the history (<c>val_accuracy</c>); all when null.</param>
    public string WriteChart(string pngPath, string title, IReadOnlyList<string>? validationMetrics = null)
    {
        TrainingCharts.WriteLossAndMetricChart(_history, pngPath, title, validationMetrics);
        return Path.GetFullPath(pngPath);
    }

    public void Dispose() => _events.Dispose();
}
