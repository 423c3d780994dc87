using Recipes.AnomalyDetection;
using Recipes.Tests.Data;

namespace Recipes.Tests.AnomalyDetection;

/// <summary>Known answers for NAB's scoring, worked out from the formulas in numenta/NAB's sweeper.</summary>
public sealed class NabScorerTests
{
    // 100 half-hourly points; one window over points 20..39 (20 points).
    static readonly DateTime[] Times = Enumerable.Range(0, 100).Select(i => new DateTime(2015, 1, 1).AddMinutes(30 * i)).ToArray();
    static readonly AnomalyWindow Window = new(Times[20], Times[39]);

    static bool[] FlagsAt(params int[] points)
    {
        var flags = new bool[Times.Length];
        foreach (int point in points) flags[point] = true;
        return flags;
    }

    static NabScore Score(params int[] points) => NabScorer.Score(Times, FlagsAt(points), [Window], NabProfile.Standard);

    [Fact]
    public void Scaled_sigmoid_has_NABs_documented_values()
    {
        Assert.Equal(0.98661, NabScorer.ScaledSigmoid(-1.0), 5);
        Assert.Equal(0.84828, NabScorer.ScaledSigmoid(-0.5), 5);
        Assert.Equal(0.0, NabScorer.ScaledSigmoid(0.0), 12);
        Assert.Equal(-0.98661, NabScorer.ScaledSigmoid(1.0), 5);
        Assert.Equal(-1.0, NabScorer.ScaledSigmoid(3.0));
    }

    [Fact]
    public void A_flag_at_the_start_of_every_window_is_perfect_and_no_flag_is_zero()
    {
        var perfect = Score(20);
        Assert.Equal((1, 1, 0), (perfect.WindowsTotal, perfect.WindowsDetected, perfect.FalsePositives));
        Assert.Equal(1.0, perfect.RawScore, 12);
        Assert.Equal(100.0, perfect.NormalizedScore, 9);
        Assert.Equal(Times[20], perfect.Windows.Single().FirstDetection);

        var none = Score();
        Assert.Equal((1, 0, 0), (none.WindowsTotal, none.WindowsDetected, none.FalsePositives));
        Assert.Equal(-1.0, none.RawScore, 12);
        Assert.Equal(0.0, none.NormalizedScore, 9);
    }

    [Fact]
    public void Only_the_earliest_flag_in_a_window_counts_and_late_ones_earn_less()
    {
        // Last point of the window: position -1/20, 2/(1+e^-0.25) - 1 = 0.124353..., divided by 0.986614.
        var last = Score(39);
        Assert.Equal(0.1260401374727592, last.RawScore, 12);
        // Halfway (point 29): position -11/20.
        Assert.Equal(0.8917635810675678, Score(29).RawScore, 12);
        // More flags later in the same window change nothing.
        Assert.Equal(Score(29).RawScore, Score(29, 30, 35, 39).RawScore, 12);
        Assert.Equal(0, Score(29, 30, 35, 39).FalsePositives);
    }

    [Fact]
    public void False_positives_cost_0_11_far_from_windows_and_less_just_after_one()
    {
        // Before any window: the full cost.
        var early = Score(20, 5);
        Assert.Equal(1, early.FalsePositives);
        Assert.Equal(1.0 - 0.11, early.RawScore, 12);
        // Right after the window (point 40): position 1/19 -> 0.11 * (2/(1+e^(5/19)) - 1).
        Assert.Equal(1.0 - 0.014390730906933252, Score(20, 40).RawScore, 12);
        // Ten points after: position 10/19.
        Assert.Equal(1.0 - 0.09523063024539194, Score(20, 49).RawScore, 12);
        // Three widths after (point 39 + 57): the full cost again.
        Assert.Equal(1.0 - 0.11, Score(20, 96).RawScore, 12);
        // Normalised: 100 (raw + 1) / 2.
        Assert.Equal(100 * (2 - 0.11) / 2, early.NormalizedScore, 9);
    }

    [Fact]
    public void Probation_ignores_early_flags_and_windows_outside_the_range_are_left_out()
    {
        Assert.Equal(0, NabScorer.Score(Times, FlagsAt(20, 5), [Window], NabProfile.Standard, probationaryRows: 10).FalsePositives);
        var beyond = new AnomalyWindow(Times[^1].AddDays(1), Times[^1].AddDays(2));
        var score = NabScorer.Score(Times, FlagsAt(20), [Window, beyond], NabProfile.Standard);
        Assert.Equal(1, score.WindowsTotal);
        Assert.Equal(100.0, score.NormalizedScore, 9);
        Assert.True(double.IsNaN(NabScorer.Score(Times, FlagsAt(20), [beyond], NabProfile.Standard).NormalizedScore));
    }

