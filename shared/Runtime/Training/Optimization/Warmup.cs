using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// BigDL's Warmup: the rate grows linearly, <c>startRate + delta * iteration</c>. Usually the first child
/// of a <see cref="SequentialSchedule"/>, so that a large rate is reached without early steps blowing up.
/// </summary>
public sealed class Warmup : ILearningRateSchedule
{
    public Warmup(double startRate, double delta)
    {
        RateArguments.RequireNonNegativeFinite(startRate, nameof(startRate));
        RateArguments.RequireNonNegativeFinite(delta, nameof(delta));
        StartRate = startRate;
        Delta = delta;
    }

    /// <summary>
    /// A warm-up that starts at <paramref name="fromRate"/> and would reach <paramref name="toRate"/> at
    /// iteration <paramref name="iterations"/>, the first step after the warm-up (the seed's
    /// <c>delta = (maxLr - lr) / warmupIterations</c>).
    /// </summary>
    public static Warmup Between(double fromRate, double toRate, int iterations)
    {
        RateArguments.RequireNonNegativeFinite(fromRate, nameof(fromRate));
        RateArguments.RequireNonNegativeFinite(toRate, nameof(toRate));
        RateArguments.RequirePositive(iterations, nameof(iterations));
        if (toRate < fromRate)
            throw new ArgumentOutOfRangeException(nameof(toRate), toRate, $"A warm-up must not decrease: toRate {toRate} < fromRate {fromRate}.");
        return new Warmup(fromRate, (toRate - fromRate) / iterations);
    }

    public double StartRate { get; }
    public double Delta { get; }

    public double RateAt(int iteration, int epoch)
    {
        RateArguments.RequireStep(iteration, epoch);
        return StartRate + Delta * iteration;
    }

    public void EpochEnded(int epoch, double monitoredValue) { }

    public IReadOnlyDictionary<string, double> SaveState() => ScheduleState.Empty;

    public void RestoreState(IReadOnlyDictionary<string, double> state) => ScheduleState.RequireKeys(state, ToString());

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Warmup(start {StartRate}, delta {Delta})");
}
