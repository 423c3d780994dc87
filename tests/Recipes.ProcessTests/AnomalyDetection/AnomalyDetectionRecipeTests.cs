using System.Text.Json;
using Recipes.AnomalyDetection;
using Recipes.Tests.Data;
using Recipes.Tests.Recipes;

namespace Recipes.Tests.AnomalyDetection;

/// <summary>Short end-to-end runs of the anomaly-detection recipe as a separate process (seconds, not minutes).</summary>
public sealed class AnomalyDetectionRecipeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"anomaly-recipe-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    string[] Common(string output) =>
        ["--output", output, "--cache", Path.Combine(_folder, "cache"), "--epochs", "1", "--batch-size", "500", "--master", "local[2]"];

    static JsonElement Metrics(string output)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json"))).RootElement;
        MetricsConvention.AssertFollowed(root);
        return root;
    }

    [Fact]
    public void Offline_run_generates_a_series_and_scores_the_whole_of_it_against_its_own_labels()
    {
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("anomaly-detection", [.. Common(output), "--offline", "--max-samples", "1500", "--whole-series"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);

        var root = Metrics(output);
        Assert.Equal("anomaly-detection", root.GetProperty("recipe").GetString());
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal(2, root.GetProperty("workers").GetInt32());
        var metrics = root.GetProperty("metrics");
        // The seed's step: flags the top 1% of its errors over the whole series (--whole-series).
        Assert.Equal(5, metrics.GetProperty("notebook_windows_total").GetInt32());
        Assert.InRange(metrics.GetProperty("notebook_windows_detected").GetInt32(), 0, 5);
        Assert.True(metrics.GetProperty("notebook_false_positives").GetInt32() >= 0);
        Assert.True(metrics.GetProperty("notebook_nab_score").GetDouble() <= 100);
        // 1% of the 10,269 points the whole series can forecast (ties could add a few).
        int anomalies = metrics.GetProperty("notebook_anomalies").GetInt32();
        Assert.InRange(anomalies, 102, 110);
        Assert.Equal(10_269, root.GetProperty("scored_points").GetInt32());
        Assert.Equal(1500, root.GetProperty("train_windows").GetInt32());

        string[] csv = File.ReadAllLines(Path.Combine(output, AnomalyCsv.FileName));
        Assert.Equal(AnomalyCsv.Header, csv[0]);
        Assert.Equal(anomalies, csv.Length - 1);
        Assert.Equal(metrics.GetProperty("notebook_false_positives").GetInt32(), csv.Count(line => line.EndsWith(",false")) - NotScored(csv));

        // The detector (step 9) always scores the whole series. On the generated series (seen: 4 of 5 windows, 2 false
        // positives, raw 2.26 against the null detector's -5) it must find most events and beat flagging nothing by
        // far; the margin leaves room for another machine's rounding in the walk-forward training.
        Assert.Equal(5, metrics.GetProperty("windows_total").GetInt32());
        Assert.InRange(metrics.GetProperty("windows_detected").GetInt32(), 3, 5);
        Assert.Equal(-5.0, metrics.GetProperty("nab_null_raw_score").GetDouble());
        Assert.Equal(5.0, metrics.GetProperty("nab_perfect_raw_score").GetDouble());
        double raw = metrics.GetProperty("nab_raw_score").GetDouble();
        Assert.True(raw > 0, $"detector raw NAB score {raw}");
        Assert.Equal(100 * (raw + 5) / 10, metrics.GetProperty("nab_score").GetDouble(), 9);
        int alarms = metrics.GetProperty("alarms").GetInt32();
        Assert.InRange(alarms, 3, 20);
        Assert.Equal(alarms, File.ReadAllLines(Path.Combine(output, "alarms.csv")).Length - 1);
        Assert.Equal(alarms, root.GetProperty("detector").GetProperty("alarms").GetArrayLength());
        foreach (string file in new[] { "detections.png", AnomalyCharts.SeriesFile, AnomalyCharts.PredictionFile, AnomalyCharts.ErrorFile, AnomalyCharts.AnomaliesFile, "training.png", "model.bin", "model.json", "data/generated_taxi.csv", "data/generated_windows.json" })
            Assert.True(new FileInfo(Path.Combine(output, file)).Length > 0, file);
        Assert.True(ReloadDifference(run.Output) <= ReloadTolerance, run.Output);
    }

    // The reloaded model computes the same forecasts, but not necessarily bit for bit: the trained model's were computed
    // during training by a replica with its own share of the cores, the reloaded one's by a fresh model with another
    // thread count, and libtorch's float32 kernels (AVX2 or AVX-512, chosen by CPU) sum in an order that depends on both.
    // Seen: 0 on one machine, 3e-8 on another. Forecasts are standardised (order 1), so rounding over 50 LSTM steps stays
    // many orders of magnitude below 1e-4, while weights that failed to load would give differences of order 0.1-1.
    const double ReloadTolerance = 1e-4;

    static double ReloadDifference(string output)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output, @"differ from the trained model's by at most (\S+)");
        Assert.True(match.Success, "no reload comparison in the output: " + output);
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    // Flags in NAB's probationary period (the first 750 points) are neither windows nor false positives.
    static int NotScored(string[] csv) =>
        csv.Skip(1).Count(line => DateTime.Parse(line[..19], System.Globalization.CultureInfo.InvariantCulture) < new DateTime(2014, 7, 1).AddMinutes(30 * 750) && line.EndsWith(",false"));

    [Fact]
    public void The_real_series_gives_the_seeds_shapes_and_is_scored_against_a_NAB_labels_file()
    {
        // NAB's labels file for this series, written in NAB's format from its nyc_taxi entry.
        string labels = Path.Combine(_folder, "combined_windows.json");
        Directory.CreateDirectory(_folder);
        NabWindowsFile.Write(labels, new Dictionary<string, IReadOnlyList<AnomalyWindow>> { [NabNycTaxi.LabelsKey] = NabNycTaxi.KnownWindows });

        string output = Path.Combine(_folder, "real");
        var run = RecipeProcess.Run("anomaly-detection", [.. Common(output), "--data", SharedSampleData.NycTaxiCsv, "--windows", labels]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("x_train 9218x50x3, y_train 9218, x_test 1000x50x3, y_test 1000", run.Output);
        Assert.Contains($"Labels: 5 anomaly windows from {labels}", run.Output);

        var root = Metrics(output);
        Assert.Equal("local", root.GetProperty("data_source").GetString());
        Assert.Equal("test", root.GetProperty("score_range").GetString());
        var metrics = root.GetProperty("metrics");
        // Only the January blizzard falls in the last 1,000 points; the seed flags its 10 largest errors.
        Assert.Equal(1, metrics.GetProperty("notebook_windows_total").GetInt32());
        Assert.Equal(10, metrics.GetProperty("notebook_anomalies").GetInt32());
        Assert.Equal(10, File.ReadAllLines(Path.Combine(output, AnomalyCsv.FileName)).Length - 1);
        Assert.Contains("4 labelled windows fall outside the scored range", run.Output);
        // The detector scores all five windows of the real series against the same labels file.
        Assert.Equal(5, metrics.GetProperty("windows_total").GetInt32());
        Assert.True(new FileInfo(Path.Combine(output, "detections.png")).Length > 0);
    }

    [Fact]
    public void An_unevenly_spaced_series_is_refused_before_training_naming_the_file_and_the_row()
    {
        // The detector's "a day ago" and "a week ago" are counted in rows; one missing row would shift them.
        Directory.CreateDirectory(_folder);
        string data = Path.Combine(_folder, "gap.csv");
        File.WriteAllText(data, "timestamp,value\n" + string.Concat(Enumerable.Range(0, 1300).Where(i => i != 700).Select(i =>
            $"{new DateTime(2014, 7, 1).AddMinutes(30 * i):yyyy-MM-dd HH:mm:ss},{1000 + i % 48}\n")));
        var run = RecipeProcess.Run("anomaly-detection", [.. Common(Path.Combine(_folder, "out")), "--data", data]);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {data}: the weekly features need evenly spaced rows; gap.csv steps by 00:30:00 but the row for 2014-07-15 14:30:00 comes 01:00:00 after the one before",
            run.Errors.Trim());
        Assert.DoesNotContain("train loss", run.Output); // refused before the seed's training, not after it
    }

    [Theory]
    [InlineData(1040)]
    [InlineData(1100)]
    public void A_series_too_short_for_the_recipe_ends_in_one_line_naming_the_file(int rows)
    {
        Directory.CreateDirectory(_folder);
        string data = Path.Combine(_folder, $"short{rows}.csv");
        File.WriteAllText(data, "timestamp,value\n" + string.Concat(Enumerable.Range(0, rows).Select(i =>
            $"{new DateTime(2014, 7, 1).AddMinutes(30 * i):yyyy-MM-dd HH:mm:ss},{1000 + i % 48}\n")));
        var run = RecipeProcess.Run("anomaly-detection", [.. Common(Path.Combine(_folder, "out")), "--data", data]);
        Assert.Equal(1, run.ExitCode);
        string error = run.Errors.Trim();
        Assert.Single(error.Split('\n'));
        Assert.StartsWith($"error: {data}: {rows:N0} rows are too few: this recipe needs at least 1,103", error);
    }

    [Fact]
    public void A_malformed_series_ends_in_one_line_naming_the_file_and_exit_code_1()
    {
        Directory.CreateDirectory(_folder);
        string data = Path.Combine(_folder, "bad.csv");
        File.WriteAllText(data, "timestamp,value\n2014-07-01 00:00:00,1\n2014-07-01 00:30:00,many\n");
        var run = RecipeProcess.Run("anomaly-detection", [.. Common(Path.Combine(_folder, "out")), "--data", data]);
        Assert.Equal(1, run.ExitCode);
        string error = run.Errors.Trim();
        Assert.Single(error.Split('\n'));
        Assert.Equal($"error: {data}: line 3: 'many' is not a finite number", error);
    }

    [Fact]
    public void A_malformed_labels_file_ends_in_one_line_naming_it()
    {
        Directory.CreateDirectory(_folder);
        string labels = Path.Combine(_folder, "labels.json");
        File.WriteAllText(labels, """{"generated/generated_taxi.csv": [["2014-08-01 00:00:00"]]}""");
        var run = RecipeProcess.Run("anomaly-detection", [.. Common(Path.Combine(_folder, "out")), "--offline", "--windows", labels]);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {labels}: \"generated/generated_taxi.csv\" window 1: expected [start, end], found 1 items", run.Errors.Trim());
    }
}
