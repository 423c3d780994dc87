using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// BigDL's SequentialSchedule: children run one after another, each for its iteration budget. A child sees
/// its own clock: the iteration counted from its first step, and the epoch counted from the epoch in which
/// it started (<c>startIteration / iterationsPerEpoch</c>, as BigDL). The last child keeps running after
/// its budget is spent, so a final Plateau can be added with <see cref="int.MaxValue"/> iterations.
/// </summary>
public sealed class SequentialSchedule : ILearningRateSchedule
{
    const string StagePrefix = "stage";

    readonly List<Stage> _stages = [];

    sealed record Stage(ILearningRateSchedule Schedule, int StartIteration, long EndIteration, int StartEpoch);

    public SequentialSchedule(int iterationsPerEpoch)
    {
        RateArguments.RequirePositive(iterationsPerEpoch, nameof(iterationsPerEpoch));
        IterationsPerEpoch = iterationsPerEpoch;
    }

    /// <summary>
    /// The chest X-ray recipe's schedule: a linear warm-up over <paramref name="warmupEpochs"/> epochs from
    /// <paramref name="fromRate"/> towards <paramref name="toRate"/>, then a <see cref="Plateau"/> that starts
    /// at <paramref name="toRate"/> and runs to the end of training. The seed's configuration is
    /// <c>WarmupThenPlateau(iterationsPerEpoch, 5, 1e-7, 1e-4, factor: 0.1, patience: 1, epsilon: 0.01, minRate: 1e-15)</c>.
    /// </summary>
    public static SequentialSchedule WarmupThenPlateau(
        int iterationsPerEpoch,
        int warmupEpochs,
        double fromRate,
        double toRate,
        double factor = 0.1,
        int patience = 10,
        PlateauMode mode = PlateauMode.Min,
        double epsilon = 1e-4,
        int cooldown = 0,
        double minRate = 0)
    {
        RateArguments.RequirePositive(iterationsPerEpoch, nameof(iterationsPerEpoch));
        RateArguments.RequirePositive(warmupEpochs, nameof(warmupEpochs));
        long warmupIterations = (long)iterationsPerEpoch * warmupEpochs;
        if (warmupIterations > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, $"{warmupEpochs} epochs of {iterationsPerEpoch} iterations overflow the iteration counter.");

        return new SequentialSchedule(iterationsPerEpoch)
            .Add(Warmup.Between(fromRate, toRate, (int)warmupIterations), (int)warmupIterations)
            .Add(new Plateau(toRate, factor, patience, mode, epsilon, cooldown, minRate), int.MaxValue);
    }

    public int IterationsPerEpoch { get; }

    public IReadOnlyList<ILearningRateSchedule> Schedules => _stages.Select(stage => stage.Schedule).ToList();

    /// <summary>Appends <paramref name="schedule"/> to run for <paramref name="maxIterations"/> optimizer steps after the previous ones.</summary>
    public SequentialSchedule Add(ILearningRateSchedule schedule, int maxIterations)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        RateArguments.RequirePositive(maxIterations, nameof(maxIterations));
        if (ReferenceEquals(schedule, this))
            throw new ArgumentException("A sequential schedule cannot contain itself.", nameof(schedule));

        long start = _stages.Count == 0 ? 0 : _stages[^1].EndIteration;
        // A budget reaching the end of the iteration counter means "until training ends".
        if (start >= int.MaxValue)
            throw new InvalidOperationException($"The previous schedule, {_stages[^1].Schedule}, never ends (its budget reaches the end of the iteration counter); nothing can run after it.");
        _stages.Add(new Stage(schedule, (int)start, start + maxIterations, (int)start / IterationsPerEpoch));
        return this;
    }

    public double RateAt(int iteration, int epoch)
    {
        RateArguments.RequireStep(iteration, epoch);
        Stage stage = StageOwning(iteration);
        int localEpoch = epoch - stage.StartEpoch;
        if (localEpoch < 0)
            throw new ArgumentException(
                $"Iteration {iteration} belongs to {stage.Schedule}, which started in epoch {stage.StartEpoch}, but the epoch given is {epoch}: " +
                $"is iterationsPerEpoch ({IterationsPerEpoch}) the number of optimizer steps in an epoch?",
                nameof(epoch));
        return stage.Schedule.RateAt(iteration - stage.StartIteration, localEpoch);
    }

    /// <summary>Forwards to the child that ran the epoch's last step, in that child's epoch numbering.</summary>
    public void EpochEnded(int epoch, double monitoredValue)
    {
        RateArguments.RequireNonNegative(epoch, nameof(epoch));
        long lastIterationOfEpoch = (long)(epoch + 1) * IterationsPerEpoch - 1;
        Stage stage = StageOwning(lastIterationOfEpoch);
        stage.Schedule.EpochEnded(epoch - stage.StartEpoch, monitoredValue);
    }

    Stage StageOwning(long iteration)
    {
        if (_stages.Count == 0)
            throw new InvalidOperationException("The sequential schedule is empty: Add at least one schedule before training.");
        foreach (Stage stage in _stages)
        {
            if (iteration < stage.EndIteration)
                return stage;
        }
        return _stages[^1];
    }

    /// <summary>Each child's state, its keys prefixed with the child's position (<c>stage1.rate</c>).</summary>
    public IReadOnlyDictionary<string, double> SaveState()
    {
        var state = new Dictionary<string, double>();
        for (int index = 0; index < _stages.Count; index++)
        {
            foreach ((string key, double value) in _stages[index].Schedule.SaveState())
                state[$"{StagePrefix}{index}.{key}"] = value;
        }
        return state;
    }

    public void RestoreState(IReadOnlyDictionary<string, double> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var perStage = new Dictionary<string, double>[_stages.Count];
        for (int index = 0; index < perStage.Length; index++)
            perStage[index] = [];

        foreach ((string key, double value) in state)
        {
            int index = StageIndexOf(key, out string childKey);
            if (index < 0)
                throw new ArgumentException($"Saved state does not fit {this}: unexpected key {key}. Was it saved from another schedule?", nameof(state));
            perStage[index][childKey] = value;
        }

        // Check every child before changing any, so a bad state leaves the schedule as it was.
        IReadOnlyDictionary<string, double>[] before = _stages.Select(stage => stage.Schedule.SaveState()).ToArray();
        try
        {
            for (int index = 0; index < _stages.Count; index++)
                _stages[index].Schedule.RestoreState(perStage[index]);
        }
        catch
        {
            for (int index = 0; index < _stages.Count; index++)
                _stages[index].Schedule.RestoreState(before[index]);
            throw;
        }
    }

    int StageIndexOf(string key, out string childKey)
    {
        childKey = "";
        if (!key.StartsWith(StagePrefix, StringComparison.Ordinal))
            return -1;
        int dot = key.IndexOf('.', StagePrefix.Length);
        if (dot < 0 || !int.TryParse(key.AsSpan(StagePrefix.Length, dot - StagePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || index >= _stages.Count)
            return -1;
        childKey = key[(dot + 1)..];
        return index;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Sequential({IterationsPerEpoch} iterations/epoch: {string.Join(", then ", _stages.Select(stage => $"{stage.Schedule} from iteration {stage.StartIteration}"))})");
}
