using Recipes.Runtime.Data.TimeSeries;
using Recipes.Runtime.Metrics;

namespace Recipes.Tests.Metrics;

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
        var series = TimeSeriesCsv.Read(Data.TimeSeries.SharedSampleData.NycTaxiCsv);
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
    public void Overlapping_windows_and_mismatched_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => NabScorer.Score(Times, new bool[99], [Window], NabProfile.Standard));
        Assert.Throws<ArgumentException>(() => NabScorer.Score(Times, new bool[100], [Window, new AnomalyWindow(Times[30], Times[50])], NabProfile.Standard));
    }
}
