// Anomaly detection in NYC taxi demand, in two steps: first the seed's recipe (an LSTM forecaster whose 1% worst
// forecasts are the anomalies), then a real detector, both scored against NAB's labelled windows.
//
// Steps 1-8, the seed notebook's recipe, step for step: NAB's nyc_taxi.csv (passengers every 30 minutes), features
// value / hour / awake, standard scaling, windows of 50 steps, LSTM(20) -> Dropout -> LSTM(10) -> Dropout ->
// Dense(1) trained with MSE and RMSprop (batch 1000, 5 epochs), the last 1,000 points as the test, and the 1%
// largest forecast errors called anomalies, scored with NAB (standard profile). Its 10 test-period flags all fall
// in the January blizzard, but over the whole series (--whole-series) its 102 flags sit on ordinary daily peaks
// the model underfits: NAB raw score below the null detector's -5.
// Step 9, the detector: a walk-forward MLP forecaster that knows the weekly rhythm (the same time yesterday and a
// week ago, time of day, day of week), Numenta's anomaly likelihood on its errors, and one alarm per event. It
// always scores the whole series as NAB scores a detector: on NYC taxi 5 of 5 events, 2 false positives, raw
// 4.24 (Numenta HTM 2.44, ARTime 3.78, null -5.0), in about 10 seconds. Offline it uses a generated taxi-like
// series with five injected anomalies and its own labels.
//
//   dotnet run --project recipes/anomaly-detection -c Release                       # NAB's series, downloaded (offline: generated)
//   dotnet run --project recipes/anomaly-detection -c Release -- --data ../shared/data/nyc-taxi/nyc_taxi.csv
//   dotnet run --project recipes/anomaly-detection -c Release -- --whole-series --windows combined_windows.json
using Recipes.AnomalyDetection;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("anomaly-detection", "Forecast a demand series with an LSTM, flag the worst-predicted points as anomalies and score them against labelled windows.",
    new RecipeDefaults(Epochs: 5, BatchSize: 1000, LearningRate: 0.001));
var anomaly = new AnomalyDetectionOptions(cli.Root); // --windows, --whole-series, --anomaly-fraction and the detector's (AnomalyDetectionOptions.cs)
cli.SetAction((parsed, options, cancellation) => Run(options, anomaly.Read(parsed), cancellation));
return cli.Invoke(args);

