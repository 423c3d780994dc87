namespace Recipes.Runtime.Metrics;

/// <summary>
/// Hit ratio and normalised discounted cumulative gain at K for one relevant item ranked among candidates,
/// as in the NCF paper (He et al. 2017): the rank is 0 for the top place; HR@K is 1 when the item is in the
/// top K; NDCG@K is 1 / log2(rank + 2) there (1 at the top, 0.5 at rank 2) and 0 below.
/// </summary>
public static class RankingMetrics
{
    /// <summary>
    /// The rank of <paramref name="scores"/>[<paramref name="target"/>]: how many other candidates score higher
    /// or the same. Ties go against the target, so a model that scores everything alike ranks it last
    /// rather than first; a NaN target score ranks last too.
    /// </summary>
    public static int RankOf(ReadOnlySpan<double> scores, int target)
    {
        if ((uint)target >= (uint)scores.Length) throw new ArgumentOutOfRangeException(nameof(target), target, $"there are {scores.Length} candidates");
        double score = scores[target];
        if (double.IsNaN(score)) return scores.Length - 1;
        int rank = 0;
        for (int i = 0; i < scores.Length; i++)
            if (i != target && scores[i] >= score) rank++;
        return rank;
    }

    public static double HitAt(int rank, int k) => rank < k ? 1 : 0;

    public static double NdcgAt(int rank, int k) => rank < k ? 1 / Math.Log2(rank + 2) : 0;

    /// <summary>HR@K averaged over users, from each user's rank.</summary>
    public static double HitRatio(IReadOnlyCollection<int> ranks, int k) => Mean(ranks, rank => HitAt(rank, k));

    /// <summary>NDCG@K averaged over users, from each user's rank.</summary>
    public static double Ndcg(IReadOnlyCollection<int> ranks, int k) => Mean(ranks, rank => NdcgAt(rank, k));

    /// <summary>HR@1 .. HR@<paramref name="maxK"/>: the fraction of users whose rank is below each K.</summary>
    public static double[] HitRatioCurve(IReadOnlyCollection<int> ranks, int maxK) =>
        Enumerable.Range(1, maxK).Select(k => HitRatio(ranks, k)).ToArray();

    static double Mean(IReadOnlyCollection<int> ranks, Func<int, double> value) =>
        ranks.Count == 0 ? double.NaN : ranks.Sum(value) / ranks.Count;

    /// <summary>
    /// Ranks of the target in each row of <paramref name="scores"/> [users x candidates] (any shape with that
    /// many elements, such as a model's [users x candidates, 1] output), the same rule as <see cref="RankOf"/>.
    /// </summary>
    public static Tensor Ranks(Tensor scores, Tensor targets)
    {
        using var scope = NewDisposeScope();
        long users = targets.shape[0];
        if (users == 0 || scores.numel() % users != 0)
            throw new ArgumentException($"{scores.numel()} scores cannot be split evenly among {users} users");
        var table = scores.reshape(users, -1).to(ScalarType.Float64);
        var targetScores = table.gather(1, targets.reshape(users, 1).to(ScalarType.Int64));
        // ">=" counts the target itself once; its NaN compares false everywhere, so NaN targets are set last.
        var ranks = table.ge(targetScores).sum(1).sub(1);
        var last = full_like(ranks, table.shape[1] - 1);
        return where(targetScores.squeeze(1).isnan(), last, ranks).MoveToOuterDisposeScope();
    }
}
