using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// BigDL's Poly: polynomial decay to zero at <c>maxIteration</c>, <c>baseRate * (1 - iteration / maxIteration)^power</c>,
/// and 0 after it.
/// </summary>
public sealed class Poly : ILearningRateSchedule
{
    public Poly(double baseRate, double power, int maxIteration)
    {
        RateArguments.RequireNonNegativeFinite(baseRate, nameof(baseRate));
        RateArguments.RequireNonNegativeFinite(power, nameof(power));
        RateArguments.RequirePositive(maxIteration, nameof(maxIteration));
        BaseRate = baseRate;
        Power = power;
        MaxIteration = maxIteration;
    }

    public double BaseRate { get; }
    public double Power { get; }
    public int MaxIteration { get; }

    public double RateAt(int iteration, int epoch)
    {
        RateArguments.RequireStep(iteration, epoch);
        if (iteration > MaxIteration)
            return 0;
        return BaseRate * Math.Pow(1.0 - (double)iteration / MaxIteration, Power);
    }

    public void EpochEnded(int epoch, double monitoredValue) { }

    public IReadOnlyDictionary<string, double> SaveState() => ScheduleState.Empty;

    public void RestoreState(IReadOnlyDictionary<string, double> state) => ScheduleState.RequireKeys(state, ToString());

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Poly(base {BaseRate}, power {Power}, to zero at {MaxIteration})");
}
