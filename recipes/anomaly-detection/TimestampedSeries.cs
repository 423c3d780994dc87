namespace Recipes.AnomalyDetection;

/// <summary>
/// One value per timestamp, timestamps strictly increasing (NAB's <c>timestamp,value</c> files).
/// <paramref name="Name"/> is the file name the series is known by, e.g. <c>nyc_taxi.csv</c>, which is also
/// how a labels file refers to it.
/// </summary>
public sealed record TimestampedSeries(string Name, IReadOnlyList<DateTime> Timestamps, IReadOnlyList<double> Values)
{
    public IReadOnlyList<DateTime> Timestamps { get; } = CheckTimestamps(Timestamps, Values);

    public int Count => Timestamps.Count;

    /// <summary>The index of the first timestamp at or after <paramref name="time"/> (Count when none is).</summary>
    public int IndexAtOrAfter(DateTime time)
    {
        int low = 0, high = Count;
        while (low < high)
        {
            int middle = (low + high) / 2;
            if (Timestamps[middle] < time) low = middle + 1; else high = middle;
        }
        return low;
    }

    static IReadOnlyList<DateTime> CheckTimestamps(IReadOnlyList<DateTime> timestamps, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        ArgumentNullException.ThrowIfNull(values);
        if (timestamps.Count != values.Count)
            throw new ArgumentException($"{timestamps.Count} timestamps but {values.Count} values");
        for (int i = 1; i < timestamps.Count; i++)
            if (timestamps[i] <= timestamps[i - 1])
                throw new ArgumentException($"timestamps must increase: {timestamps[i]:s} follows {timestamps[i - 1]:s}");
        return timestamps;
    }
}
