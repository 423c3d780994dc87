using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>The same learning rate for every step.</summary>
public sealed class ConstantRate : ILearningRateSchedule
{
    public ConstantRate(double rate)
    {
        RateArguments.RequireNonNegativeFinite(rate, nameof(rate));
        Rate = rate;
    }

    public double Rate { get; }

    public double RateAt(int iteration, int epoch)
    {
        RateArguments.RequireStep(iteration, epoch);
        return Rate;
    }

    public void EpochEnded(int epoch, double monitoredValue) { }

    public IReadOnlyDictionary<string, double> SaveState() => ScheduleState.Empty;

    public void RestoreState(IReadOnlyDictionary<string, double> state) => ScheduleState.RequireKeys(state, ToString());

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"ConstantRate({Rate})");
}
