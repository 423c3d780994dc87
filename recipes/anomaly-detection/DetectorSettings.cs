
namespace Recipes.AnomalyDetection;

/// <summary>
/// The detector's few hyper-parameters (the README says how each was chosen and what the others scored): forecast
/// 6 hours ahead, alarm at Numenta's tail probability, stay quiet for a day.
/// </summary>
public static class DetectorDefaults
{
    /// <summary>
    /// 12 steps (6 hours) ahead. A forecaster that sees the value half an hour ago explains a day-long drop away
    /// after its first step, so holidays barely register; 4 to 24 steps ahead all catch them.
    /// </summary>
    public const int Horizon = 12;
    /// <summary>Numenta's NAB detector alarms at a log-likelihood of 0.5, i.e. a tail probability of 1e-5.</summary>
    public const double TailProbability = 1e-5;
    /// <summary>A day: the rhythm of the series, and the length of the events it is meant to find.</summary>
    public const double QuietHours = 24;
    /// <summary>Days of training rows before the first forecast.</summary>
    public const int TrainingDays = 3;
}

/// <summary>The detector's settings from the command line.</summary>
public sealed record DetectorSettings(int Horizon, double TailProbability, double QuietHours)
{
    public void Validate()
    {
        if (Horizon < 1) throw new ArgumentException($"--horizon must be at least 1 (got {Horizon})");
        if (!(TailProbability > 0 && TailProbability < 1)) throw new ArgumentException($"--tail-probability must be in (0, 1) (got {TailProbability})");
        if (!(QuietHours >= 0) || double.IsInfinity(QuietHours)) throw new ArgumentException($"--quiet-hours must be 0 or more (got {QuietHours})");
    }

    /// <summary>The quiet period in rows of <paramref name="series"/>.</summary>
    public int QuietRows(TimestampedSeries series) =>
        (int)Math.Round(TimeSpan.FromHours(QuietHours) / (series.Timestamps[1] - series.Timestamps[0]));

    /// <summary>
    /// Rows the detector needs before it can raise its first alarm: a week of history for the weekly inputs,
    /// <see cref="DetectorDefaults.TrainingDays"/> of training rows, the likelihood's averaging window and a week of
    /// its history, and one row to judge. Assumes the half-hourly step of the seed's data when the series is too
    /// short to tell.
    /// </summary>
    public static int RowsNeeded(TimestampedSeries series)
    {
        int perDay = series.Count >= 2 && series.Timestamps[1] > series.Timestamps[0]
            ? Math.Max(1, (int)Math.Round(TimeSpan.FromDays(1) / (series.Timestamps[1] - series.Timestamps[0])))
            : 48;
        var likelihood = new AnomalyLikelihood(MinimumHistory: 7 * perDay);
        return 7 * perDay + WeeklyDemandFeatures.SeasonalHalfWidth + DetectorDefaults.TrainingDays * perDay
               + likelihood.AveragingWindow + likelihood.MinimumHistory + 1;
    }

    public static int FirstForecastRow(WeeklyDemandFeatures features) => features.FirstRow + DetectorDefaults.TrainingDays * features.StepsPerDay;
}
