using Recipes.NcfRecommendation;
using Recipes.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.NcfRecommendation;

public class NegativeSamplingTests
{
    [Fact]
    public void Draws_never_return_a_known_item_repeat_for_the_same_key_and_cover_the_unseen_items_evenly()
    {
        var known = UserItemSets.FromLists([[0, 2, 4, 6, 8], [1]], itemCount: 10);
        var sampler = new NegativeSampler(known);
        var counts = new int[10];
        for (int sample = 0; sample < 20_000; sample++)
        {
            int item = sampler.Draw(0, NegativeSampler.Key(seed: 1, epoch: 0, sample));
            Assert.Equal(item, sampler.Draw(0, NegativeSampler.Key(seed: 1, epoch: 0, sample)));
            counts[item]++;
        }
        Assert.All(new[] { 0, 2, 4, 6, 8 }, item => Assert.Equal(0, counts[item]));
        Assert.All(new[] { 1, 3, 5, 7, 9 }, item => Assert.InRange(counts[item], 3_600, 4_400)); // 4,000 expected each
        Assert.NotEqual(NegativeSampler.Key(1, 0, 5), NegativeSampler.Key(1, 1, 5));
        Assert.NotEqual(NegativeSampler.Key(1, 0, 5), NegativeSampler.Key(2, 0, 5));
    }

    [Fact]
    public void A_user_who_saw_almost_everything_still_gets_the_one_unseen_item_and_one_who_saw_all_is_an_error()
    {
        var known = UserItemSets.FromLists([Enumerable.Range(0, 1000).Where(i => i != 637), Enumerable.Range(0, 1000)], itemCount: 1000);
        var sampler = new NegativeSampler(known);
        Assert.All(Enumerable.Range(0, 50), sample => Assert.Equal(637, sampler.Draw(0, (ulong)sample)));
        Assert.Contains("has interacted with all 1000 items", Assert.Throws<InvalidOperationException>(() => sampler.Draw(1, 0)).Message);

        Span<int> four = stackalloc int[4];
        Assert.False(sampler.TryDrawDistinct(0, new Random(1), four));
    }

    [Fact]
    public void Distinct_draws_are_unseen_distinct_and_seeded()
    {
        var sampler = new NegativeSampler(UserItemSets.FromLists([[3, 4, 5]], itemCount: 200));
        int[] first = new int[99], again = new int[99];
        Assert.True(sampler.TryDrawDistinct(0, new Random(42), first));
        Assert.True(sampler.TryDrawDistinct(0, new Random(42), again));
        Assert.Equal(first, again);
        Assert.Equal(99, first.Distinct().Count());
        Assert.DoesNotContain(first, item => item is 3 or 4 or 5);
    }

    static (UserItemRatings Ratings, ImplicitTrainingSource Source) TwoUsers(int seed = 1)
    {
        var ratings = UserItemRatings.Create(
        [
            new MovieRating(1, 1, 5, 1), new MovieRating(1, 2, 4, 2), new MovieRating(2, 3, 3, 3),
            .. Enumerable.Range(10, 40).Select(movie => new MovieRating(3, movie, 1, movie)), // more movies for negatives
        ], [], RatingScale.WholeStars);
        int[] positives = [0, 1, 2];
        var sampler = new NegativeSampler(UserItemSets.From(ratings, positives));
        return (ratings, new ImplicitTrainingSource(ratings, positives, sampler, negativesPerPositive: 4, seed));
    }

    [Fact]
    public void Implicit_samples_are_each_positive_followed_by_four_unseen_negatives_redrawn_every_epoch()
    {
        var (ratings, source) = TwoUsers();
        Assert.Equal(15, source.Count);
        var known = UserItemSets.From(ratings, [0, 1, 2]);
        for (int i = 0; i < source.Count; i++)
        {
            var (user, item, label) = source.SampleAt(i);
            Assert.Equal(ratings.Users[i / 5], user);
            if (i % 5 == 0) Assert.Equal((ratings.Items[i / 5], 1f), (item, label));
            else Assert.True(label == 0 && !known.Contains(user, item), $"sample {i}: item {item} label {label}");
        }
        var epoch0 = Enumerable.Range(0, 15).Select(source.SampleAt).ToArray();
        source.Epoch = 1;
        var epoch1 = Enumerable.Range(0, 15).Select(source.SampleAt).ToArray();
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(epoch0.Where((_, i) => i % 5 == 0), epoch1.Where((_, i) => i % 5 == 0));

        using var scope = torch.NewDisposeScope();
        var (input, target) = source.GetBatch([5, 6]);
        Assert.Equal(new long[] { 2, 2 }, input.shape);
        Assert.Equal(ScalarType.Float32, target.dtype);
        Assert.Equal(new float[] { 1, 0 }, target.data<float>().ToArray());
        Assert.Equal(new long[] { epoch1[5].User, epoch1[5].Item, epoch1[6].User, epoch1[6].Item }, input.data<long>().ToArray());
    }

