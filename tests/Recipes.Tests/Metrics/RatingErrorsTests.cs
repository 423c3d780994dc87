using TorchSharp;
using static TorchSharp.torch;
using Recipes.Runtime.Data.Recommendation;
using Recipes.Runtime.Metrics;

namespace Recipes.Tests.Metrics;

public class RatingErrorsTests
{
    [Fact]
    public void Known_answers_for_MAE_and_RMSE()
    {
        double[] predicted = [4, 3, 5, 1], actual = [5, 3, 3, 1];
        Assert.Equal(0.75, RatingErrors.MeanAbsolute(predicted, actual), 12);   // (1 + 0 + 2 + 0) / 4
        Assert.Equal(Math.Sqrt(1.25), RatingErrors.RootMeanSquared(predicted, actual), 12); // sqrt((1 + 4) / 4)
        Assert.Throws<ArgumentException>(() => RatingErrors.MeanAbsolute([1.0], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => RatingErrors.RootMeanSquared([], []));
    }

    [Fact]
    public void The_training_MAE_takes_the_most_likely_class_in_stars_of_the_scale()
    {
        // Most likely classes 3 and 0 against true classes 4 and 2: off by 1 and 2 classes.
        using var logits = tensor(new float[] { 0, 0, 0, 5, 1, 9, 0, 0, 0, 0 }, [2, 5]);
        using var classes = tensor(new long[] { 4, 2 });
        Assert.Equal((3.0, 2L), new MeanAbsoluteRatingError(RatingScale.WholeStars).Measure(logits, classes));
        Assert.Equal((1.5, 2L), new MeanAbsoluteRatingError(new RatingScale(0.5, 2.5, 0.5)).Measure(logits, classes)); // half-star classes
    }
}
