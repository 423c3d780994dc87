using Recipes.AnomalyDetection;

namespace Recipes.Tests.AnomalyDetection;

public sealed class ErrorThresholdTests
{
    [Fact]
    public void One_percent_of_1000_errors_flags_the_10_largest()
    {
        // A shuffled 0..999 so position and size are unrelated.
        double[] errors = Enumerable.Range(0, 1000).Select(i => (double)(i * 617 % 1000)).ToArray();
        var flagged = ErrorThreshold.TopFraction(errors, 0.01);
        Assert.Equal(990, flagged.Threshold);
        Assert.Equal(10, flagged.Count);
        Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal(errors[i] >= 990, flagged.Flags[i]));
    }

    [Fact]
    public void Ties_at_the_threshold_are_all_flagged_as_in_the_seed()
    {
        var flagged = ErrorThreshold.TopFraction([1, 5, 5, 5, 2, 0, 0, 0, 0, 0], 0.2);
        Assert.Equal(5, flagged.Threshold);
        Assert.Equal([false, true, true, true, false, false, false, false, false, false], flagged.Flags);
    }

    [Fact]
    public void A_fraction_smaller_than_one_point_still_flags_the_largest()
    {
        var flagged = ErrorThreshold.TopFraction([3, 9, 4], 0.01);
        Assert.Equal([false, true, false], flagged.Flags);
    }

    [Fact]
    public void Bad_inputs_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ErrorThreshold.TopFraction([], 0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErrorThreshold.TopFraction([1.0], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErrorThreshold.TopFraction([1.0], 1.5));
        Assert.Throws<ArgumentException>(() => ErrorThreshold.TopFraction([1.0, double.NaN], 0.5));
    }
}