    [Fact]
    public void As_a_trainer_observer_the_source_follows_the_epochs_and_a_resumed_run_gets_the_same_negatives()
    {
        var (_, straight) = TwoUsers();
        ITrainingObserver observer = straight;
        observer.TrainingStarted(0, 5, 1, straight.Count);
        for (int epoch = 0; epoch < 3; epoch++)
            observer.EpochCompleted(new EpochReport(epoch, 5, epoch + 1, 0.5, new Dictionary<string, double>(), 0.001, 1, 1, 1));
        Assert.Equal(3, straight.Epoch);

        var (_, resumed) = TwoUsers();
        ((ITrainingObserver)resumed).TrainingStarted(3, 5, 1, resumed.Count);
        Assert.Equal(Enumerable.Range(0, 15).Select(straight.SampleAt), Enumerable.Range(0, 15).Select(resumed.SampleAt));
        Assert.NotEqual(Enumerable.Range(0, 15).Select(straight.SampleAt), Enumerable.Range(0, 15).Select(TwoUsers(seed: 2).Source.SampleAt));
    }

    [Fact]
    public void Ranking_candidates_put_the_held_out_item_first_among_99_never_seen_items()
    {
        // 60 users of 400 movies, each with 20 to 200 ratings: every user has over 99 movies left to sample.
        var (ratings, movies) = MovieLensLikeRatings.Create(MovieLensShape.HundredThousand with { Release = "small", Users = 60, Movies = 400, Ratings = 3_000 });
        var all = UserItemRatings.Create(ratings, movies, RatingScale.WholeStars);
        var split = RatingSplits.LeaveLatestOut(all);
        var everything = UserItemSets.From(all);
        var candidates = new RankingCandidates(split.HeldOut, new NegativeSampler(everything), RankingCandidates.PaperNegatives, seed: 3);

        Assert.Equal((60, 100, 0), (candidates.Count, candidates.CandidatesPerUser, candidates.SkippedUsers));
        for (int index = 0; index < candidates.Count; index++)
        {
            var list = candidates.CandidatesAt(index).ToArray();
            Assert.Equal(split.HeldOut[index].Item, list[0]);
            Assert.Equal(100, list.Distinct().Count());
            Assert.All(list[1..], item => Assert.False(everything.Contains(candidates.UserAt(index), item)));
        }
        var again = new RankingCandidates(split.HeldOut, new NegativeSampler(everything), RankingCandidates.PaperNegatives, seed: 3);
        Assert.Equal(candidates.CandidatesAt(7).ToArray(), again.CandidatesAt(7).ToArray());

        using var scope = torch.NewDisposeScope();
        var (input, target) = candidates.GetBatch([2, 5]);
        Assert.Equal(new long[] { 200, 2 }, input.shape);
        Assert.Equal(new long[] { 0, 0 }, target.data<long>().ToArray());
        Assert.Equal(candidates.UserAt(5), input[100, 0].ToInt64());
        Assert.Equal(split.HeldOut[5].Item, input[100, 1].ToInt64());

        // Scoring the held-out item above everything ranks it first; scoring all alike ranks it last.
        Assert.All(candidates.Ranks((user, item) => item == split.HeldOut.First(h => h.User == user).Item ? 1 : 0), rank => Assert.Equal(0, rank));
        Assert.All(candidates.Ranks((_, _) => 0.5), rank => Assert.Equal(99, rank));
    }

    [Fact]
    public void Users_with_too_few_unseen_items_are_skipped_and_counted()
    {
        var known = UserItemSets.FromLists([[0, 1], Enumerable.Range(0, 50)], itemCount: 60);
        var candidates = new RankingCandidates([new HeldOutInteraction(0, 1), new HeldOutInteraction(1, 0)], new NegativeSampler(known), negatives: 20, seed: 1);
        Assert.Equal((1, 1, 0), (candidates.Count, candidates.SkippedUsers, candidates.UserAt(0)));
    }
}
