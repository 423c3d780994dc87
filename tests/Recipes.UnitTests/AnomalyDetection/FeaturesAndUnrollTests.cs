using Recipes.AnomalyDetection;
using Recipes.Tests.Data;

namespace Recipes.Tests.AnomalyDetection;

public sealed class FeaturesAndUnrollTests
{
    [Fact]
    public void Hour_and_awake_features_follow_the_seed()
    {
        var day = Enumerable.Range(0, 48).Select(i => new DateTime(2014, 7, 1).AddMinutes(30 * i)).ToArray();
        var features = DemandFeatures.ValueHourAwake(new TimestampedSeries("d.csv", day, day.Select((_, i) => (double)i).ToArray()));
        Assert.Equal(["value", "hour", "awake"], features.ColumnNames);
        for (int i = 0; i < 48; i++)
        {
            int hour = i / 2;
            Assert.Equal(i, features[i, 0]);
            Assert.Equal(hour, features[i, 1]);
            // awake = (6 <= hour <= 23) or hour == 0
            Assert.Equal(hour is 0 or >= 6 ? 1.0 : 0.0, features[i, 2]);
        }
    }

    [Fact]
    public void Scaler_uses_only_the_rows_it_is_fitted_on()
    {
        var features = new FeatureMatrix(["a", "constant"], [1, 7, 2, 7, 3, 7, 100, 7]);
        var scaler = StandardScaler.Fit(features, rowCount: 3);
        Assert.Equal(2.0, scaler.Means[0], 12);
        Assert.Equal(Math.Sqrt(2.0 / 3.0), scaler.Scales[0], 12); // population std, as scikit-learn
        Assert.Equal(1.0, scaler.Scales[1]);                         // a constant column maps to 0, not NaN
        var scaled = scaler.Transform(features);
        Assert.Equal(-1.224744871391589, scaled[0, 0], 12);
        Assert.Equal((100 - 2.0) / Math.Sqrt(2.0 / 3.0), scaled[3, 0], 9);
        Assert.Equal(0.0, scaled[2, 1]);
        Assert.Equal(100.0, scaler.Unscale(0, scaled[3, 0]), 9);
    }

    [Fact]
    public void Windows_hold_consecutive_rows_and_the_target_horizon_steps_after_the_last()
    {
        // Row r holds (r, 10r): every value tells where it came from.
        var table = new FeatureMatrix(["v", "w"], Enumerable.Range(0, 20).SelectMany(r => new double[] { r, 10 * r }).ToArray());
        var windows = Unroll.Windows(table, targetColumn: 1, length: 3, horizon: 2, firstStart: 4, count: 5);
        Assert.Equal(5, windows.Count);
        Assert.Equal([4f, 40f, 5f, 50f, 6f, 60f], windows.Inputs[..6]);          // window 0: rows 4, 5, 6
        Assert.Equal(80f, windows.Targets[0]);                                    // target: column w of row 6 + 2
        Assert.Equal([8, 9, 10, 11, 12], windows.TargetRows);
        Assert.Equal([8f, 80f, 9f, 90f, 10f, 100f], windows.Inputs[^6..]);       // window 4: rows 8, 9, 10
        var every = Unroll.Every(table, targetColumn: 0, length: 3, horizon: 1);
        Assert.Equal(17, every.Count);
        Assert.Equal(19f, every.Targets[^1]);
        Assert.Throws<ArgumentException>(() => Unroll.Windows(table, 0, 3, 2, firstStart: 15, count: 2));
    }

    [Fact]
    public void The_seed_split_of_NYC_taxi_has_the_seeds_shapes_and_alignment()
    {
        var series = TimeSeriesCsv.Read(SharedSampleData.NycTaxiCsv);
        var features = DemandFeatures.ValueHourAwake(series);
        int trainingRows = Unroll.NotebookTrainingRowCount(series.Count);
        Assert.Equal(9269, trainingRows);
        var scaler = StandardScaler.Fit(features, trainingRows);
        var scaled = scaler.Transform(features);
        var (train, test) = Unroll.NotebookSplit(scaled, targetColumn: 0);

        // x_train 9218x50x3, y_train 9218, x_test 1000x50x3, y_test 1000: the seed notebook's printout.
        Assert.Equal((9218, 50, 3), (train.Count, train.Length, train.FeatureCount));
        Assert.Equal(9218 * 50 * 3, train.Inputs.Length);
        Assert.Equal(9218, train.Targets.Length);
        Assert.Equal((1000, 50, 3), (test.Count, test.Length, test.FeatureCount));
        Assert.Equal(1000, test.Targets.Length);

        // The seed's alignment: rows [i, i+50) predict row i+51; the test targets are the last 1000 rows, and
        // no training window reaches into the rows the test windows read.
        Assert.Equal(51, train.TargetRows[0]);
        Assert.Equal(9268, train.TargetRows[^1]);
        Assert.Equal(9320, test.TargetRows[0]);
        Assert.Equal(series.Count - 1, test.TargetRows[^1]);
        Assert.Equal((float)scaled[51, 0], train.Targets[0]);
        Assert.Equal((float)scaled[9269, 0], test.Inputs[0]);                 // first test window starts at row 9269
        Assert.Equal((float)scaled[9318, 2], test.Inputs[49 * 3 + 2]);        // ... and ends at row 9318
        Assert.Equal(series.Values[^1], scaler.Unscale(0, test.Targets[^1]), 1);

        using var batches = test.ToBatchSource();
        var (input, target) = batches.GetBatch([0, 999]);
        Assert.Equal([2L, 50, 3], input.shape);
        Assert.Equal([2L, 1], target.shape);
        input.Dispose();
        target.Dispose();
    }

    [Fact]
    public void A_series_too_short_for_the_seed_split_is_refused_with_the_reason()
    {
        var table = new FeatureMatrix(["v"], new double[1100]);
        var error = Assert.Throws<ArgumentException>(() => Unroll.NotebookSplit(table, 0));
        Assert.Contains("1100 rows are too few", error.Message);
    }
}
