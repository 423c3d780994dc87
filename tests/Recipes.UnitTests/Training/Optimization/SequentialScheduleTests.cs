using Recipes.Runtime.Training.Optimization;

namespace Recipes.Tests.Training.Optimization;

public class SequentialScheduleTests
{
    const double Tolerance = 1e-15;

    /// <summary>Records what a child is told, to check the local clocks the sequence hands it.</summary>
    sealed class RecordingSchedule(double rate) : ILearningRateSchedule
    {
        public List<(int Iteration, int Epoch)> Asked { get; } = [];
        public List<(int Epoch, double Value)> Ended { get; } = [];

        public double RateAt(int iteration, int epoch)
        {
            Asked.Add((iteration, epoch));
            return rate;
        }

        public void EpochEnded(int epoch, double monitoredValue) => Ended.Add((epoch, monitoredValue));
        public IReadOnlyDictionary<string, double> SaveState() => new Dictionary<string, double>();
        public void RestoreState(IReadOnlyDictionary<string, double> state) { }
    }

    [Fact]
    public void Children_run_for_their_budgets_on_their_own_iteration_count()
    {
        var schedule = new SequentialSchedule(iterationsPerEpoch: 4)
            .Add(new Warmup(0.1, 0.1), 3)       // global 0..2
            .Add(new Step(1.0, 2, 0.5), 5)      // global 3..7, local 0..4
            .Add(new ConstantRate(0.01), 2);    // global 8.., keeps running after its budget
        double[] expected = [0.1, 0.2, 0.3, 1.0, 1.0, 0.5, 0.5, 0.25, 0.01, 0.01, 0.01, 0.01, 0.01];
        for (int iteration = 0; iteration < expected.Length; iteration++)
            Assert.Equal(expected[iteration], schedule.RateAt(iteration, iteration / 4), Tolerance);
    }

    [Fact]
    public void Children_get_local_iterations_and_epochs_counted_from_their_start()
    {
        var first = new RecordingSchedule(1);
        var second = new RecordingSchedule(2);
        var schedule = new SequentialSchedule(iterationsPerEpoch: 4).Add(first, 6).Add(second, 100);

        for (int iteration = 0; iteration < 12; iteration++)
            schedule.RateAt(iteration, iteration / 4);

        Assert.Equal([(0, 0), (1, 0), (2, 0), (3, 0), (4, 1), (5, 1)], first.Asked);
        // The second child starts at global iteration 6, inside epoch 1 (6 / 4), which is its epoch 0.
        Assert.Equal([(0, 0), (1, 0), (2, 1), (3, 1), (4, 1), (5, 1)], second.Asked);
    }

    [Fact]
    public void Epoch_end_goes_to_the_child_that_ran_the_epochs_last_step()
    {
        var first = new RecordingSchedule(1);
        var second = new RecordingSchedule(2);
        var schedule = new SequentialSchedule(iterationsPerEpoch: 4).Add(first, 8).Add(second, 100);

        schedule.EpochEnded(0, 0.9);   // last step 3: first child
        schedule.EpochEnded(1, 0.8);   // last step 7: first child
        schedule.EpochEnded(2, 0.7);   // last step 11: second child, its epoch 0
        schedule.EpochEnded(3, 0.6);

        Assert.Equal([(0, 0.9), (1, 0.8)], first.Ended);
        Assert.Equal([(0, 0.7), (1, 0.6)], second.Ended);
    }

    [Fact]
    public void Warmup_then_plateau_follows_the_chest_xray_configuration()
    {
        const int iterationsPerEpoch = 10;
        var schedule = SequentialSchedule.WarmupThenPlateau(iterationsPerEpoch, warmupEpochs: 5, fromRate: 1e-7, toRate: 1e-4,
            factor: 0.1, patience: 1, epsilon: 0.01, minRate: 1e-15);

        Assert.Equal(1e-7, schedule.RateAt(0, 0), 1e-20);
        Assert.Equal(1e-7 + 1.998e-6, schedule.RateAt(1, 0), 1e-20);
        Assert.Equal(9.8002e-5, schedule.RateAt(49, 4), 1e-18);
        Assert.Equal(1e-4, schedule.RateAt(50, 5), 1e-20);

        // Warm-up epochs report losses that would trip a plateau with patience 1; the warm-up ignores them.
        for (int epoch = 0; epoch < 5; epoch++)
            schedule.EpochEnded(epoch, 1.0 + epoch);
        Assert.Equal(1e-4, schedule.RateAt(50, 5), 1e-20);

        schedule.EpochEnded(5, 0.50);
        Assert.Equal(1e-4, schedule.RateAt(60, 6), 1e-20);
        schedule.EpochEnded(6, 0.495);   // not better by more than 0.01
        Assert.Equal(1e-5, schedule.RateAt(70, 7), 1e-21);
        schedule.EpochEnded(7, 0.30);
        Assert.Equal(1e-5, schedule.RateAt(80, 8), 1e-21);
        Assert.Equal(1e-5, schedule.RateAt(5000, 500), 1e-21);
    }

