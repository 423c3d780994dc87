using Recipes.Runtime.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Metrics;

public class RankingMetricsTests
{
    [Fact]
    public void Known_answers_for_rank_hit_ratio_and_NDCG()
    {
        Assert.Equal(0, RankingMetrics.RankOf([0.9, 0.1, 0.5], target: 0));
        Assert.Equal(2, RankingMetrics.RankOf([0.3, 0.9, 0.5, 0.1], target: 0));
        Assert.Equal(2, RankingMetrics.RankOf([0.5, 0.5, 0.5], target: 0));      // ties count against the target
        Assert.Equal(3, RankingMetrics.RankOf([double.NaN, 0, 0, 0], target: 0)); // NaN ranks last

        Assert.Equal(1.0, RankingMetrics.NdcgAt(0, 10));
        Assert.Equal(0.5, RankingMetrics.NdcgAt(2, 10), 12);                        // 1 / log2(4)
        Assert.Equal(1 / Math.Log2(11), RankingMetrics.NdcgAt(9, 10), 12);
        Assert.Equal(0.0, RankingMetrics.NdcgAt(10, 10));
        Assert.Equal((1.0, 0.0), (RankingMetrics.HitAt(9, 10), RankingMetrics.HitAt(10, 10)));

        int[] ranks = [0, 2, 9, 10, 50];
        Assert.Equal(0.6, RankingMetrics.HitRatio(ranks, 10), 12);
        Assert.Equal((1 + 0.5 + 1 / Math.Log2(11)) / 5, RankingMetrics.Ndcg(ranks, 10), 12);
        Assert.Equal([0.2, 0.2, 0.4], RankingMetrics.HitRatioCurve(ranks, 3));
    }

    [Fact]
    public void The_validation_methods_score_batches_of_candidate_lists_like_the_scalar_rules()
    {
        // Two users, four candidates each, held-out item at position 0 then position 2.
        using var scores = tensor(new float[] { 0.1f, 0.9f, 0.8f, 0.0f, /**/ 0.2f, 0.3f, 0.95f, 0.1f }, [8, 1]);
        using var targets = tensor(new long[] { 0, 2 });
        Assert.Equal((1.0, 2L), new HitRatio(1).Measure(scores, targets));               // user 2's item is first
        Assert.Equal((2.0, 2L), new HitRatio(3).Measure(scores, targets));               // user 1's is third
        var (gain, count) = new Ndcg(3).Measure(scores, targets);
        Assert.Equal((1 + 0.5, 2L), (Math.Round(gain, 12), count));
        Assert.Equal("hr@10", new HitRatio(10).Name);
        Assert.Equal("ndcg@10", new Ndcg(10).Name);
    }

    [Fact]
    public void Tensor_ranks_agree_with_the_scalar_rule_on_random_scores_with_ties_and_NaN()
    {
        var random = new Random(5);
        const int users = 40, candidates = 30;
        var values = new double[users * candidates];
        var targets = new long[users];
        for (int i = 0; i < values.Length; i++) values[i] = Math.Round(random.NextDouble() * 8) / 8; // many ties
        for (int u = 0; u < users; u++) targets[u] = random.Next(candidates);
        values[3 * candidates + (int)targets[3]] = double.NaN;

        using var scores = tensor(values);
        using var targetTensor = tensor(targets);
        using var ranks = RankingMetrics.Ranks(scores, targetTensor);
        for (int u = 0; u < users; u++)
            Assert.Equal(RankingMetrics.RankOf(values.AsSpan(u * candidates, candidates), (int)targets[u]), ranks[u].ToInt64());
        Assert.Throws<ArgumentException>(() => RankingMetrics.Ranks(scores, tensor(new long[] { 0, 0, 0, 0, 0, 0, 0 })));
    }
}
