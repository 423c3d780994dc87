
namespace Recipes.AnomalyDetection;

/// <summary>
/// Inputs of the weekly forecaster for one row t of a regularly sampled demand series: the latest values it
/// may see (up to t - horizon), the values around the same time yesterday and a week ago, the time of day
/// (sine and cosine) and the day of the week (one-hot). Values are standardised with a mean and scale the
/// caller fits on the past only. Holidays are deliberately NOT inputs: NAB labels Thanksgiving, Christmas and
/// New Year as the anomalies to find, so a model told "today is a holiday" would be told the answer.
/// </summary>
public sealed class WeeklyDemandFeatures
{
    /// <summary>Steps a day and a week hold, from the series' own sampling interval.</summary>
    public int StepsPerDay { get; }
    public int StepsPerWeek => 7 * StepsPerDay;
    public int Horizon { get; }
    public int RecentCount { get; }
    /// <summary>Values either side of the same time yesterday and last week.</summary>
    public const int SeasonalHalfWidth = 2;

    public WeeklyDemandFeatures(TimestampedSeries series, int horizon = 1, int recentCount = 6)
    {
        if (series.Count < 2) throw new ArgumentException("a series needs at least two points to know its step");
        TimeSpan step = series.Timestamps[1] - series.Timestamps[0];
        double perDay = TimeSpan.FromDays(1) / step;
        if (step <= TimeSpan.Zero || Math.Abs(perDay - Math.Round(perDay)) > 1e-9 || perDay < 4)
            throw new ArgumentException($"the weekly features need a step that divides a day into at least 4 parts; {series.Name} steps by {step}");
        StepsPerDay = (int)Math.Round(perDay);
        // "A day ago" and "a week ago" are counted in rows, so every step must be the same.
        for (int i = 2; i < series.Count; i++)
            if (series.Timestamps[i] - series.Timestamps[i - 1] != step)
                throw new ArgumentException($"the weekly features need evenly spaced rows; {series.Name} steps by {step} but the row for " +
                                            $"{series.Timestamps[i]:yyyy-MM-dd HH:mm:ss} comes {series.Timestamps[i] - series.Timestamps[i - 1]} after the one before");
        if (horizon < 1 || horizon > StepsPerDay - SeasonalHalfWidth)
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, $"the horizon must be 1 to {StepsPerDay - SeasonalHalfWidth} steps for {series.Name} (yesterday's inputs must be in the past)");
        ArgumentOutOfRangeException.ThrowIfLessThan(recentCount, 1);
        Horizon = horizon;
        RecentCount = recentCount;
        Series = series;
    }

    public TimestampedSeries Series { get; }

    public int FeatureCount => RecentCount + 2 * (2 * SeasonalHalfWidth + 1) + 2 + 7;

    /// <summary>The first row whose inputs all exist: a week and the half-width before it must be in the series.</summary>
    public int FirstRow => Math.Max(StepsPerWeek + SeasonalHalfWidth, Horizon + RecentCount - 1);

    /// <summary>Writes the inputs of row <paramref name="row"/> into <paramref name="destination"/> (FeatureCount floats).</summary>
    public void Write(int row, double mean, double scale, Span<float> destination)
    {
        if (row < FirstRow || row >= Series.Count) throw new ArgumentOutOfRangeException(nameof(row), row, $"rows {FirstRow}..{Series.Count - 1} have inputs");
        int k = 0;
        for (int lag = Horizon; lag < Horizon + RecentCount; lag++) destination[k++] = Scaled(row - lag);
        foreach (int seasonal in new[] { StepsPerDay, StepsPerWeek })
            for (int offset = -SeasonalHalfWidth; offset <= SeasonalHalfWidth; offset++)
            {
                // Same time yesterday (or last week), and a little either side; never later than t - horizon.
                int source = Math.Min(row - seasonal + offset, row - Horizon);
                destination[k++] = Scaled(source);
            }
        DateTime time = Series.Timestamps[row];
        double dayFraction = time.TimeOfDay.TotalDays;
        destination[k++] = (float)Math.Sin(2 * Math.PI * dayFraction);
        destination[k++] = (float)Math.Cos(2 * Math.PI * dayFraction);
        for (int day = 0; day < 7; day++) destination[k++] = (int)time.DayOfWeek == day ? 1f : 0f;

        float Scaled(int source) => (float)((Series.Values[source] - mean) / scale);
    }
}
