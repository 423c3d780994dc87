using Recipes.NcfRecommendation;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.NcfRecommendation;

public class RatingScaleTests
{
    [Fact]
    public void Stars_map_to_classes_and_back_on_whole_and_half_star_scales()
    {
        Assert.Equal(5, RatingScale.WholeStars.ClassCount);
        Assert.Equal((0, 4), (RatingScale.WholeStars.ClassOf(1), RatingScale.WholeStars.ClassOf(5)));
        Assert.Equal(10, RatingScale.HalfStars.ClassCount);
        Assert.Equal(6, RatingScale.HalfStars.ClassOf(3.5));
        Assert.Equal(3.5, RatingScale.HalfStars.StarsOf(6));
        Assert.False(RatingScale.WholeStars.Allows(3.5));
        Assert.False(RatingScale.WholeStars.Allows(0));
        Assert.False(RatingScale.HalfStars.Allows(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => RatingScale.WholeStars.ClassOf(6));
        Assert.Throws<ArgumentException>(() => new RatingScale(1, 5, 0.3));
    }

    [Fact]
    public void Most_likely_and_expected_stars_from_class_logits()
    {
        // Row 0: certain of 4 stars; row 1: half 1 star, half 5 stars.
        using var logits = tensor(new float[] { -50, -50, -50, 50, -50, 0, -50, -50, -50, 0 }, [2, 5]);
        using var mostLikely = RatingScale.WholeStars.MostLikelyStars(logits);
        using var expected = RatingScale.WholeStars.ExpectedStars(logits);
        Assert.Equal(4f, mostLikely[0].ToSingle());
        Assert.Equal([4.0, 3.0], expected.data<float>().ToArray().Select(v => Math.Round(v, 4)));
    }
}
