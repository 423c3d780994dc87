namespace Recipes.AnomalyDetection;

/// <summary>A table of numbers, one row per time step and one named column per feature (row-major).</summary>
public sealed class FeatureMatrix
{
    readonly double[] _values;

    public FeatureMatrix(IReadOnlyList<string> columnNames, double[] values)
    {
        ArgumentNullException.ThrowIfNull(columnNames);
        ArgumentNullException.ThrowIfNull(values);
        if (columnNames.Count == 0) throw new ArgumentException("a feature matrix needs at least one column");
        if (values.Length % columnNames.Count != 0)
            throw new ArgumentException($"{values.Length} values do not fill rows of {columnNames.Count} columns");
        ColumnNames = columnNames;
        _values = values;
    }

    public IReadOnlyList<string> ColumnNames { get; }
    public int ColumnCount => ColumnNames.Count;
    public int RowCount => _values.Length / ColumnCount;

    public double this[int row, int column] => _values[row * ColumnCount + column];

    /// <summary>The values, row after row.</summary>
    public ReadOnlySpan<double> Values => _values;

    public ReadOnlySpan<double> Row(int row) => _values.AsSpan(row * ColumnCount, ColumnCount);

    public int ColumnIndex(string name)
    {
        for (int i = 0; i < ColumnCount; i++)
            if (ColumnNames[i] == name) return i;
        throw new ArgumentException($"no column named '{name}' (columns: {string.Join(", ", ColumnNames)})");
    }

    public double[] Column(int column)
    {
        var values = new double[RowCount];
        for (int row = 0; row < values.Length; row++) values[row] = this[row, column];
        return values;
    }
}

/// <summary>The seed's features of a demand series: the value itself, the hour of day and an "awake" flag.</summary>
public static class DemandFeatures
{
    public const string Value = "value", Hour = "hour", Awake = "awake";

    /// <summary>
    /// Columns <c>value</c>, <c>hour</c> (0-23) and <c>awake</c>: 1 from 06:00 to 23:59 and during midnight's
    /// hour, 0 from 01:00 to 05:59, when the city sleeps and taxi demand is lowest.
    /// </summary>
    public static FeatureMatrix ValueHourAwake(TimestampedSeries series)
    {
        var values = new double[series.Count * 3];
        for (int i = 0; i < series.Count; i++)
        {
            int hour = series.Timestamps[i].Hour;
            values[i * 3] = series.Values[i];
            values[i * 3 + 1] = hour;
            values[i * 3 + 2] = IsAwake(hour) ? 1 : 0;
        }
        return new FeatureMatrix([Value, Hour, Awake], values);
    }

    public static bool IsAwake(int hour) => hour is >= 6 and <= 23 or 0;
}
