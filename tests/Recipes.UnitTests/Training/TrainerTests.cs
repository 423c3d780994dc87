using Recipes.Mnist;
using Recipes.Runtime.Data;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Training;

[Collection(ProcessWideState.Name)] // the Trainer seeds libtorch's generator; repeatability and memory growth are checked
public sealed class TrainerTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"trainer-tests-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Random 28x28 "images" with labels that depend on them, so the loss really moves.</summary>
    static InMemoryBatchSource SyntheticDigits(int count, int seed, ScalarType precision = ScalarType.Float32)
    {
        using var generator = new Generator().manual_seed(seed);
        var inputs = randn([count, 1, 28, 28], dtype: precision, generator: generator);
        var targets = inputs.mean([1, 2, 3]).gt(0).to(ScalarType.Int64) + inputs[.., 0, 0, 0].gt(0).to(ScalarType.Int64) * 2;
        return new InMemoryBatchSource(inputs, targets);
    }

    static TrainerSettings SettingsFor(string master, int batch, int epochs, string? checkpoints = null, bool resume = false) => new()
    {
        GlobalBatchSize = batch, Epochs = epochs, Seed = 7, Master = LocalMaster.Parse(master, cores: 2),
        CheckpointFolder = checkpoints, Resume = resume,
        ValidationMethods = [new Top1Accuracy(), new LossValidation((o, t) => nn.functional.cross_entropy(o, t))],
    };

    static Trainer NewTrainer(string master, int batch, int epochs, string? checkpoints = null, bool resume = false) =>
        NewTrainer(SettingsFor(master, batch, epochs, checkpoints, resume));

    static Trainer NewTrainer(TrainerSettings settings) =>
        new(() => new LeNet5(4), parameters => optim.Adam(parameters, lr: 0.002), (output, target) => nn.functional.cross_entropy(output, target), settings);

    static float[] Weights(nn.Module model) =>
        model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void Local_replicas_reach_the_same_weights_as_one_in_double_precision()
    {
        // In float64 the only difference between local[1] and local[N] (summation order) is ~1e-15, so even
        // Adam, which divides by tiny second moments, must agree to many digits: the algorithm is the same.
        using var data = SyntheticDigits(515, seed: 1, ScalarType.Float64); // 515: uneven splits everywhere
        float[] expected = TrainAndReadWeights("local[1]", data, ScalarType.Float64, adam: true);
        foreach (string master in new[] { "local[2]", "local[3]" })
        {
            double difference = MaxDifference(expected, TrainAndReadWeights(master, data, ScalarType.Float64, adam: true));
            Assert.True(difference < 1e-6, $"{master}: max weight difference {difference}");
        }
    }

    [Fact]
    public void Two_local_replicas_reach_the_same_weights_as_one_in_single_precision()
    {
        using var data = SyntheticDigits(515, seed: 1);
        float[] expected = TrainAndReadWeights("local[1]", data, ScalarType.Float32, adam: false);
        double difference = MaxDifference(expected, TrainAndReadWeights("local[2]", data, ScalarType.Float32, adam: false));
        Assert.True(difference < 1e-5, $"max weight difference {difference}");

        // And training did move the weights far more than that.
        using var untrained = NewTrainer("local[1]", batch: 64, epochs: 2);
        Assert.True(MaxDifference(expected, Weights(untrained.Model)) > 1e-3);
    }

    static float[] TrainAndReadWeights(string master, IBatchSource data, ScalarType precision, bool adam)
    {
        using var trainer = new Trainer(
            () => new LeNet5(4).to(precision),
            parameters => adam ? optim.Adam(parameters, lr: 0.002) : optim.SGD(parameters, 0.05, momentum: 0.9, nesterov: true),
            (output, target) => nn.functional.cross_entropy(output, target),
            new TrainerSettings { GlobalBatchSize = 64, Epochs = 2, Seed = 7, Master = LocalMaster.Parse(master, cores: 2) });
        var result = trainer.Fit(data);
        Assert.Equal(18, result.Iterations);
        return trainer.Model.parameters().SelectMany(p => p.detach().to(ScalarType.Float32).data<float>().ToArray()).ToArray();
    }

    static double MaxDifference(float[] a, float[] b) => a.Zip(b).Max(pair => Math.Abs((double)pair.First - pair.Second));

    [Fact]
    public void Resuming_from_an_epoch_checkpoint_gives_the_same_weights_as_an_uninterrupted_run()
    {
        using var data = SyntheticDigits(300, seed: 2);
        using var uninterrupted = NewTrainer("local[2]", batch: 50, epochs: 3);
        uninterrupted.Fit(data);

        string checkpoints = Path.Combine(_folder, "ckpt");
        using (var firstPart = NewTrainer("local[2]", batch: 50, epochs: 1, checkpoints)) firstPart.Fit(data);
        Assert.True(File.Exists(Path.Combine(checkpoints, TrainingCheckpoint.FileName)));
        using var resumed = NewTrainer("local[2]", batch: 50, epochs: 3, checkpoints, resume: true);
        var result = resumed.Fit(data);

        Assert.Equal(3, result.EpochsCompleted);
        Assert.Equal(3, result.Epochs.Count); // the first epoch's report came back from the checkpoint
        Assert.Equal(Weights(uninterrupted.Model), Weights(resumed.Model));
    }

    [Fact]
    public void Cancelling_mid_epoch_saves_a_checkpoint_and_resuming_matches_an_uninterrupted_run()
    {
        using var data = SyntheticDigits(400, seed: 3);
        using var uninterrupted = NewTrainer("local[1]", batch: 40, epochs: 2);
        var reference = uninterrupted.Fit(data);

        string checkpoints = Path.Combine(_folder, "ctrl-c");
        using var cancellation = new CancellationTokenSource();
        var stopAfterFourSteps = new StopAfter(4, cancellation);
        using (var interrupted = NewTrainer(SettingsFor("local[1]", 40, 2) with { CheckpointFolder = checkpoints, Observers = [stopAfterFourSteps] }))
        {
            var partial = interrupted.Fit(data, cancellation: cancellation.Token);
            Assert.True(partial.Interrupted);
            Assert.Equal(4, partial.Iterations);
        }

        using var resumed = NewTrainer("local[1]", batch: 40, epochs: 2, checkpoints, resume: true);
        var result = resumed.Fit(data);
        Assert.Equal(reference.Iterations, result.Iterations);
        Assert.Equal(Weights(uninterrupted.Model), Weights(resumed.Model));
        Assert.Equal(reference.Epochs[0].TrainLoss, result.Epochs[0].TrainLoss, 6);
    }

    sealed class StopAfter(int iterations, CancellationTokenSource cancellation) : ITrainingObserver
    {
        public void IterationCompleted(IterationReport report)
        {
            if (report.Iteration == iterations) cancellation.Cancel();
        }
    }

    [Fact]
    public void An_iteration_limit_stops_mid_epoch_and_a_larger_limit_continues_from_that_step()
    {
        using var data = SyntheticDigits(400, seed: 8);  // 10 steps per epoch
        TrainerSettings Limited(long iterations, string? checkpoints, bool resume) =>
            SettingsFor("local[2]", 40, 5, checkpoints, resume) with { EndWhen = Trigger.MaxIteration(iterations) };

        using var straight = NewTrainer(Limited(17, null, false));
        var reference = straight.Fit(data, validation: data);
        Assert.Equal(17, reference.Iterations);
        Assert.Equal(1, reference.EpochsCompleted); // the second epoch stopped at its 7th step

        string checkpoints = Path.Combine(_folder, "limit");
        var spy = new ValidationSpy();
        using (var first = NewTrainer(Limited(5, checkpoints, false) with { Observers = [spy], ValidateWhen = Trigger.SeveralIterations(2) }))
            Assert.Equal(5, first.Fit(data, validation: data).Iterations);
        Assert.Equal([2L, 4L, 5L], spy.Iterations); // every 2 steps, and once more where training ended

        using var resumed = NewTrainer(Limited(17, checkpoints, true));
        Assert.Equal(17, resumed.Fit(data, validation: data).Iterations);
        Assert.Equal(Weights(straight.Model), Weights(resumed.Model));
    }

    sealed class ValidationSpy : ITrainingObserver
    {
        public List<long> Iterations { get; } = new();
        public void ValidationCompleted(int epoch, long iteration, IReadOnlyDictionary<string, double> scores)
        {
            Assert.InRange(scores["accuracy"], 0, 1);
            Iterations.Add(iteration);
        }
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_made_with_other_settings_and_a_truncated_one()
    {
        using var data = SyntheticDigits(100, seed: 4);
        string checkpoints = Path.Combine(_folder, "mismatch");
        using (var first = NewTrainer("local[1]", batch: 20, epochs: 1, checkpoints)) first.Fit(data);

        using (var otherBatch = NewTrainer("local[1]", batch: 25, epochs: 2, checkpoints, resume: true))
        {
            var error = Assert.Throws<DataFileException>(() => otherBatch.Fit(data));
            Assert.Contains("batch 20", error.Message);
        }

        string path = Path.Combine(checkpoints, TrainingCheckpoint.FileName);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        using var truncated = NewTrainer("local[1]", batch: 20, epochs: 2, checkpoints, resume: true);
        var truncation = Assert.Throws<DataFileException>(() => truncated.Fit(data));
        Assert.Contains("truncated", truncation.Message);
    }

    [Fact]
    public void Resume_refuses_other_data_of_the_same_size_and_accepts_the_same_data_computed_again()
    {
        using var data = SyntheticDigits(100, seed: 4);
        string checkpoints = Path.Combine(_folder, "other-data");
        using (var first = NewTrainer(SettingsFor("local[1]", 20, 1, checkpoints) with { DataDescription = "set A" })) first.Fit(data);

        // Other inputs with the very same labels and count: only the inputs tell the sets apart.
        int[] all = Enumerable.Range(0, 100).ToArray();
        var (inputs, targets) = data.GetBatch(all);
        using var otherSet = SyntheticDigits(100, seed: 9);
        var (otherSetInputs, otherSetTargets) = otherSet.GetBatch(all);
        otherSetTargets.Dispose();
        using var otherInputs = new InMemoryBatchSource(otherSetInputs, targets.clone());
        using (var other = NewTrainer(SettingsFor("local[1]", 20, 2, checkpoints, resume: true) with { DataDescription = "set B" }))
        {
            var error = Assert.Throws<DataFileException>(() => other.Fit(otherInputs));
            Assert.Contains("other data", error.Message);
            Assert.Contains("set A", error.Message);
            Assert.Contains("set B", error.Message);
        }
        // Other labels for the same inputs.
        using var otherLabels = new InMemoryBatchSource(inputs.clone(), (targets + 1).remainder(4));
        using (var relabelled = NewTrainer("local[1]", batch: 20, epochs: 2, checkpoints, resume: true))
            Assert.Contains("targets", Assert.Throws<DataFileException>(() => relabelled.Fit(otherLabels)).Message);

        // The same data computed again by other kernels differs in the last bits (a frozen network's features on
        // another thread count): a relative change of 1e-6, far above float32 rounding, is still the same data.
        using var recomputed = new InMemoryBatchSource(inputs * (1 + 1e-6), targets.clone());
        using var resumed = NewTrainer("local[1]", batch: 20, epochs: 2, checkpoints, resume: true);
        var result = resumed.Fit(recomputed);
        Assert.Equal(2, result.EpochsCompleted);
        inputs.Dispose();
        targets.Dispose();
    }

    [Fact]
    public void The_start_line_says_where_a_resume_starts_and_that_a_finished_run_has_nothing_to_train()
    {
        Assert.Equal("Training 5 epochs: 1,000 samples, 10 steps per epoch", ConsoleTrainingProgress.StartLine(new TrainingStart(0, 0, 5, 10, 1000, Resumed: false)));
        Assert.Equal("Resuming at epoch 3/5: 1,000 samples, 10 steps per epoch", ConsoleTrainingProgress.StartLine(new TrainingStart(2, 0, 5, 10, 1000, Resumed: true)));
        // Mid-epoch, even in the first epoch: the next batch is the 5th of 10.
        Assert.Equal("Resuming at epoch 1/5, batch 5/10: 1,000 samples, 10 steps per epoch", ConsoleTrainingProgress.StartLine(new TrainingStart(0, 4, 5, 10, 1000, Resumed: true)));
        string finished = ConsoleTrainingProgress.StartLine(new TrainingStart(5, 0, 5, 10, 1000, Resumed: true));
        Assert.StartsWith("Nothing to train: the checkpoint's run already completed 5 epochs (--epochs 5)", finished);
        Assert.Contains("raise --epochs", finished);
        Assert.DoesNotContain("6/5", finished);
    }

    [Fact]
    public void A_trainer_resumed_mid_epoch_tells_its_observers_the_batch_it_starts_at()
    {
        using var data = SyntheticDigits(100, seed: 4);
        string checkpoints = Path.Combine(_folder, "mid-epoch-start");
        using var stop = new CancellationTokenSource();
        var stopAfterThreeSteps = new StopAfter(3, stop);
        using (var interrupted = NewTrainer(SettingsFor("local[1]", 20, 2) with { CheckpointFolder = checkpoints, Observers = [stopAfterThreeSteps] }))
            Assert.True(interrupted.Fit(data, cancellation: stop.Token).Interrupted);
        var starts = new StartRecorder();
        using (var resumed = NewTrainer(SettingsFor("local[1]", 20, 2, checkpoints, resume: true) with { Observers = [starts] })) resumed.Fit(data);
        Assert.Equal(new TrainingStart(0, 3, 2, 5, 100, Resumed: true), starts.Start);

        var again = new StartRecorder();
        using (var finished = NewTrainer(SettingsFor("local[1]", 20, 2, checkpoints, resume: true) with { Observers = [again] }))
            Assert.Equal(0, finished.Fit(data).Iterations - 10); // nothing more was trained: still the 10 steps of 2 epochs
        Assert.True(again.Start!.NothingToTrain);
    }

    sealed class StartRecorder : ITrainingObserver
    {
        public TrainingStart? Start { get; private set; }
        public void TrainingStarted(TrainingStart start) => Start = start;
    }

    [Fact]
    public void Validation_reports_accuracy_and_loss_that_match_a_direct_computation()
    {
        using var data = SyntheticDigits(130, seed: 5);
        using var trainer = NewTrainer("local[2]", batch: 32, epochs: 1);
        var scores = trainer.Evaluate(data, trainer.Settings.ValidationMethods);

        trainer.Model.eval();
        using var noGrad = no_grad();
        var (input, target) = data.GetBatch(Enumerable.Range(0, 130).ToArray());
        var output = trainer.Model.forward(input);
        double accuracy = output.argmax(1).eq(target).to(ScalarType.Float64).mean().item<double>();
        double loss = nn.functional.cross_entropy(output, target).item<float>();
        Assert.Equal(accuracy, scores["accuracy"], 6);
        Assert.Equal(loss, scores["loss"], 4);
    }

    [Fact]
    public void Memory_stays_flat_across_epochs()
    {
        using var data = SyntheticDigits(2048, seed: 6);
        var memory = new MemoryProbe();
        using var trainer = new Trainer(() => new LeNet5(4), p => optim.Adam(p, lr: 0.002), (o, t) => nn.functional.cross_entropy(o, t),
            new TrainerSettings
            {
                GlobalBatchSize = 64, Epochs = 8, Seed = 7, Master = LocalMaster.Parse("local[2]", cores: 2), Observers = [memory],
                ValidationMethods = [new Top1Accuracy()],
            });
        trainer.Fit(data, validation: data);

        // Tensors alive on the training thread: identical after every epoch (nothing escapes a dispose scope).
        Assert.Single(memory.LiveTensors.Skip(1).Distinct());
        // Process memory after a full GC: a leaked batch per step (32 steps/epoch, >= 200 KB each plus
        // activations on the replica threads) would add tens of MB over epochs 3..8.
        double growth = memory.ResidentMegabytes[^1] - memory.ResidentMegabytes[2];
        Assert.True(growth < 16, $"process memory grew by {growth:F1} MB between epoch 3 and epoch 8: " +
                                 string.Join(", ", memory.ResidentMegabytes.Select(m => m.ToString("F1"))));
    }

    sealed class MemoryProbe : ITrainingObserver
    {
        public List<long> LiveTensors { get; } = new();
        public List<double> ResidentMegabytes { get; } = new();

        public void EpochCompleted(EpochReport report)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            // Batches read ahead are made on the prefetch thread and adopted by this thread's step scope, which frees
            // them: count them in as they are adopted, or each would read as one tensor too many freed here.
            var statistics = TorchSharp.DisposeScopeManager.Statistics;
            LiveTensors.Add(statistics.ThreadTotalLiveCount + statistics.AttachedToScopeCount);
            ResidentMegabytes.Add(Environment.WorkingSet / (1024.0 * 1024.0));
        }
    }

    [Fact]
    public void Each_epoch_visits_every_sample_once_in_a_seeded_order()
    {
        int[] first = Trainer.EpochOrder(1000, seed: 3, epoch: 0);
        Assert.Equal(Enumerable.Range(0, 1000), first.Order());
        Assert.Equal(first, Trainer.EpochOrder(1000, seed: 3, epoch: 0));
        Assert.NotEqual(first, Trainer.EpochOrder(1000, seed: 3, epoch: 1));
        Assert.NotEqual(first, Trainer.EpochOrder(1000, seed: 4, epoch: 0));
    }

    [Fact]
    public void Triggers_fire_when_BigDL_would()
    {
        Assert.True(Trigger.EveryEpoch.IsTriggered(new TrainingClock(0, 10, AtEpochEnd: true)));
        Assert.False(Trigger.EveryEpoch.IsTriggered(new TrainingClock(0, 10, AtEpochEnd: false)));
        var everyFive = Trigger.SeveralIterations(5);
        Assert.Equal([5L, 10L, 15L], Enumerable.Range(0, 17).Select(i => (long)i).Where(i => everyFive.IsTriggered(new TrainingClock(0, i, false))));
        Assert.False(Trigger.MaxEpoch(3).IsTriggered(new TrainingClock(1, 99, AtEpochEnd: true)));
        Assert.True(Trigger.MaxEpoch(3).IsTriggered(new TrainingClock(2, 99, AtEpochEnd: true)));
        Assert.True(Trigger.MaxIteration(100).IsTriggered(new TrainingClock(0, 100, false)));
        Assert.False(Trigger.MaxIteration(100).IsTriggered(new TrainingClock(0, 99, false)));
    }

    [Fact]
    public void Local_master_shares_the_cores_between_replicas()
    {
        Assert.Equal(new LocalMaster(2, 1), LocalMaster.Parse("local[*]", cores: 2));
        Assert.Equal(new LocalMaster(1, 2), LocalMaster.Parse("local[1]", cores: 2));
        Assert.Equal(new LocalMaster(3, 1), LocalMaster.Parse("local[3]", cores: 2));
        Assert.Throws<ArgumentException>(() => LocalMaster.Parse("yarn", cores: 2));
        Assert.Throws<ArgumentException>(() => LocalMaster.Parse("local[0]", cores: 2));
        // A wrong value is answered with every form --master accepts, not only the local ones.
        string error = Assert.Throws<ArgumentException>(() => LocalMaster.Parse("yarn", cores: 2)).Message;
        foreach (string form in new[] { "local[*]", "local[N]", "cluster[N]", "mpi" }) Assert.Contains(form, error);
    }
}
