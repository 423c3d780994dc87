using Recipes.Runtime.Training.Optimization;

namespace Recipes.Tests.Training.Optimization;

public class LearningRateScheduleTests
{
    const double Tolerance = 1e-15;

    [Fact]
    public void Constant_rate_is_the_same_at_every_step_and_epoch()
    {
        var schedule = new ConstantRate(0.01);
        Assert.Equal(0.01, schedule.RateAt(0, 0));
        Assert.Equal(0.01, schedule.RateAt(12345, 17));
        schedule.EpochEnded(0, 3.0);
        Assert.Equal(0.01, schedule.RateAt(12346, 17));
        Assert.Empty(schedule.SaveState());
    }

    [Fact]
    public void Warmup_adds_delta_per_iteration_from_the_start_rate()
    {
        var schedule = new Warmup(startRate: 0.001, delta: 0.0005);
        Assert.Equal(0.001, schedule.RateAt(0, 0), Tolerance);
        Assert.Equal(0.0015, schedule.RateAt(1, 0), Tolerance);
        Assert.Equal(0.006, schedule.RateAt(10, 3), Tolerance);
    }

    [Fact]
    public void Warmup_between_two_rates_reaches_the_target_on_the_first_step_after_it()
    {
        // delta = (1e-4 - 1e-7) / 50 = 1.998e-6
        var schedule = Warmup.Between(1e-7, 1e-4, iterations: 50);
        Assert.Equal(1.998e-6, schedule.Delta, 1e-20);
        Assert.Equal(1e-7, schedule.RateAt(0, 0), 1e-20);
        Assert.Equal(9.8002e-5, schedule.RateAt(49, 4), 1e-18);
        Assert.Equal(1e-4, schedule.RateAt(50, 5), 1e-18);
        Assert.Throws<ArgumentOutOfRangeException>(() => Warmup.Between(1e-4, 1e-7, 50));
    }

    [Fact]
    public void Step_multiplies_by_gamma_every_step_size_iterations()
    {
        var schedule = new Step(baseRate: 0.1, stepSize: 3, gamma: 0.5);
        double[] expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125];
        for (int iteration = 0; iteration < expected.Length; iteration++)
            Assert.Equal(expected[iteration], schedule.RateAt(iteration, 0), Tolerance);
    }

    [Fact]
    public void Poly_decays_polynomially_to_zero_and_stays_there()
    {
        var schedule = new Poly(baseRate: 0.1, power: 2, maxIteration: 10);
        Assert.Equal(0.1, schedule.RateAt(0, 0), Tolerance);
        Assert.Equal(0.1 * 0.81, schedule.RateAt(1, 0), Tolerance);    // (1 - 1/10)^2
        Assert.Equal(0.025, schedule.RateAt(5, 0), Tolerance);         // (1 - 5/10)^2 = 0.25
        Assert.Equal(0.1 * 0.01, schedule.RateAt(9, 0), Tolerance);    // (1 - 9/10)^2
        Assert.Equal(0.0, schedule.RateAt(10, 0));
        Assert.Equal(0.0, schedule.RateAt(11, 0));
        Assert.Equal(0.0, schedule.RateAt(1_000_000, 99));
    }

    [Fact]
    public void Bad_arguments_are_refused_with_the_argument_named()
    {
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantRate(-1)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantRate(double.NaN)).ParamName);
        Assert.Equal("stepSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Step(0.1, 0, 0.5)).ParamName);
        Assert.Equal("maxIteration", Assert.Throws<ArgumentOutOfRangeException>(() => new Poly(0.1, 2, 0)).ParamName);
        Assert.Equal("factor", Assert.Throws<ArgumentOutOfRangeException>(() => new Plateau(0.1, factor: 1.0)).ParamName);
        Assert.Equal("iteration", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantRate(0.1).RateAt(-1, 0)).ParamName);
    }

    [Fact]
    public void Stateless_schedules_refuse_state_saved_from_another_schedule()
    {
        var error = Assert.Throws<ArgumentException>(() => new Step(0.1, 3, 0.5).RestoreState(new Plateau(0.1).SaveState()));
        Assert.Contains("Step", error.Message);
        Assert.Contains("unexpected", error.Message);
        new Step(0.1, 3, 0.5).RestoreState(new Dictionary<string, double>());
    }
}
