using System.Globalization;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// Reads a schedule's saved state back, refusing state that belongs to another schedule: a checkpoint
/// restored into the wrong configuration must fail loudly rather than resume with half-right counters.
/// </summary>
static class ScheduleState
{
    public static readonly IReadOnlyDictionary<string, double> Empty = new Dictionary<string, double>();

    /// <summary>Checks that <paramref name="state"/> holds exactly <paramref name="expectedKeys"/>.</summary>
    public static void RequireKeys(IReadOnlyDictionary<string, double> state, string scheduleName, params string[] expectedKeys)
    {
        ArgumentNullException.ThrowIfNull(state);
        string[] missing = expectedKeys.Where(key => !state.ContainsKey(key)).ToArray();
        string[] unexpected = state.Keys.Where(key => !expectedKeys.Contains(key)).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length == 0 && unexpected.Length == 0)
            return;

        var problems = new List<string>();
        if (missing.Length > 0)
            problems.Add($"missing {string.Join(", ", missing)}");
        if (unexpected.Length > 0)
            problems.Add($"unexpected {string.Join(", ", unexpected)}");
        throw new ArgumentException(
            $"Saved state does not fit {scheduleName}: {string.Join("; ", problems)}. Was it saved from another schedule?",
            nameof(state));
    }

    /// <summary>Reads a counter that was saved as a double, insisting it is a non-negative whole number.</summary>
    public static int ReadCount(IReadOnlyDictionary<string, double> state, string key, string scheduleName)
    {
        double value = state[key];
        if (value < 0 || value > int.MaxValue || value != Math.Floor(value))
            throw new ArgumentException(
                $"Saved state of {scheduleName} has {key} = {value.ToString(CultureInfo.InvariantCulture)}, expected a non-negative whole number.",
                nameof(state));
        return (int)value;
    }

    public static double ReadFinite(IReadOnlyDictionary<string, double> state, string key, string scheduleName)
    {
        double value = state[key];
        if (!double.IsFinite(value))
            throw new ArgumentException(
                $"Saved state of {scheduleName} has {key} = {value.ToString(CultureInfo.InvariantCulture)}, expected a finite number.",
                nameof(state));
        return value;
    }
}
