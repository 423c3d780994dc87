using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>BigDL's Step: the rate is multiplied by <c>gamma</c> every <c>stepSize</c> iterations, <c>baseRate * gamma^floor(iteration / stepSize)</c>.</summary>
public sealed class Step : ILearningRateSchedule
{
    public Step(double baseRate, int stepSize, double gamma)
    {
        RateArguments.RequireNonNegativeFinite(baseRate, nameof(baseRate));
        RateArguments.RequirePositive(stepSize, nameof(stepSize));
        RateArguments.RequireNonNegativeFinite(gamma, nameof(gamma));
        BaseRate = baseRate;
        StepSize = stepSize;
        Gamma = gamma;
    }

    public double BaseRate { get; }
    public int StepSize { get; }
    public double Gamma { get; }

    public double RateAt(int iteration, int epoch)
    {
        RateArguments.RequireStep(iteration, epoch);
        return BaseRate * Math.Pow(Gamma, iteration / StepSize);
    }

    public void EpochEnded(int epoch, double monitoredValue) { }

    public IReadOnlyDictionary<string, double> SaveState() => ScheduleState.Empty;

    public void RestoreState(IReadOnlyDictionary<string, double> state) => ScheduleState.RequireKeys(state, ToString());

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Step(base {BaseRate}, every {StepSize} x {Gamma})");
}
