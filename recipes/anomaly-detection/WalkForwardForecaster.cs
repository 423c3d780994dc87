using static TorchSharp.torch;

namespace Recipes.AnomalyDetection;

/// <summary>Settings of <see cref="WalkForwardForecaster"/>.</summary>
/// <param name="HiddenUnits">Width of the two hidden layers of the multilayer perceptron.</param>
/// <param name="InitialSteps">Optimizer steps of the first fit, on the rows before the first forecast.</param>
/// <param name="StepsPerBlock">Optimizer steps after each block (a day) of new rows, continuing from the last weights.</param>
public sealed record WalkForwardSettings(
    int HiddenUnits = 64,
    int InitialSteps = 600,
    int StepsPerBlock = 25,
    int BatchSize = 256,
    double LearningRate = 1e-3,
    long Seed = 1);

/// <summary>What the walk-forward forecaster predicted, in the series' own units (NaN where it made no forecast).</summary>
public sealed record WalkForwardForecast(double[] Forecast, int FirstForecastRow, double Mean, double Scale, int OptimizerSteps, int Refits);

/// <summary>
/// A forecaster that only ever forecasts the future: an MLP (inputs -> ReLU -> ReLU -> 1) fitted on the rows
/// before the first forecast, then, one block (a day) at a time, forecasting the block and afterwards learning
/// from it with a few more optimizer steps. A point's forecast therefore comes from a model that never saw it,
/// as NAB's rules ask of a detector (no look-ahead). The loss is Huber's, so the odd anomaly already seen
/// pulls the model less than squared error would.
/// </summary>
public static class WalkForwardForecaster
{
    public static WalkForwardForecast Run(WeeklyDemandFeatures features, int firstForecastRow, WalkForwardSettings settings, TextWriter log, CancellationToken cancellation = default)
    {
        var series = features.Series;
        int rows = series.Count, columns = features.FeatureCount, firstRow = features.FirstRow;
        if (firstForecastRow < firstRow + features.StepsPerDay || firstForecastRow >= rows)
            throw new ArgumentOutOfRangeException(nameof(firstForecastRow), firstForecastRow, $"{series.Name}: the first forecast needs a day of training rows after row {firstRow} (a week of history) and must lie in the series ({rows} rows)");

        // Standardise with the rows before the first forecast: nothing later leaks into the inputs.
        double mean = 0, squares = 0;
        for (int i = 0; i < firstForecastRow; i++) mean += series.Values[i];
        mean /= firstForecastRow;
        for (int i = 0; i < firstForecastRow; i++) squares += (series.Values[i] - mean) * (series.Values[i] - mean);
        double scale = Math.Sqrt(squares / firstForecastRow);
        if (!(scale > 0)) scale = 1;

        var inputs = new float[rows * columns];
        var targets = new float[rows];
        for (int row = firstRow; row < rows; row++)
        {
            features.Write(row, mean, scale, inputs.AsSpan(row * columns, columns));
            targets[row] = (float)((series.Values[row] - mean) / scale);
        }

        random.manual_seed(settings.Seed);
        var sampler = new Random(unchecked((int)settings.Seed));
        using var model = nn.Sequential(
            nn.Linear(columns, settings.HiddenUnits), nn.ReLU(),
            nn.Linear(settings.HiddenUnits, settings.HiddenUnits), nn.ReLU(),
            nn.Linear(settings.HiddenUnits, 1));
        using var optimizer = optim.Adam(model.parameters(), lr: settings.LearningRate);

        var forecast = new double[rows];
        Array.Fill(forecast, double.NaN);
        int block = features.StepsPerDay, steps = 0, refits = 0;
        var batchInputs = new float[settings.BatchSize * columns];
        var batchTargets = new float[settings.BatchSize];
        var report = System.Diagnostics.Stopwatch.StartNew();
        for (int blockStart = firstForecastRow; blockStart < rows; blockStart += block)
        {
            cancellation.ThrowIfCancellationRequested();
            // Learn from every row whose value is known by now: [firstRow, blockStart).
            int stepCount = blockStart == firstForecastRow ? settings.InitialSteps : settings.StepsPerBlock;
            model.train();
            for (int step = 0; step < stepCount; step++)
            {
                for (int b = 0; b < settings.BatchSize; b++)
                {
                    int row = sampler.Next(firstRow, blockStart);
                    inputs.AsSpan(row * columns, columns).CopyTo(batchInputs.AsSpan(b * columns, columns));
                    batchTargets[b] = targets[row];
                }
                using var scope = NewDisposeScope();
                var x = tensor(batchInputs).reshape(settings.BatchSize, columns);
                var y = tensor(batchTargets).reshape(settings.BatchSize, 1);
                optimizer.zero_grad();
                var loss = nn.functional.huber_loss(model.call(x), y);
                loss.backward();
                optimizer.step();
                steps++;
            }
            refits++;

            // Forecast the next block with the weights as they are now.
            int blockEnd = Math.Min(rows, blockStart + block);
            model.eval();
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                var x = tensor(inputs[(blockStart * columns)..(blockEnd * columns)]).reshape(blockEnd - blockStart, columns);
                float[] predicted = model.call(x).data<float>().ToArray();
                for (int i = 0; i < predicted.Length; i++) forecast[blockStart + i] = predicted[i] * scale + mean;
            }
            if (report.Elapsed.TotalSeconds >= 5 || blockEnd == rows)
            {
                log.WriteLine($"  walk-forward: forecast up to {series.Timestamps[blockEnd - 1]:yyyy-MM-dd HH:mm} ({blockEnd - firstForecastRow:N0} of {rows - firstForecastRow:N0} points, {steps:N0} optimizer steps)");
                report.Restart();
            }
        }
        return new WalkForwardForecast(forecast, firstForecastRow, mean, scale, steps, refits);
    }
}
