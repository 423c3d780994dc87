using System.Text;
using System.Text.RegularExpressions;

namespace Recipes.Runtime.Recipes;

/// <summary>
/// The naming convention of the <c>metrics</c> in every recipe's metrics.json, so that runs of different recipes
/// can be read by the same scripts: lower snake_case keys; the split a metric was measured on as a prefix
/// (<c>train_</c>, <c>validation_</c>, <c>test_</c>); a cut-off written with <c>@</c> (<c>hr@10</c>,
/// <c>ndcg@10</c>, <c>precision@1</c>, <c>map@0.5</c>), after which a lower snake_case qualifier may follow
/// (<c>test_ap@0.5_raccoon</c>). <see cref="Problem"/> says how a key breaks it; <see cref="Part"/> turns a
/// class or finding name into a key part.
/// </summary>
public static partial class MetricNames
{
    public static IReadOnlyList<string> SplitPrefixes { get; } = ["train_", "validation_", "test_"];

    /// <summary>Other spellings of a split, at the start or end of a key, that the convention replaces by a prefix.</summary>
    static readonly string[] OtherSplitPrefixes = ["val_", "valid_", "eval_", "evaluation_", "training_", "testing_", "dev_"];
    static readonly string[] SplitSuffixes = ["_train", "_training", "_val", "_valid", "_validation", "_test", "_testing", "_eval"];

    [GeneratedRegex(@"^[a-z0-9]+(_[a-z0-9]+)*(@[0-9]+(\.[0-9]+)?(_[a-z0-9]+)*)?$")]
    private static partial Regex Shape();

    [GeneratedRegex(@"(^|_)at_?[0-9]")]
    private static partial Regex SpelledCutOff();

    /// <summary>Why <paramref name="key"/> breaks the convention, or null when it follows it.</summary>
    public static string? Problem(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (SpelledCutOff().IsMatch(key))
            return $"'{key}' spells its cut-off with 'at': write it with @ (precision@5, hr@10)";
        if (!Shape().IsMatch(key))
            return $"'{key}' is not lower snake_case with an optional @cut-off (test_accuracy, hr@10, test_ap@0.5_raccoon)";
        foreach (string prefix in OtherSplitPrefixes)
            if (key.StartsWith(prefix, StringComparison.Ordinal))
                return $"'{key}' names its split as '{prefix}': use one of the prefixes {string.Join(", ", SplitPrefixes)}";
        string beforeCutOff = key.Split('@')[0];
        foreach (string suffix in SplitSuffixes)
            if (beforeCutOff.EndsWith(suffix, StringComparison.Ordinal))
                return $"'{key}' names its split as a suffix '{suffix}': put it first as a prefix ({string.Join(", ", SplitPrefixes)})";
        return null;
    }

    /// <summary>
    /// A class or finding name as a key part: lower case, every run of other characters one underscore
    /// ("Pleural_Thickening" becomes "pleural_thickening", "No Finding" "no_finding").
    /// </summary>
    public static string Part(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var part = new StringBuilder(name.Length);
        foreach (char c in name.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') part.Append(c);
            else if (part.Length > 0 && part[^1] != '_') part.Append('_');
        }
        string result = part.ToString().TrimEnd('_');
        return result.Length > 0 ? result : throw new ArgumentException($"'{name}' has no letter or digit to name a metric by", nameof(name));
    }
}
