using Recipes.NcfRecommendation;
using static TorchSharp.torch;

namespace Recipes.Tests.NcfRecommendation;

public class MeanAbsoluteRatingErrorTests
{
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
