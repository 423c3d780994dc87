using Recipes.Runtime.Training.Optimization;

namespace Recipes.Tests.Training.Optimization;

public class PlateauTests
{
    const double Tolerance = 1e-15;

    [Fact]
    public void Patience_cooldown_and_minimum_rate_step_by_step()
    {
        var plateau = new Plateau(initialRate: 1.0, factor: 0.5, patience: 2, mode: PlateauMode.Min, epsilon: 0.1, cooldown: 1, minRate: 0.2);

        // (monitored value, rate in force afterwards, why)
        (double Loss, double Rate)[] epochs =
        [
            (10.0, 1.0),   // e0: first value is the best
            (9.95, 1.0),   // e1: better, but not by more than epsilon: wait 1
            (9.5, 1.0),    // e2: better by 0.5: best 9.5, wait 0
            (9.5, 1.0),    // e3: wait 1
            (9.45, 0.5),   // e4: wait 2 = patience: rate x0.5, cooldown 1
            (9.6, 0.5),    // e5: cooldown epoch, not counted
            (9.6, 0.5),    // e6: wait 1
            (9.6, 0.25),   // e7: wait 2: rate x0.5, cooldown 1
            (9.0, 0.25),   // e8: improvement during cooldown still sets best 9.0
            (9.0, 0.25),   // e9: wait 1
            (9.0, 0.2),    // e10: wait 2: 0.125 would be below the minimum, so 0.2
            (9.0, 0.2),    // e11: cooldown
            (9.0, 0.2),    // e12: wait 1
            (9.0, 0.2),    // e13: wait 2, but already at the minimum
            (9.0, 0.2),    // e14
        ];
        for (int epoch = 0; epoch < epochs.Length; epoch++)
        {
            Assert.Equal(epoch == 0 ? 1.0 : epochs[epoch - 1].Rate, plateau.RateAt(epoch * 10, epoch), Tolerance);
            plateau.EpochEnded(epoch, epochs[epoch].Loss);
            Assert.True(Math.Abs(epochs[epoch].Rate - plateau.CurrentRate) <= Tolerance,
                $"after epoch {epoch} (value {epochs[epoch].Loss}) the rate is {plateau.CurrentRate}, expected {epochs[epoch].Rate}");
        }
    }

    [Fact]
    public void Patience_one_reduces_on_the_first_epoch_without_improvement()
    {
        var plateau = new Plateau(initialRate: 1e-4, factor: 0.1, patience: 1, epsilon: 0.01, minRate: 1e-15);
        plateau.EpochEnded(0, 0.70);
        Assert.Equal(1e-4, plateau.CurrentRate);
        plateau.EpochEnded(1, 0.695);    // not better by more than 0.01
        Assert.Equal(1e-5, plateau.CurrentRate, 1e-20);
        plateau.EpochEnded(2, 0.60);
        Assert.Equal(1e-5, plateau.CurrentRate, 1e-20);
        plateau.EpochEnded(3, 0.60);
        Assert.Equal(1e-6, plateau.CurrentRate, 1e-21);
    }

    [Fact]
    public void Max_mode_waits_for_the_score_to_rise_by_more_than_epsilon()
    {
        var plateau = new Plateau(initialRate: 0.1, factor: 0.1, patience: 1, mode: PlateauMode.Max, epsilon: 0.01);
        plateau.EpochEnded(0, 0.80);
        plateau.EpochEnded(1, 0.85);    // up by 0.05: improvement
        Assert.Equal(0.1, plateau.CurrentRate);
        plateau.EpochEnded(2, 0.855);   // up by only 0.005
        Assert.Equal(0.01, plateau.CurrentRate, Tolerance);
        plateau.EpochEnded(3, 0.70);    // a lower score is no improvement either
        Assert.Equal(0.001, plateau.CurrentRate, Tolerance);
    }

