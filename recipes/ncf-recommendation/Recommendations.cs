using Recipes.Runtime.Metrics;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>A user or item by dense index, with the score a model gave it.</summary>
public readonly record struct ScoredIndex(int Index, double Score);

/// <summary>
/// Uses a trained (user, item) pair model: scores pairs, and ranks every item for a user or every user for an
/// item (the seed's recommendForUser / recommendForItem). <c>score</c> turns the model's output [batch, outputs]
/// into one number per pair, e.g. the expected stars or the sigmoid of an interaction logit.
/// </summary>
public static class Recommendations
{
    const int PairsPerForward = 8192;

    /// <summary>The score of every sample of <paramref name="pairs"/> (inputs (user, item) int64 [n, 2]), in order.</summary>
    public static double[] ScorePairs(nn.Module<Tensor, Tensor> model, IBatchSource pairs, Func<Tensor, Tensor> score)
    {
        var scores = new double[pairs.Count];
        int[] indices = new int[PairsPerForward];
        model.eval();
        using var noGrad = no_grad();
        for (int start = 0; start < pairs.Count; start += PairsPerForward)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(PairsPerForward, pairs.Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            var (input, _) = pairs.GetBatch(indices.AsSpan(0, count));
            CopyScores(score(model.forward(input)), scores.AsSpan(start, count));
        }
        return scores;
    }

    /// <summary>
    /// The rank of each user's held-out item among its candidates under the model (0 = top), from
    /// <paramref name="candidates"/>' batches; <paramref name="score"/> as for the other methods.
    /// </summary>
    public static int[] RanksOf(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor> score, RankingCandidates candidates)
    {
        var ranks = new int[candidates.Count];
        int usersPerForward = Math.Max(1, PairsPerForward / candidates.CandidatesPerUser);
        int[] indices = new int[usersPerForward];
        model.eval();
        using var noGrad = no_grad();
        for (int start = 0; start < candidates.Count; start += usersPerForward)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(usersPerForward, candidates.Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            var (input, target) = candidates.GetBatch(indices.AsSpan(0, count));
            long[] batchRanks = RankingMetrics.Ranks(score(model.forward(input)), target).data<long>().ToArray();
            for (int i = 0; i < count; i++) ranks[start + i] = (int)batchRanks[i];
        }
        return ranks;
    }

    /// <summary>The <paramref name="k"/> best-scoring items for <paramref name="user"/>, best first, skipping
    /// those <paramref name="exclude"/> says to (typically the ones the user already rated).</summary>
    public static IReadOnlyList<ScoredIndex> TopItemsForUser(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor> score, int user, int itemCount, int k,
        Func<int, bool>? exclude = null) =>
        Top(model, score, itemCount, k, exclude, candidate => (user, candidate));

    /// <summary>The <paramref name="k"/> users most likely to like <paramref name="item"/>, best first.</summary>
    public static IReadOnlyList<ScoredIndex> TopUsersForItem(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor> score, int item, int userCount, int k,
        Func<int, bool>? exclude = null) =>
        Top(model, score, userCount, k, exclude, candidate => (candidate, item));

    static IReadOnlyList<ScoredIndex> Top(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor> score, int candidateCount, int k,
        Func<int, bool>? exclude, Func<int, (int User, int Item)> pairOf)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var scores = new double[candidateCount];
        model.eval();
        using (var noGrad = no_grad())
            for (int start = 0; start < candidateCount; start += PairsPerForward)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(PairsPerForward, candidateCount - start);
                var pairs = new long[count * 2];
                for (int i = 0; i < count; i++) (pairs[2 * i], pairs[2 * i + 1]) = pairOf(start + i);
                CopyScores(score(model.forward(tensor(pairs, [count, 2]))), scores.AsSpan(start, count));
            }
        return Enumerable.Range(0, candidateCount)
            .Where(candidate => exclude is null || !exclude(candidate))
            .Select(candidate => new ScoredIndex(candidate, scores[candidate]))
            .OrderByDescending(scored => scored.Score).ThenBy(scored => scored.Index)
            .Take(k)
            .ToArray();
    }

    static void CopyScores(Tensor scores, Span<double> destination)
    {
        if (scores.numel() != destination.Length)
            throw new ArgumentException($"the score function gave {scores.numel()} scores for {destination.Length} pairs");
        scores.to(ScalarType.Float64).reshape(-1).data<double>().CopyTo(destination);
    }
}
