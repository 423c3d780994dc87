using Recipes.Runtime.Training;

namespace Recipes.Runtime.Metrics;

/// <summary>
/// HR@K over a ranking batch: the model's output holds one score per (user, candidate) pair, users in turn,
/// and the target is the position of each user's held-out item among its candidates (the ncf-recommendation
/// recipe's RankingCandidates lays its batches out this way). Counts one sample per user.
/// </summary>
public sealed class HitRatio(int k) : IValidationMethod
{
    public int K { get; } = k >= 1 ? k : throw new ArgumentOutOfRangeException(nameof(k), k, "K must be at least 1");
    public string Name => $"hr@{K}";
    public bool HigherIsBetter => true;

    public (double Sum, long Count) Measure(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        var ranks = RankingMetrics.Ranks(output, target);
        return (ranks.lt(K).sum().ToDouble(), target.shape[0]);
    }
}

/// <summary>NDCG@K over a ranking batch, laid out as for <see cref="HitRatio"/>.</summary>
public sealed class Ndcg(int k) : IValidationMethod
{
    public int K { get; } = k >= 1 ? k : throw new ArgumentOutOfRangeException(nameof(k), k, "K must be at least 1");
    public string Name => $"ndcg@{K}";
    public bool HigherIsBetter => true;

    public (double Sum, long Count) Measure(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        var ranks = RankingMetrics.Ranks(output, target).to(ScalarType.Float64);
        var gains = where(ranks.lt(K), ranks.add(2).log2().reciprocal(), zeros_like(ranks));
        return (gains.sum().ToDouble(), target.shape[0]);
    }
}
