using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.Tests.Training;

/// <summary>
/// Early stopping and best-epoch restore on a metric where lower is better (an error such as MAE or a loss) and
/// on one where higher is better, with the validation scores scripted per epoch so the best epoch and the stop
/// are known in advance (a real metric's path depends on floating point, and a test of "whichever epoch wins"
/// cannot tell a restore from the last epoch happening to be best).
/// </summary>
[Collection(ProcessWideState.Name)] // the Trainer seeds libtorch's generator and sets its threads
public sealed class TrainerEarlyStoppingTests
{
    /// <summary>Reports <c>scores[epoch]</c> for every sample of the epoch being validated.</summary>
    sealed class ScriptedMetric(string name, bool higherIsBetter, double[] scores) : IValidationMethod, ITrainingObserver
    {
        int _epoch;
        public string Name => name;
        public bool HigherIsBetter => higherIsBetter;

        public (double Sum, long Count) Measure(Tensor output, Tensor target) => (scores[_epoch] * target.shape[0], target.shape[0]);

        public void EpochCompleted(EpochReport report) => _epoch = report.Epoch + 1;
    }

    /// <summary>A copy of the model's weights after every epoch (the epoch's own, before any restore).</summary>
    sealed class WeightsByEpoch : ITrainingObserver
    {
        public nn.Module? Model { get; set; }
        public List<float[]> Weights { get; } = [];
        public void EpochCompleted(EpochReport report) => Weights.Add(Flatten(Model!));
    }

    static float[] Flatten(nn.Module model)
    {
        using var scope = NewDisposeScope();
        return cat(model.parameters().Select(p => p.detach().flatten()).ToArray()).data<float>().ToArray();
    }

    static InMemoryBatchSource Data(int count, int seed)
    {
        using var generator = new Generator().manual_seed(seed);
        var inputs = randn([count, 6], generator: generator);
        var targets = inputs.sum(1).gt(0).to(ScalarType.Int64);
        return new InMemoryBatchSource(inputs, targets);
    }

    static Trainer NewTrainer(ScriptedMetric metric, WeightsByEpoch weights, int epochs, int? patience, bool restore) =>
        new(() => nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2)), parameters => optim.Adam(parameters, lr: 0.01),
            (output, target) => nn.functional.cross_entropy(output, target), new TrainerSettings
            {
                GlobalBatchSize = 16, Epochs = epochs, Seed = 3, Master = LocalMaster.Parse("local[1]", cores: 2),
                ValidationMethods = [metric], MonitoredMetric = metric.Name, RestoreBestEpoch = restore, EarlyStoppingPatience = patience,
                Observers = [metric, weights],
            });

    [Theory]
    // An error (lower is better): best 0.60 at epoch 2, three epochs without improving on it, stop after epoch 5.
    [InlineData("mae", false, new[] { 0.90, 0.60, 0.70, 0.65, 0.61, 0.10, 0.05, 0.01 })]
    // The same path as a score (higher is better): the direction must come from the method, not be assumed.
    [InlineData("accuracy", true, new[] { 0.10, 0.40, 0.30, 0.35, 0.39, 0.90, 0.95, 0.99 })]
    public void Training_stops_after_patience_epochs_without_improvement_and_ends_with_the_best_epochs_weights(string name, bool higherIsBetter, double[] scores)
    {
        using var train = Data(96, seed: 1);
        using var validation = Data(32, seed: 2);
        var metric = new ScriptedMetric(name, higherIsBetter, scores);
        var weights = new WeightsByEpoch();
        using var trainer = NewTrainer(metric, weights, epochs: scores.Length, patience: 3, restore: true);
        weights.Model = trainer.Model;

        var result = trainer.Fit(train, validation);

        Assert.True(result.StoppedEarly);
        Assert.Equal(5, result.EpochsCompleted); // epochs 3, 4 and 5 did not beat epoch 2; the better ones after are never reached
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal(scores[1], result.Epochs[1].Validation[name], 12);
        // The restored weights are a copy of epoch 2's, not a recomputation, so they are equal exactly.
        Assert.Equal(weights.Weights[1], Flatten(trainer.Model));
        Assert.NotEqual(weights.Weights[4], Flatten(trainer.Model));
    }

    [Fact]
    public void Without_patience_every_epoch_runs_and_the_best_one_is_still_restored()
    {
        double[] scores = [0.9, 0.6, 0.7, 0.65, 0.61];
        using var train = Data(96, seed: 1);
        using var validation = Data(32, seed: 2);
        var metric = new ScriptedMetric("rmse", higherIsBetter: false, scores);
        var weights = new WeightsByEpoch();
        using var trainer = NewTrainer(metric, weights, epochs: scores.Length, patience: null, restore: true);
        weights.Model = trainer.Model;

        var result = trainer.Fit(train, validation);

        Assert.False(result.StoppedEarly);
        Assert.Equal(5, result.EpochsCompleted);
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal(weights.Weights[1], Flatten(trainer.Model));
    }

    [Fact]
    public void Early_stopping_without_restore_stops_but_keeps_the_last_epochs_weights()
    {
        double[] scores = [0.5, 0.6, 0.7, 0.8, 0.9];
        using var train = Data(96, seed: 1);
        using var validation = Data(32, seed: 2);
        var metric = new ScriptedMetric("loss", higherIsBetter: false, scores);
        var weights = new WeightsByEpoch();
        using var trainer = NewTrainer(metric, weights, epochs: scores.Length, patience: 2, restore: false);
        weights.Model = trainer.Model;

        var result = trainer.Fit(train, validation);

        Assert.True(result.StoppedEarly);
        Assert.Equal(3, result.EpochsCompleted);
        Assert.Null(result.BestEpoch);
        Assert.Equal(weights.Weights[2], Flatten(trainer.Model));
    }

    [Fact]
    public void A_monitored_metric_that_no_validation_method_reports_is_refused_rather_than_never_judged()
    {
        var metric = new ScriptedMetric("mae", higherIsBetter: false, [0.5]);
        var error = Assert.Throws<ArgumentException>(() => new Trainer(() => nn.Linear(6, 2), parameters => optim.Adam(parameters),
            (output, target) => nn.functional.cross_entropy(output, target), new TrainerSettings
            {
                GlobalBatchSize = 16, Epochs = 2, Master = LocalMaster.Parse("local[1]", cores: 2),
                ValidationMethods = [metric], MonitoredMetric = "rmse", RestoreBestEpoch = true,
            }));
        Assert.Contains("\"rmse\"", error.Message);
        Assert.Contains("mae", error.Message);
    }
}