    [Fact]
    public void Restored_state_continues_exactly_like_the_uninterrupted_schedule()
    {
        const int iterationsPerEpoch = 3;
        SequentialSchedule Create() => SequentialSchedule.WarmupThenPlateau(iterationsPerEpoch, 2, 0.001, 0.1,
            factor: 0.5, patience: 1, epsilon: 0.01, cooldown: 1, minRate: 0.001);
        double[] losses = [2.0, 1.5, 1.0, 1.0, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5];

        var uninterrupted = Create();
        var interrupted = Create();
        var uninterruptedRates = new List<double>();
        var resumedRates = new List<double>();
        for (int epoch = 0; epoch < 5; epoch++)
        {
            for (int step = 0; step < iterationsPerEpoch; step++)
            {
                int iteration = epoch * iterationsPerEpoch + step;
                uninterruptedRates.Add(uninterrupted.RateAt(iteration, epoch));
                resumedRates.Add(interrupted.RateAt(iteration, epoch));
            }
            uninterrupted.EpochEnded(epoch, losses[epoch]);
            interrupted.EpochEnded(epoch, losses[epoch]);
        }

        IReadOnlyDictionary<string, double> saved = interrupted.SaveState();
        Assert.Contains("stage1.rate", saved.Keys);
        var resumed = Create();
        resumed.RestoreState(saved);

        for (int epoch = 5; epoch < losses.Length; epoch++)
        {
            for (int step = 0; step < iterationsPerEpoch; step++)
            {
                int iteration = epoch * iterationsPerEpoch + step;
                uninterruptedRates.Add(uninterrupted.RateAt(iteration, epoch));
                resumedRates.Add(resumed.RateAt(iteration, epoch));
            }
            uninterrupted.EpochEnded(epoch, losses[epoch]);
            resumed.EpochEnded(epoch, losses[epoch]);
        }
        Assert.Equal(uninterruptedRates, resumedRates);
        Assert.Equal(uninterrupted.SaveState(), resumed.SaveState());
        // Several reductions happened after the resume, so the restored counters were exercised.
        Assert.True(uninterruptedRates[^1] < uninterruptedRates[5 * iterationsPerEpoch] / 2);
    }

    [Fact]
    public void Restoring_foreign_state_fails_and_leaves_the_schedule_unchanged()
    {
        var schedule = SequentialSchedule.WarmupThenPlateau(5, 1, 0.001, 0.1, factor: 0.5, patience: 1);
        IReadOnlyDictionary<string, double> before = schedule.SaveState();

        var foreign = new Dictionary<string, double>(before) { ["stage7.rate"] = 1.0 };
        var error = Assert.Throws<ArgumentException>(() => schedule.RestoreState(foreign));
        Assert.Contains("stage7.rate", error.Message);

        var broken = new Dictionary<string, double>(before) { ["stage1.rate"] = 0.5, ["stage1.wait"] = -1 };
        Assert.Throws<ArgumentException>(() => schedule.RestoreState(broken));
        Assert.Equal(before, schedule.SaveState());
    }

    [Fact]
    public void An_empty_sequence_or_a_child_after_an_endless_one_is_refused()
    {
        var empty = new SequentialSchedule(10);
        Assert.Contains("empty", Assert.Throws<InvalidOperationException>(() => empty.RateAt(0, 0)).Message);

        var endless = new SequentialSchedule(10).Add(new ConstantRate(0.1), int.MaxValue);
        Assert.Contains("never ends", Assert.Throws<InvalidOperationException>(() => endless.Add(new ConstantRate(0.2), 5)).Message);
    }

    [Fact]
    public void An_epoch_inconsistent_with_iterations_per_epoch_is_reported()
    {
        var schedule = new SequentialSchedule(iterationsPerEpoch: 10).Add(new ConstantRate(0.1), 20).Add(new ConstantRate(0.2), 20);
        var error = Assert.Throws<ArgumentException>(() => schedule.RateAt(25, 1));
        Assert.Contains("iterationsPerEpoch (10)", error.Message);
    }
}
