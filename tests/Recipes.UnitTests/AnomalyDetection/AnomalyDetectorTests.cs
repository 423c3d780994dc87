using Recipes.AnomalyDetection;

namespace Recipes.Tests.AnomalyDetection;

/// <summary>The anomaly-detection recipe's detector parts: weekly inputs, anomaly likelihood, one alarm per event.</summary>
[Collection(ProcessWideState.Name)] // the walk-forward forecaster seeds libtorch's generator
public sealed class AnomalyDetectorTests
{
    static TimestampedSeries HalfHourly(int count, Func<int, double> value) =>
        new("test.csv", Enumerable.Range(0, count).Select(i => new DateTime(2014, 7, 1).AddMinutes(30 * i)).ToList(),
            Enumerable.Range(0, count).Select(value).ToList());

    [Fact]
    public void Upper_tail_matches_the_normal_distribution_far_into_the_tail()
    {
        // Reference values of P(Z >= z); the Chebyshev erfc is good to a relative 1.2e-7.
        Assert.Equal(0.5, AnomalyLikelihood.UpperTail(0), 7);
        Assert.Equal(0.15865525393145707, AnomalyLikelihood.UpperTail(1), 7);
        Assert.Equal(0.8413447460685429, AnomalyLikelihood.UpperTail(-1), 7);
        Assert.Equal(1.0, AnomalyLikelihood.UpperTail(4.264890793922825) / 1e-5, 5);
        Assert.Equal(1.0, AnomalyLikelihood.UpperTail(8) / 6.22096057427178e-16, 5);
    }

    [Fact]
    public void Likelihood_waits_for_its_history_and_judges_each_row_only_by_the_rows_before_it()
    {
        // Raw scores alternate 1, 2 (mean 1.5); from row 500 on they jump to 10.
        double[] raw = Enumerable.Range(0, 600).Select(i => i < 500 ? 1 + i % 2 : 10.0).ToArray();
        raw[0] = double.NaN; // no forecast for the first row
        var likelihood = new AnomalyLikelihood(AveragingWindow: 4, HistoryLength: 1000, MinimumHistory: 100);
        double[] tail = likelihood.TailProbabilities(raw);
        // Row 4 is the first with 4 raw scores in a row (1..4); 100 short-term scores later the first likelihood.
        Assert.All(tail[..104], p => Assert.True(double.IsNaN(p)));
        Assert.False(double.IsNaN(tail[104]));
        // Before the jump, the averages of 4 alternating scores are always 1.5: the floor on the spread keeps them
        // unremarkable (probability 1/2) rather than infinitely surprising.
        Assert.Equal(0.5, tail[499], 6);
        // The jump is far in the tail at once, and the row's own value was not in the Gaussian that judged it.
        Assert.True(tail[500] < 1e-12, $"tail at the jump {tail[500]}");
        // Changing a later row cannot change an earlier likelihood.
        raw[550] = 1000;
        Assert.Equal(tail[540], likelihood.TailProbabilities(raw)[540]);
    }

    [Fact]
    public void One_alarm_per_event_then_quiet()
    {
        double[] tail = Enumerable.Repeat(0.5, 60).ToArray();
        foreach (int row in new[] { 5, 6, 7, 14, 15, 30, 41 }) tail[row] = 1e-7;
        tail[20] = double.NaN;
        bool[] alarms = AlarmPolicy.Alarms(tail, threshold: 1e-5, quietRows: 10);
        // 5 raises the alarm; 6, 7, 14 and 15 fall within the 10 quiet rows after it; 30 is a new event; 41 is 11 after 30.
        Assert.Equal([5, 30, 41], Enumerable.Range(0, 60).Where(i => alarms[i]).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => AlarmPolicy.Alarms(tail, threshold: 0, quietRows: 1));
    }

    [Fact]
    public void Weekly_inputs_see_only_the_past_and_know_the_day()
    {
        // Value = row number, so each input says which row it came from (with mean 0 and scale 1).
        var series = HalfHourly(800, i => i);
        var features = new WeeklyDemandFeatures(series, horizon: 3, recentCount: 2);
        Assert.Equal(48, features.StepsPerDay);
        Assert.Equal(336 + 2, features.FirstRow);
        var inputs = new float[features.FeatureCount];
        int row = 700;
        features.Write(row, mean: 0, scale: 1, inputs);
        // Recent: rows t-3, t-4. Yesterday: t-50..t-46. Last week: t-338..t-334.
        Assert.Equal([697f, 696f], inputs[..2]);
        Assert.Equal([650f, 651f, 652f, 653f, 654f], inputs[2..7]);
        Assert.Equal([362f, 363f, 364f, 365f, 366f], inputs[7..12]);
        Assert.All(inputs[..12], value => Assert.True(value <= row - 3));
        // Row 700 is 2014-07-15 14:00, a Tuesday: time of day 14/24, and the Tuesday slot of the one-hot.
        Assert.Equal(Math.Sin(2 * Math.PI * 14 / 24), inputs[12], 5);
        Assert.Equal(Math.Cos(2 * Math.PI * 14 / 24), inputs[13], 5);
        Assert.Equal([0f, 0f, 1f, 0f, 0f, 0f, 0f], inputs[14..21]);
        Assert.Throws<ArgumentOutOfRangeException>(() => features.Write(features.FirstRow - 1, 0, 1, inputs));
    }

    [Fact]
    public void Walk_forward_forecasts_start_after_the_training_days_and_follow_a_weekly_rhythm()
    {
        // Three weeks of a clean daily and weekly rhythm: the forecaster must learn it to within a small error.
        var series = HalfHourly(48 * 21, i => 100 + 40 * Math.Sin(2 * Math.PI * i / 48) + (i / 48 % 7 >= 5 ? -30 : 0));
        var features = new WeeklyDemandFeatures(series, horizon: 12);
        int first = DetectorSettings.FirstForecastRow(features);
        var result = WalkForwardForecaster.Run(features, first, new WalkForwardSettings(InitialSteps: 300, StepsPerBlock: 25), TextWriter.Null);
        Assert.All(result.Forecast[..first], value => Assert.True(double.IsNaN(value)));
        Assert.All(result.Forecast[first..], value => Assert.False(double.IsNaN(value)));
        double lastWeekRmse = Math.Sqrt(Enumerable.Range(series.Count - 336, 336).Average(i => Math.Pow(result.Forecast[i] - series.Values[i], 2)));
        // The series' spread is about 35; always forecasting the mean would give about that.
        Assert.True(lastWeekRmse < 8, $"RMSE over the last week {lastWeekRmse:F2}");
    }
}