static int Run(CommonOptions options, AnomalyDetectionSettings settings, CancellationToken cancellation)
{
    const int UnrollLength = 50, TestSize = 1000;
    var (windowsPath, wholeSeries, anomalyFraction, detector) = settings;
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    using var run = RecipeRun.Start(options);

    // THE SEED'S RECIPE (steps 1-8), then a real detector (step 9).
    // 1. Data: --data, else the download cache, else a download from NAB, else a generated series (and we say which).
    var data = AnomalySeriesDataSets.Resolve(options.Data, options.CacheFolder, options.Offline, run.PathTo("data"), Console.Out);
    var series = data.Series;
    var windows = windowsPath is not null ? AnomalySeriesDataSets.WindowsFromFile(windowsPath, series) : data.Windows;
    string? windowsOrigin = windowsPath ?? data.WindowsOrigin;
    Console.WriteLine($"Data: {data.Description}: {series.Count:N0} points from {series.Timestamps[0]:yyyy-MM-dd HH:mm} to {series.Timestamps[^1]:yyyy-MM-dd HH:mm}");
    Console.WriteLine(windows is null
        ? "Labels: none for this series (pass --windows to score the anomalies)"
        : $"Labels: {windows.Count} anomaly windows from {windowsOrigin}");
    // Both steps need a minimum of history; say so naming the file rather than failing deep inside.
    int rowsNeeded = Math.Max(TestSize + 2 * UnrollLength + 3, DetectorSettings.RowsNeeded(series));
    if (series.Count < rowsNeeded)
        throw new DataFileException(data.FilePath ?? data.Description,
            $"{series.Count:N0} rows are too few: this recipe needs at least {rowsNeeded:N0} (the seed's split: {TestSize:N0} test points after windows of {UnrollLength}; " +
            "the detector: a week of history, three days of training and a week of errors before its first alarm)");
    // The detector's weekly inputs count days and weeks in rows: check the series allows that before any training.
    WeeklyDemandFeatures weekly;
    try
    {
        weekly = new WeeklyDemandFeatures(series, detector.Horizon);
    }
    catch (ArgumentOutOfRangeException error)
    {
        throw new ArgumentException($"--horizon {detector.Horizon}: {error.Message.Split(" (Parameter")[0]}", error);
    }
    catch (ArgumentException error)
    {
        throw new DataFileException(data.FilePath ?? data.Description, error.Message, error);
    }

    // 2. Features: the value, the hour and an "awake" flag (6:00-0:59), standardised with the statistics of the
    //    training rows only, then cut into windows of 50 steps. Each window's target is the value two steps
    //    after it: the seed's alignment, which gives exactly its shapes (9218x50x3 training, 1000x50x3 test).
    var features = DemandFeatures.ValueHourAwake(series);
    var scaler = StandardScaler.Fit(features, Unroll.NotebookTrainingRowCount(series.Count, UnrollLength, TestSize));
    var scaled = scaler.Transform(features);
    var (train, test) = Unroll.NotebookSplit(scaled, targetColumn: 0, UnrollLength, TestSize);
    if (options.MaxSamples is int limit) train = train.Take(limit);
    Console.WriteLine($"Windows: x_train {train.Count}x{train.Length}x{train.FeatureCount}, y_train {train.Count}, x_test {test.Count}x{test.Length}x{test.FeatureCount}, y_test {test.Count}");
    using var trainSet = train.ToBatchSource();
    using var testSet = test.ToBatchSource();

    // 3. Model: the seed's stacked LSTM. Each replica of --master local[N] draws its dropout masks from its
    //    own seeded stream, so the same command gives the same model however the replica threads interleave.
    int replicasBuilt = 0;
    LstmForecaster CreateModel() => new(features.ColumnCount, dropoutStream: options.Seed * 1000L + replicasBuilt++);
    static Tensor Loss(Tensor forecast, Tensor target) => nn.functional.mse_loss(forecast, target);

    // 4. Optimizer: RMSprop as the seed's Keras-style "rmsprop" (rate 1e-3, decay 0.9).
    optim.Optimizer CreateOptimizer(IEnumerable<TorchSharp.Modules.Parameter> parameters) => optim.RMSProp(parameters, lr: options.LearningRate, alpha: 0.9, eps: 1e-8);

    // 5. Training: the global batch of 1000 is split across the replicas; test loss every epoch; a checkpoint
    //    every epoch (Ctrl+C saves one too; --resume continues from it).
    using var trainer = new Trainer(CreateModel, CreateOptimizer, Loss, run.Settings with { ValidationMethods = [new LossValidation(Loss)] });
    Console.WriteLine($"Model: LSTM(20) -> Dropout(0.2) -> LSTM(10) -> Dropout(0.2) -> Dense(1), {trainer.Model.parameters().Sum(p => p.numel()):N0} parameters; {options.LocalMaster}, global batch {options.BatchSize}");
    var result = trainer.Fit(trainSet, validation: testSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    string trainingChart = run.Summaries.WriteChart(run.PathTo("training.png"), $"LSTM forecaster on {data.Name}");
    double testMse = trainer.Evaluate(testSet, [new LossValidation(Loss)])["loss"];

    // 6. Evaluation (the seed's): forecast every scored point, take the absolute error in the series' own units, flag the
    //    largest 1% (the seed: errors at or above the 10th largest of 1000), and score the flags with NAB.
    var scored = wholeSeries ? Unroll.Every(scaled, targetColumn: 0, UnrollLength, Unroll.NotebookHorizon) : test;
    using var scoredSet = scored.ToBatchSource();
    float[] forecastScaled = Prediction.PredictValues(trainer.Model, scoredSet);
    double[] forecast = forecastScaled.Select(value => scaler.Unscale(0, value)).ToArray();
    double[] errors = scored.TargetRows.Select((row, i) => Math.Abs(series.Values[row] - forecast[i])).ToArray();
    var flagged = ErrorThreshold.TopFraction(errors, anomalyFraction);
    var scoredTimes = scored.TargetRows.Select(row => series.Timestamps[row]).ToArray();
    double[] testErrors = wholeSeries ? errors[^TestSize..] : errors; // the whole series ends with the test period
    double testRmse = Math.Sqrt(testErrors.Average(error => error * error));
    Console.WriteLine($"Test MSE {testMse:F4} (standardised), RMSE {testRmse:N0} passengers; {flagged.Count} anomalies at errors >= {flagged.Threshold:N0} over {scored.Count:N0} {(wholeSeries ? "points of the whole series" : "test points")}");

    NabScore? nab = null;
    if (windows is not null)
    {
        int probation = Math.Max(0, NabProfile.ProbationaryRows(series.Count) - scored.TargetRows[0]);
        nab = NabScorer.Score(scoredTimes, flagged.Flags, windows, NabProfile.Standard, probation);
        Console.WriteLine($"Seed's flags, NAB ({NabProfile.Standard.Name} profile): {nab.WindowsDetected} of {nab.WindowsTotal} windows in the scored range detected, " +
                          $"{nab.FalsePositives} false positives, raw score {nab.RawScore:F2}, normalised {nab.NormalizedScore:F1} (0 = no detector, 100 = perfect)");
        foreach (var window in nab.Windows)
        {
            int index = windows.ToList().IndexOf(window.Window);
            string name = data.WindowNames is { } names && windowsPath is null && index >= 0 ? names[index] + " " : "";
            Console.WriteLine($"  {name}{window.Window.Start:yyyy-MM-dd HH:mm} .. {window.Window.End:yyyy-MM-dd HH:mm}: " +
                              (window.FirstDetection is { } first ? $"detected at {first:yyyy-MM-dd HH:mm} (score {window.Score:F2})" : "missed"));
        }
        if (nab.WindowsTotal < windows.Count)
            Console.WriteLine($"  {windows.Count - nab.WindowsTotal} labelled windows fall outside the scored range{(wholeSeries ? "" : "; --whole-series scores them too")}");
    }

    // 7. Save: the model's weights with what is needed to use them again, the anomalies, and the seed's four plots.
    string modelPath = Path.Combine(options.Output, "model.bin");
    SavedModel.Save(modelPath, trainer.Model, "LSTM(20)-Dropout(0.2)-LSTM(10)-Dropout(0.2)-Dense(1)",
        new AnomalyModelDescription(features.ColumnNames, scaler.Means, scaler.Scales, UnrollLength, Unroll.NotebookHorizon, flagged.Threshold));
    var chartData = new AnomalyChartData(data.Name, "passengers", series, scored.TargetRows, forecast, errors, "absolute forecast error (passengers)",
        flagged.Threshold, flagged.Flags, series.Timestamps[test.TargetRows[0]], windows ?? []);
    string anomaliesPath = run.PathTo(AnomalyCsv.FileName);
    AnomalyCsv.Write(anomaliesPath, chartData, windowsKnown: windows is not null);
    var charts = AnomalyCharts.WriteAll(options.Output, chartData);

    // 8. Prediction: reload the saved weights into a fresh model and forecast the test period again.
    using var reloaded = SavedModel<AnomalyModelDescription>.Load(modelPath, description => new LstmForecaster(description.Features.Count)).Model;
    float[] again = Prediction.PredictValues(reloaded, testSet);
    float[] original = wholeSeries ? forecastScaled[^TestSize..] : forecastScaled;
    double largestDifference = again.Zip(original, (a, b) => Math.Abs(a - b)).Max();
    Console.WriteLine($"Reloaded {modelPath}: its test forecasts differ from the trained model's by at most {largestDifference:G2}");
    var firstAnomalies = Enumerable.Range(0, scored.Count).Where(i => flagged.Flags[i]).Take(12)
        .Select(i => $"{scoredTimes[i]:MM-dd HH:mm} ({series.Values[scored.TargetRows[i]]:N0} vs {forecast[i]:N0})");
    Console.WriteLine($"Anomalies: {string.Join(", ", firstAnomalies)}{(flagged.Count > 12 ? ", ..." : "")}");

    // 9. A real detector. The seed's flags sit on ordinary daily peaks its forecaster underfits, and a fixed 1% of
    //    points is 100 flags for five events. Three changes, each answering one of those failings:
    //    a) a forecaster that knows the weekly rhythm: an MLP on the last values, the same time yesterday and a
    //       week ago, the time of day and the day of the week, trained walk-forward (each day is forecast by a
    //       model that has only seen the days before it, as NAB's rules ask: no look-ahead);
    //    b) an anomaly score that adapts to how large errors usually are: Numenta's anomaly likelihood, the
    //       Gaussian tail probability of the last 10 errors' mean against the errors before them;
    //    c) one alarm per event: an alarm when the tail probability falls to 1e-5, then quiet for a day.
    //    The whole series is scored as NAB scores a detector: every row, flags in the probationary period ignored.
    Console.WriteLine($"Detector: weekly MLP forecaster (horizon {detector.Horizon}), walk-forward, anomaly likelihood, alarms at tail probability {detector.TailProbability:G2}, quiet for {detector.QuietHours:G} h after each");
    var detectorWall = System.Diagnostics.Stopwatch.StartNew();

    var walk = WalkForwardForecaster.Run(weekly, DetectorSettings.FirstForecastRow(weekly), new WalkForwardSettings(Seed: options.Seed), Console.Out, cancellation);
    // The raw anomaly score: the absolute forecast error in units of the series' spread (known at forecast time).
    double[] rawScores = walk.Forecast.Select((value, row) => double.IsNaN(value) ? double.NaN : Math.Abs(series.Values[row] - value) / walk.Scale).ToArray();
    var likelihood = new AnomalyLikelihood(MinimumHistory: 7 * weekly.StepsPerDay);
    double[] tail = likelihood.TailProbabilities(rawScores);
    bool[] alarms = AlarmPolicy.Alarms(tail, detector.TailProbability, detector.QuietRows(series));
    int probationaryRows = NabProfile.ProbationaryRows(series.Count);
    double detectorTestRmse = Math.Sqrt(Enumerable.Range(series.Count - TestSize, TestSize).Average(row => Math.Pow(series.Values[row] - walk.Forecast[row], 2)));
    int alarmCount = alarms.Count(alarm => alarm);
    Console.WriteLine($"Detector: {alarmCount} alarms over {series.Count:N0} points; forecast RMSE {detectorTestRmse:N0} passengers over the seed's test period (the LSTM: {testRmse:N0}); " +
                      $"{walk.OptimizerSteps:N0} optimizer steps in {walk.Refits} daily refits, {detectorWall.Elapsed.TotalSeconds:F1} s");
    NabScore? detected = null;
    if (windows is not null)
    {
        detected = NabScorer.Score(series.Timestamps, alarms, windows, NabProfile.Standard, probationaryRows);
        Console.WriteLine($"NAB ({NabProfile.Standard.Name} profile, whole series): {detected.WindowsDetected} of {detected.WindowsTotal} windows detected, {detected.FalsePositives} false positives, " +
                          $"raw score {detected.RawScore:F2} (no detector: {detected.NullRawScore:F2}, perfect: {detected.PerfectRawScore:F2}), normalised {detected.NormalizedScore:F1}");
        foreach (var window in detected.Windows)
        {
            int index = windows.ToList().IndexOf(window.Window);
            string name = data.WindowNames is { } names && windowsPath is null && index >= 0 ? names[index] + " " : "";
            Console.WriteLine($"  {name}{window.Window.Start:yyyy-MM-dd HH:mm} .. {window.Window.End:yyyy-MM-dd HH:mm}: " +
                              (window.FirstDetection is { } first ? $"detected at {first:yyyy-MM-dd HH:mm} (score {window.Score:F2})" : "missed"));
        }
    }
    var alarmTimes = Enumerable.Range(0, series.Count).Where(row => alarms[row]).Select(row => series.Timestamps[row]).ToList();
    Console.WriteLine($"Alarms: {string.Join(", ", alarmTimes.Take(40).Select(time => time.ToString("MM-dd HH:mm")))}{(alarmTimes.Count > 40 ? ", ..." : "")}");
    string detectionsChart = run.PathTo(DetectionChart.FileName);
    DetectionChart.Write(detectionsChart, $"{data.Name}: the detector's alarms", series, windows ?? [], alarms, tail, detector.TailProbability, probationaryRows);
    string alarmsPath = run.PathTo("alarms.csv");
    AtomicFile.WriteAllText(alarmsPath, "timestamp,value,forecast,tail_probability,in_window\n" + string.Concat(Enumerable.Range(0, series.Count).Where(row => alarms[row]).Select(row =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{series.Timestamps[row]:yyyy-MM-dd HH:mm:ss},{series.Values[row]:R},{walk.Forecast[row]:F1},{tail[row]:G4},{(windows is null ? "" : windows.Any(w => w.Contains(series.Timestamps[row])) ? "true" : "false")}\n"))));

    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result,
        new Dictionary<string, double>
        {
            // The detector (step 9), scored over the whole series as NAB scores a detector.
            ["nab_raw_score"] = detected?.RawScore ?? double.NaN,
            ["nab_score"] = detected?.NormalizedScore ?? double.NaN,
            ["nab_null_raw_score"] = detected?.NullRawScore ?? double.NaN,
            ["nab_perfect_raw_score"] = detected?.PerfectRawScore ?? double.NaN,
            ["windows_detected"] = detected?.WindowsDetected ?? 0,
            ["windows_total"] = detected?.WindowsTotal ?? 0,
            ["false_positives"] = detected?.FalsePositives ?? double.NaN,
            ["alarms"] = alarmCount,
            ["detector_test_rmse"] = detectorTestRmse,
            // The workshop notebook's recipe (steps 1-8): its flags over the test period, or the whole series with --whole-series.
            ["notebook_nab_raw_score"] = nab?.RawScore ?? double.NaN,
            ["notebook_nab_score"] = nab?.NormalizedScore ?? double.NaN,
            ["notebook_windows_detected"] = nab?.WindowsDetected ?? 0,
            ["notebook_windows_total"] = nab?.WindowsTotal ?? 0,
            ["notebook_false_positives"] = nab?.FalsePositives ?? double.NaN,
            ["notebook_anomalies"] = flagged.Count,
            ["notebook_threshold"] = flagged.Threshold,
            ["test_mse"] = testMse,
            ["test_rmse"] = testRmse,
            ["train_loss"] = result.Epochs[^1].TrainLoss,
        },
        new Dictionary<string, object?>
        {
            ["train_windows"] = train.Count, ["test_windows"] = test.Count, ["scored_points"] = scored.Count,
            ["score_range"] = wholeSeries ? "whole series" : "test", ["anomaly_fraction"] = anomalyFraction,
            ["detector"] = new
            {
                forecaster = $"MLP({weekly.FeatureCount}-64-64-1), walk-forward, daily refits", horizon = detector.Horizon, features = weekly.FeatureCount,
                first_forecast = series.Timestamps[walk.FirstForecastRow], optimizer_steps = walk.OptimizerSteps,
                averaging_window = likelihood.AveragingWindow, history_length = likelihood.HistoryLength, tail_probability = detector.TailProbability,
                quiet_hours = detector.QuietHours, probationary_rows = probationaryRows, seconds = detectorWall.Elapsed.TotalSeconds,
                windows = detected?.Windows.Select(w => new { start = w.Window.Start, end = w.Window.End, detected = w.Detected, first_detection = w.FirstDetection, score = w.Score }).ToArray(),
                alarms = alarmTimes, alarms_csv = alarmsPath, chart = detectionsChart,
            },
            ["windows_source"] = windowsOrigin,
            ["notebook_windows"] = nab?.Windows.Select(w => new { start = w.Window.Start, end = w.Window.End, detected = w.Detected, first_detection = w.FirstDetection, score = w.Score }).ToArray(),
            ["model"] = modelPath, ["anomalies_csv"] = anomaliesPath, ["plots"] = charts, ["training_chart"] = trainingChart, ["summary"] = run.Summaries.Folder,
        });
    Console.WriteLine($"Wrote {report}, {anomaliesPath}, {alarmsPath}, {detectionsChart}, {string.Join(", ", charts)}, {modelPath}");
    return 0;
}
