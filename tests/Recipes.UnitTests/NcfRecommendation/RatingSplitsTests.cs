using Recipes.NcfRecommendation;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.NcfRecommendation;

public class RatingSplitsTests
{
    [Fact]
    public void The_random_split_takes_the_fraction_disjointly_and_repeats_with_its_seed()
    {
        var (train, test) = RatingSplits.Random(1000, 0.2, seed: 1);
        Assert.Equal((800, 200), (train.Length, test.Length));
        Assert.Equal(Enumerable.Range(0, 1000), train.Concat(test).Order());
        Assert.Equal(train.Order(), train);
        var (trainAgain, testAgain) = RatingSplits.Random(1000, 0.2, seed: 1);
        Assert.Equal(train, trainAgain);
        Assert.Equal(test, testAgain);
        Assert.NotEqual(test, RatingSplits.Random(1000, 0.2, seed: 2).Test);
        Assert.Throws<ArgumentOutOfRangeException>(() => RatingSplits.Random(10, 1.0, 1));
    }

    [Fact]
    public void A_subset_is_a_seeded_random_choice_in_row_order()
    {
        int[] rows = Enumerable.Range(100, 50).ToArray();
        int[] subset = RatingSplits.Subset(rows, 10, seed: 4);
        Assert.Equal(10, subset.Distinct().Count());
        Assert.All(subset, row => Assert.Contains(row, rows));
        Assert.Equal(subset.Order(), subset);
        Assert.NotEqual(rows[..10], subset); // not simply the first rows
        Assert.Equal(subset, RatingSplits.Subset(rows, 10, seed: 4));
        Assert.Same(rows, RatingSplits.Subset(rows, 80, seed: 4));
    }

    [Fact]
    public void Leave_one_out_holds_out_each_users_latest_rating_with_ties_going_to_the_later_row()
    {
        var ratings = UserItemRatings.Create(
        [
            new MovieRating(1, 100, 4, 50), new MovieRating(1, 200, 3, 90), new MovieRating(1, 300, 5, 70),  // latest: movie 200
            new MovieRating(2, 100, 2, 10), new MovieRating(2, 300, 1, 10),                                  // tie: the later row, 300
            new MovieRating(3, 200, 5, 5),                                                                   // only one: kept for training
        ], [], RatingScale.WholeStars);
        var split = RatingSplits.LeaveLatestOut(ratings);
        Assert.Equal([new HeldOutInteraction(0, ratings.ItemOfId(200)!.Value), new HeldOutInteraction(1, ratings.ItemOfId(300)!.Value)], split.HeldOut);
        Assert.Equal([0, 2, 3, 5], split.TrainRows);
    }

    [Fact]
    public void Rating_batches_are_user_item_index_pairs_with_star_classes()
    {
        var ratings = UserItemRatings.Create([new MovieRating(7, 70, 5, 1), new MovieRating(3, 70, 1, 2), new MovieRating(7, 20, 2, 3)], [], RatingScale.WholeStars);
        using var source = ratings.ToRatingBatchSource([2, 0]);
        using var scope = torch.NewDisposeScope();
        var (input, target) = source.GetBatch([0, 1]);
        Assert.Equal(new long[] { 2, 2 }, input.shape);
        Assert.Equal(ScalarType.Int64, input.dtype);
        Assert.Equal(new long[] { 1, 0, 1, 1 }, input.data<long>().ToArray()); // (user 7 -> 1, movie 20 -> 0), (1, movie 70 -> 1)
        Assert.Equal(new long[] { 1, 4 }, target.data<long>().ToArray());     // 2 stars -> class 1, 5 stars -> class 4
        Assert.Equal([1, 2], ratings.ItemRatingCounts());
        Assert.Equal([0, 1], ratings.ItemRatingCounts([1]));
    }
}