    [Fact]
    public void NYC_taxi_windows_on_the_real_timestamps_score_100_when_flagged_at_their_starts()
    {
        var series = TimeSeriesCsv.Read(SharedSampleData.NycTaxiCsv);
        var flags = new bool[series.Count];
        foreach (var window in NabNycTaxi.KnownWindows) flags[series.IndexAtOrAfter(window.Start)] = true;
        var score = NabScorer.Score(series.Timestamps, flags, NabNycTaxi.KnownWindows, NabProfile.Standard, NabProfile.ProbationaryRows(series.Count));
        Assert.Equal(750, NabProfile.ProbationaryRows(series.Count));
        Assert.Equal((5, 5, 0), (score.WindowsTotal, score.WindowsDetected, score.FalsePositives));
        Assert.Equal(100.0, score.NormalizedScore, 9);
        // Every window is 207 points wide, NAB's 10% of the file shared by five anomalies.
        Assert.All(NabNycTaxi.KnownWindows, window => Assert.Equal(206, series.IndexAtOrAfter(window.End) - series.IndexAtOrAfter(window.Start)));
    }

    [Fact]
    public void A_hand_checked_case_with_probation_a_late_detection_false_positives_and_a_miss()
    {
        // 40 half-hourly points; NAB's probation is floor(0.15 * 40) = 6 points (0-5).
        // Window A covers points 10..19 (width 10), window B points 30..34 (width 5). Flags at 3, 8, 12, 15, 22.
        // NAB's scaled sigmoid is 2/(1+e^(5x)) - 1 = -tanh(5x/2), so sigma(-1) = tanh(2.5).
        //   point 3:  in the probationary period: ignored.
        //   point 8:  before any window: a false positive at full cost, -0.11.
        //   point 12: the first flag in A, position -(19 - 12 + 1)/10 = -0.8: +tanh(2)/tanh(2.5) = +0.977107.
        //   point 15: a later flag in A: NAB keeps the window's best (its first) detection, so it adds nothing.
        //   point 22: 3 points after A, position |19 - 22|/(10 - 1) = 1/3: 0.11 * -tanh(5/6) = -0.075049.
        //   window B: no flag, a false negative, -1.
        // Raw: -0.11 + 0.977107 - 0.075049 - 1 = -0.207942. Null detector: -2 (two misses); perfect: +2.
        // Normalised as NAB's runner does: 100 (raw - null) / (perfect - null) = 100 * 1.792058 / 4 = 44.80.
        var times = Enumerable.Range(0, 40).Select(i => new DateTime(2015, 1, 1).AddMinutes(30 * i)).ToArray();
        var flags = new bool[40];
        foreach (int point in new[] { 3, 8, 12, 15, 22 }) flags[point] = true;
        AnomalyWindow a = new(times[10], times[19]), b = new(times[30], times[34]);
        int probation = NabProfile.ProbationaryRows(times.Length);
        Assert.Equal(6, probation);

        var score = NabScorer.Score(times, flags, [a, b], NabProfile.Standard, probation);
        double expected = -0.11 + Math.Tanh(2) / Math.Tanh(2.5) - 0.11 * Math.Tanh(5.0 / 6) - 1;
        Assert.Equal(-0.20794195600359422, expected, 12); // the hand computation above, to its printed digits
        Assert.Equal(expected, score.RawScore, 12);
        Assert.Equal((2, 1, 2), (score.WindowsTotal, score.WindowsDetected, score.FalsePositives));
        Assert.Equal(times[12], score.Windows[0].FirstDetection);
        Assert.Null(score.Windows[1].FirstDetection);
        Assert.Equal((-2.0, 2.0), (score.NullRawScore, score.PerfectRawScore));
        Assert.Equal(44.801451099910146, score.NormalizedScore, 9);
    }

    [Fact]
    public void A_window_inside_the_probationary_period_is_not_scored_but_still_weights_the_false_positives_after_it()
    {
        // Window C covers points 2..4 (width 3) and ends in the 6-point probation; it is not scored (no miss), yet
        // NAB's sweeper still measures a later false positive from it: point 7 is |4 - 7|/(3 - 1) = 1.5 widths
        // after, costing 0.11 * -tanh(3.75) = -0.109878 rather than the full -0.11.
        var times = Enumerable.Range(0, 40).Select(i => new DateTime(2015, 1, 1).AddMinutes(30 * i)).ToArray();
        var flags = new bool[40];
        flags[7] = true;
        var score = NabScorer.Score(times, flags, [new AnomalyWindow(times[2], times[4])], NabProfile.Standard, probationaryRows: 6);
        Assert.Equal((0, 0, 1), (score.WindowsTotal, score.WindowsDetected, score.FalsePositives));
        Assert.Equal(-0.11 * Math.Tanh(3.75), score.RawScore, 12);
    }

    [Fact]
    public void Overlapping_windows_and_mismatched_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => NabScorer.Score(Times, new bool[99], [Window], NabProfile.Standard));
        Assert.Throws<ArgumentException>(() => NabScorer.Score(Times, new bool[100], [Window, new AnomalyWindow(Times[30], Times[50])], NabProfile.Standard));
    }
}