    [Fact]
    public void A_NaN_loss_counts_as_no_improvement()
    {
        var plateau = new Plateau(initialRate: 0.1, factor: 0.5, patience: 1);
        plateau.EpochEnded(0, double.NaN);
        Assert.Equal(0.05, plateau.CurrentRate, Tolerance);
        plateau.EpochEnded(1, 3.0);
        plateau.EpochEnded(2, double.NaN);
        Assert.Equal(0.025, plateau.CurrentRate, Tolerance);
    }

    [Fact]
    public void Longer_cooldown_skips_exactly_that_many_epochs()
    {
        var plateau = new Plateau(initialRate: 1.0, factor: 0.5, patience: 1, cooldown: 3);
        plateau.EpochEnded(0, 5.0);
        plateau.EpochEnded(1, 5.0);   // reduce to 0.5, then cooldown 3
        Assert.Equal(0.5, plateau.CurrentRate);
        plateau.EpochEnded(2, 5.0);
        plateau.EpochEnded(3, 5.0);
        plateau.EpochEnded(4, 5.0);
        Assert.Equal(0.5, plateau.CurrentRate);
        plateau.EpochEnded(5, 5.0);   // first counted epoch: patience 1 reached
        Assert.Equal(0.25, plateau.CurrentRate);
    }

    [Fact]
    public void Restored_state_continues_exactly_like_the_uninterrupted_schedule()
    {
        double[] losses = [1.0, 0.9, 0.95, 0.97, 0.96, 0.5, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6];
        Plateau Create() => new(initialRate: 0.1, factor: 0.5, patience: 2, epsilon: 0.01, cooldown: 1, minRate: 0.01);

        var uninterrupted = Create();
        var first = Create();
        for (int epoch = 0; epoch < 4; epoch++)
        {
            uninterrupted.EpochEnded(epoch, losses[epoch]);
            first.EpochEnded(epoch, losses[epoch]);
        }
        IReadOnlyDictionary<string, double> saved = first.SaveState();
        Assert.All(saved.Values, value => Assert.True(double.IsFinite(value)));

        var resumed = Create();
        resumed.RestoreState(saved);
        for (int epoch = 4; epoch < losses.Length; epoch++)
        {
            Assert.Equal(uninterrupted.RateAt(epoch * 5, epoch), resumed.RateAt(epoch * 5, epoch));
            uninterrupted.EpochEnded(epoch, losses[epoch]);
            resumed.EpochEnded(epoch, losses[epoch]);
        }
        Assert.Equal(uninterrupted.SaveState(), resumed.SaveState());
        // The run must actually have reduced the rate, or the comparison proves little.
        Assert.True(uninterrupted.CurrentRate < 0.05);
    }

    [Fact]
    public void Restoring_from_a_fresh_state_forgets_the_best_value()
    {
        var plateau = new Plateau(initialRate: 0.1, factor: 0.5, patience: 1);
        IReadOnlyDictionary<string, double> fresh = plateau.SaveState();
        plateau.EpochEnded(0, 1.0);
        plateau.EpochEnded(1, 2.0);
        Assert.Equal(0.05, plateau.CurrentRate);

        plateau.RestoreState(fresh);
        Assert.Equal(0.1, plateau.CurrentRate);
        plateau.EpochEnded(0, 2.0);    // first value after restore is the best, not a regression from 1.0
        Assert.Equal(0.1, plateau.CurrentRate);
    }

    [Fact]
    public void Malformed_state_is_refused_naming_the_problem()
    {
        var plateau = new Plateau(initialRate: 0.1);
        var state = new Dictionary<string, double>(plateau.SaveState());
        state.Remove("wait");
        var missing = Assert.Throws<ArgumentException>(() => plateau.RestoreState(state));
        Assert.Contains("missing wait", missing.Message);

        state["wait"] = 1.5;
        var fractional = Assert.Throws<ArgumentException>(() => plateau.RestoreState(state));
        Assert.Contains("wait = 1.5", fractional.Message);

        state["wait"] = 0;
        state["rate"] = double.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => plateau.RestoreState(state));
        Assert.Equal(0.1, plateau.CurrentRate);
    }
}
