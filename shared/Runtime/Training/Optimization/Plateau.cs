using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>Whether the monitored value should go down (a loss) or up (a score such as AUC).</summary>
public enum PlateauMode
{
    Min,
    Max,
}

/// <summary>
/// Reduce the rate when the monitored value stops improving (BigDL's Plateau, Keras' ReduceLROnPlateau).
/// An epoch improves when its value beats the best so far by more than <see cref="Epsilon"/> (an absolute
/// margin). After <see cref="Patience"/> epochs in a row without improvement the rate is multiplied by
/// <see cref="Factor"/>, never going below <see cref="MinRate"/>; the <see cref="Cooldown"/> epochs after a
/// reduction are not counted as waiting, so the smaller rate gets time to show its effect.
/// </summary>
/// <remarks>
/// Counting follows the stated rule exactly: the reduction comes on the <c>patience</c>-th bad epoch (as in
/// Keras 2+), and exactly <c>cooldown</c> epochs are skipped. BigDL 0.x checks the wait counter before
/// incrementing it, so there the first reduction comes one epoch later (after <c>patience + 1</c> bad epochs);
/// Keras' own cooldown skips only <c>cooldown - 1</c> epochs.
/// </remarks>
public sealed class Plateau : ILearningRateSchedule
{
    const string RateKey = "rate";
    const string BestKey = "best";
    const string HasBestKey = "hasBest";
    const string WaitKey = "wait";
    const string CooldownKey = "cooldownRemaining";

    double _rate;
    // No value seen yet is kept as a flag rather than an infinite best, so the saved state stays finite
    // (JSON writers refuse infinities by default).
    bool _hasBest;
    double _best;
    int _wait;
    int _cooldownRemaining;

    public Plateau(
        double initialRate,
        double factor = 0.1,
        int patience = 10,
        PlateauMode mode = PlateauMode.Min,
        double epsilon = 1e-4,
        int cooldown = 0,
        double minRate = 0)
    {
        RateArguments.RequireNonNegativeFinite(initialRate, nameof(initialRate));
        if (!(factor > 0 && factor < 1))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1): a plateau reduces the rate.");
        RateArguments.RequireNonNegative(patience, nameof(patience));
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "mode must be Min or Max.");
        RateArguments.RequireNonNegativeFinite(epsilon, nameof(epsilon));
        RateArguments.RequireNonNegative(cooldown, nameof(cooldown));
        RateArguments.RequireNonNegativeFinite(minRate, nameof(minRate));

        InitialRate = initialRate;
        Factor = factor;
        Patience = patience;
        Mode = mode;
        Epsilon = epsilon;
        Cooldown = cooldown;
        MinRate = minRate;
        _rate = initialRate;
    }

    public double InitialRate { get; }
    public double Factor { get; }
    public int Patience { get; }
    public PlateauMode Mode { get; }
    public double Epsilon { get; }
    public int Cooldown { get; }
    public double MinRate { get; }

    /// <summary>The rate now in force.</summary>
    public double CurrentRate => _rate;

    public double RateAt(int iteration, int epoch)
    {
        RateArguments.RequireStep(iteration, epoch);
        return _rate;
    }

    public void EpochEnded(int epoch, double monitoredValue)
    {
        RateArguments.RequireNonNegative(epoch, nameof(epoch));

        bool inCooldown = _cooldownRemaining > 0;
        if (inCooldown)
            _cooldownRemaining--;

        // NaN never improves: a diverged epoch counts as waiting.
        if (Improves(monitoredValue))
        {
            _best = monitoredValue;
            _hasBest = true;
            _wait = 0;
            return;
        }
        if (inCooldown)
            return;

        _wait++;
        if (_wait >= Patience && _rate > MinRate)
        {
            _rate = Math.Max(_rate * Factor, MinRate);
            _cooldownRemaining = Cooldown;
            _wait = 0;
        }
    }

    bool Improves(double value)
    {
        if (double.IsNaN(value))
            return false;
        if (!_hasBest)
            return true;
        return Mode == PlateauMode.Min ? value < _best - Epsilon : value > _best + Epsilon;
    }

    public IReadOnlyDictionary<string, double> SaveState() => new Dictionary<string, double>
    {
        [RateKey] = _rate,
        [BestKey] = _hasBest ? _best : 0,
        [HasBestKey] = _hasBest ? 1 : 0,
        [WaitKey] = _wait,
        [CooldownKey] = _cooldownRemaining,
    };

    public void RestoreState(IReadOnlyDictionary<string, double> state)
    {
        string name = ToString();
        ScheduleState.RequireKeys(state, name, RateKey, BestKey, HasBestKey, WaitKey, CooldownKey);
        double rate = ScheduleState.ReadFinite(state, RateKey, name);
        if (rate < 0)
            throw new ArgumentException($"Saved state of {name} has a negative rate {rate}.", nameof(state));
        double best = ScheduleState.ReadFinite(state, BestKey, name);
        int hasBest = ScheduleState.ReadCount(state, HasBestKey, name);
        if (hasBest > 1)
            throw new ArgumentException($"Saved state of {name} has {HasBestKey} = {hasBest}, expected 0 or 1.", nameof(state));
        int wait = ScheduleState.ReadCount(state, WaitKey, name);
        int cooldownRemaining = ScheduleState.ReadCount(state, CooldownKey, name);

        _rate = rate;
        _best = best;
        _hasBest = hasBest == 1;
        _wait = wait;
        _cooldownRemaining = cooldownRemaining;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Plateau(initial {InitialRate}, x{Factor} after {Patience} epochs, {Mode}, epsilon {Epsilon}, cooldown {Cooldown}, min {MinRate})");
}
