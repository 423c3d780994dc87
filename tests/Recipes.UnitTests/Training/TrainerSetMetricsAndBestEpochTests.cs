using Recipes.Mnist;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.Tests.Training;

[Collection(ProcessWideState.Name)] // the Trainer seeds libtorch's generator and sets its threads
public sealed class TrainerSetMetricsAndBestEpochTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"trainer-best-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    static InMemoryBatchSource Digits(int count, int seed)
    {
        using var generator = new Generator().manual_seed(seed);
        var inputs = randn([count, 1, 28, 28], generator: generator);
        var targets = inputs.mean([1, 2, 3]).gt(0).to(ScalarType.Int64) + inputs[.., 0, 0, 0].gt(0).to(ScalarType.Int64) * 2;
        return new InMemoryBatchSource(inputs, targets);
    }

    /// <summary>Keeps every sample's first output and target, and reports their row-wise sums and the rows seen, so
    /// the test can check that every row was filled exactly once by the replica that computed it.</summary>
    sealed class RecordingMethod : ISetValidationMethod
    {
        public int ValuesPerSample => 2;
        public bool HigherIsBetter => true;
        public double[]? LastRows;

        public void Record(Tensor output, Tensor target, Span<double> rows)
        {
            float[] first = output[.., 0].contiguous().data<float>().ToArray();
            long[] labels = target.data<long>().ToArray();
            for (int i = 0; i < first.Length; i++)
            {
                rows[2 * i] = first[i];
                rows[2 * i + 1] = labels[i] + 1; // never 0, so an unfilled row shows
            }
        }

        public IReadOnlyDictionary<string, double> Score(ReadOnlySpan<double> rows, int sampleCount)
        {
            double[] all = rows.ToArray();
            LastRows = all;
            return new Dictionary<string, double> { ["filled_rows"] = Enumerable.Range(0, sampleCount).Count(i => all[2 * i + 1] > 0) };
        }
    }

    static Trainer NewTrainer(TrainerSettings settings) =>
        new(() => new LeNet5(4), parameters => optim.Adam(parameters, lr: 0.002), (output, target) => nn.functional.cross_entropy(output, target), settings);

    [Fact]
    public void A_set_validation_method_sees_every_sample_once_in_sample_order_with_two_replicas()
    {
        using var data = Digits(103, seed: 3);
        var method = new RecordingMethod();
        using var trainer = NewTrainer(new TrainerSettings
        {
            GlobalBatchSize = 16, Epochs = 1, Seed = 7, Master = LocalMaster.Parse("local[2]", cores: 2),
            ValidationMethods = [new Top1Accuracy()], SetValidationMethods = [method],
        });
        var scores = trainer.Evaluate(data, trainer.Settings.ValidationMethods);
        Assert.Equal(103, scores["filled_rows"]);

        trainer.Model.eval();
        using var noGrad = no_grad();
        var (input, target) = data.GetBatch(Enumerable.Range(0, 103).ToArray());
        float[] expected = trainer.Model.forward(input)[.., 0].contiguous().data<float>().ToArray();
        long[] labels = target.data<long>().ToArray();
        for (int i = 0; i < 103; i++)
        {
            // Replicas run 1 thread each here, the direct call 2: equal up to float32 summation order.
            Assert.Equal(expected[i], method.LastRows![2 * i], 4);
            Assert.Equal(labels[i] + 1, method.LastRows[2 * i + 1]);
        }
    }

    [Fact]
    public void Training_ends_with_the_weights_of_the_best_validation_epoch_and_a_resume_remembers_it()
    {
        using var train = Digits(256, seed: 5);
        using var validation = Digits(64, seed: 6);
        // A rate this high makes later epochs worse than earlier ones often enough to matter; whichever epoch
        // wins, the model must end with its weights.
        TrainerSettings Settings(int epochs, bool resume) => new()
        {
            GlobalBatchSize = 32, Epochs = epochs, Seed = 7, Master = LocalMaster.Parse("local[1]", cores: 2),
            ValidationMethods = [new Top1Accuracy(), new LossValidation((o, t) => nn.functional.cross_entropy(o, t))],
            MonitoredMetric = "loss", RestoreBestEpoch = true, CheckpointFolder = _folder, Resume = resume,
        };
        using var trainer = NewTrainer(Settings(epochs: 4, resume: false));
        var result = trainer.Fit(train, validation);
        var losses = result.Epochs.Select(epoch => epoch.Validation["loss"]).ToArray();
        int best = Array.IndexOf(losses, losses.Min());
        Assert.Equal(best, result.BestEpoch);
        var final = trainer.Evaluate(validation, trainer.Settings.ValidationMethods);
        Assert.Equal(losses[best], final["loss"], 5);
        Assert.True(File.Exists(Path.Combine(_folder, BestEpochWeights.FileName)));

        // Two more epochs from the checkpoint (the last epoch's weights): the best of all six is kept.
        using var resumed = NewTrainer(Settings(epochs: 6, resume: true));
        var more = resumed.Fit(train, validation);
        double[] all = [.. losses, .. more.Epochs.Skip(4).Select(epoch => epoch.Validation["loss"])];
        int bestOfAll = Array.IndexOf(all, all.Min());
        Assert.Equal(bestOfAll, more.BestEpoch);
        Assert.Equal(all[bestOfAll], resumed.Evaluate(validation, resumed.Settings.ValidationMethods)["loss"], 5);
    }
}
