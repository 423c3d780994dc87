using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.AnomalyDetection;

/// <summary>
/// Samples for a one-value forecaster: each is <see cref="Length"/> consecutive rows of features (the input,
/// shaped [Length, FeatureCount]) and one later value of the target column (the label), with the row of the
/// series that label came from, so a prediction can be put back on the time axis.
/// </summary>
public sealed class ForecastWindows
{
    public ForecastWindows(int length, int featureCount, float[] inputs, float[] targets, int[] targetRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        if (targets.Length != targetRows.Length) throw new ArgumentException($"{targets.Length} targets but {targetRows.Length} target rows");
        if (inputs.Length != (long)targets.Length * length * featureCount)
            throw new ArgumentException($"{inputs.Length} input values do not make {targets.Length} windows of {length}x{featureCount}");
        Length = length;
        FeatureCount = featureCount;
        Inputs = inputs;
        Targets = targets;
        TargetRows = targetRows;
    }

    public int Count => Targets.Length;
    public int Length { get; }
    public int FeatureCount { get; }
    /// <summary>All windows, flattened as [Count, Length, FeatureCount].</summary>
    public float[] Inputs { get; }
    public float[] Targets { get; }
    /// <summary>For each window, the row of the series its target was taken from.</summary>
    public int[] TargetRows { get; }

    /// <summary>The first <paramref name="count"/> windows (quick runs).</summary>
    public ForecastWindows Take(int count)
    {
        count = Math.Clamp(count, 0, Count);
        int perWindow = Length * FeatureCount;
        return new ForecastWindows(Length, FeatureCount, Inputs[..(count * perWindow)], Targets[..count], TargetRows[..count]);
    }

    /// <summary>Inputs as a [Count, Length, FeatureCount] tensor and targets as [Count, 1], for training and prediction.</summary>
    public InMemoryBatchSource ToBatchSource() =>
        new(tensor(Inputs).reshape(Count, Length, FeatureCount), tensor(Targets).reshape(Count, 1));
}

/// <summary>
/// Cuts a feature table into forecasting windows (Analytics Zoo's <c>unroll</c>), including the exact
/// train/test split of the seed notebook.
/// </summary>
public static class Unroll
{
    /// <summary>
    /// Steps from a window's last row to its target in the seed notebook: 2, not 1. The notebook shifts the
    /// labels by one step and then its unroll drops the last window, so each target is the value one step
    /// after the one that follows the window (rows [i, i+50) predict row i+51).
    /// </summary>
    public const int NotebookHorizon = 2;

    /// <summary>
    /// <paramref name="count"/> windows: window k holds rows [s, s + length) with s = firstStart + k, and its
    /// target is column <paramref name="targetColumn"/> at row s + length - 1 + horizon.
    /// </summary>
    public static ForecastWindows Windows(FeatureMatrix features, int targetColumn, int length, int horizon, int firstStart, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(firstStart);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(targetColumn);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(targetColumn, features.ColumnCount);
        int lastTargetRow = firstStart + count - 1 + length - 1 + horizon;
        if (count > 0 && lastTargetRow >= features.RowCount)
            throw new ArgumentException($"{count} windows of {length} rows from row {firstStart} with horizon {horizon} need {lastTargetRow + 1} rows; there are {features.RowCount}");

        int columns = features.ColumnCount, perWindow = length * columns;
        var inputs = new float[count * perWindow];
        var targets = new float[count];
        var targetRows = new int[count];
        ReadOnlySpan<double> values = features.Values;
        for (int k = 0; k < count; k++)
        {
            int start = firstStart + k;
            var source = values.Slice(start * columns, perWindow);
            var destination = inputs.AsSpan(k * perWindow, perWindow);
            for (int i = 0; i < perWindow; i++) destination[i] = (float)source[i];
            targetRows[k] = start + length - 1 + horizon;
            targets[k] = (float)features[targetRows[k], targetColumn];
        }
        return new ForecastWindows(length, columns, inputs, targets, targetRows);
    }

    /// <summary>Every window the series allows: targets from row length - 1 + horizon to the last row.</summary>
    public static ForecastWindows Every(FeatureMatrix features, int targetColumn, int length, int horizon) =>
        Windows(features, targetColumn, length, horizon, 0, Math.Max(0, features.RowCount - length - horizon + 1));

    /// <summary>
    /// The rows the workshop notebook's training windows touch, inputs and targets: [0, n - testSize - length - 1). The
    /// first test window starts right after them, so fit the scaler on exactly these rows.
    /// </summary>
    public static int NotebookTrainingRowCount(int rowCount, int length = 50, int testSize = 1000) =>
        rowCount - testSize - length - 1;

    /// <summary>
    /// The seed notebook's split: the last <paramref name="testSize"/> rows are the test targets, the
    /// windows before them are the training set, each target <see cref="NotebookHorizon"/> steps after its window.
    /// On NAB's nyc_taxi.csv (10,320 rows) that gives 9,218 training and 1,000 test windows of 50x3.
    /// </summary>
    public static (ForecastWindows Train, ForecastWindows Test) NotebookSplit(FeatureMatrix features, int targetColumn, int length = 50, int testSize = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(testSize, 1);
        int rows = features.RowCount;
        // The notebook: x_train = rows [0, n - testSize - length - 2), unrolled; x_test = rows [n - testSize - length - 1, n - 1).
        int trainCount = rows - testSize - 2 * length - 2;
        if (trainCount < 1)
            throw new ArgumentException($"{rows} rows are too few for {testSize} test points after windows of {length} (need at least {testSize + 2 * length + 3})");
        var train = Windows(features, targetColumn, length, NotebookHorizon, firstStart: 0, trainCount);
        var test = Windows(features, targetColumn, length, NotebookHorizon, firstStart: NotebookTrainingRowCount(rows, length, testSize), testSize);
        return (train, test);
    }
}
