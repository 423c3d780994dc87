using System.Collections.Concurrent;

namespace Recipes.Runtime.Vision;

/// <summary>A file a pipeline could not use, and why.</summary>
public sealed record SkippedImage(string Origin, string Problem);

/// <summary>
/// The files a pipeline skipped (corrupt, truncated, oversized), each named once with its problem, for the
/// run's report. Thread-safe.
/// </summary>
public sealed class SkippedImages
{
    readonly ConcurrentDictionary<string, SkippedImage> _byOrigin = new(StringComparer.Ordinal);

    public int Count => _byOrigin.Count;

    /// <summary>Records a skip; false when the file was already recorded.</summary>
    public bool Add(string origin, string problem) => _byOrigin.TryAdd(origin, new SkippedImage(origin, problem));

    public bool Contains(string origin) => _byOrigin.ContainsKey(origin);

    /// <summary>Every skipped file, in ordinal order of origin.</summary>
    public IReadOnlyList<SkippedImage> Items => _byOrigin.Values.OrderBy(item => item.Origin, StringComparer.Ordinal).ToArray();
}
