using Recipes.Runtime.Metrics;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>
/// The NCF paper's ranking test: for every held-out interaction, the held-out item and
/// <see cref="Negatives"/> items the user never interacted with, drawn once with a seed. Sample <c>i</c> is
/// one user: <see cref="GetBatch"/> returns the (user, candidate) pairs of each user in turn, int64
/// [users x candidates, 2], with the held-out item first, and as target the held-out item's position
/// (0) as int64 [users], which is what <see cref="HitRatio"/> and <see cref="Ndcg"/> expect. Users with too few
/// unseen items for a full list are left out and counted in <see cref="SkippedUsers"/>.
/// </summary>
public sealed class RankingCandidates : IBatchSource
{
    /// <summary>The paper's protocol: 99 sampled negatives, so 100 candidates per user and HR@10 = 0.10 at random.</summary>
    public const int PaperNegatives = 99;

    readonly int[] _users;
    readonly int[] _candidates; // row-major [users, CandidatesPerUser]

    /// <param name="everything">Knows every interaction of every user, held-out ones included, so that no
    /// sampled negative is in fact something the user liked.</param>
    public RankingCandidates(IReadOnlyList<HeldOutInteraction> heldOut, NegativeSampler everything, int negatives, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(negatives);
        Negatives = negatives;
        var random = new Random(seed);
        var users = new List<int>(heldOut.Count);
        var candidates = new List<int>(heldOut.Count * CandidatesPerUser);
        var row = new int[CandidatesPerUser];
        foreach (var (user, item) in heldOut)
        {
            row[0] = item;
            if (!everything.TryDrawDistinct(user, random, row.AsSpan(1)))
            {
                SkippedUsers++;
                continue;
            }
            users.Add(user);
            candidates.AddRange(row);
        }
        _users = [.. users];
        _candidates = [.. candidates];
    }

    public int Negatives { get; }
    public int CandidatesPerUser => Negatives + 1;
    public int SkippedUsers { get; }

    /// <summary>Users ranked (one sample each).</summary>
    public int Count => _users.Length;

    public int UserAt(int index) => _users[index];

    /// <summary>The candidates of sample <paramref name="index"/>, the held-out item first.</summary>
    public ReadOnlySpan<int> CandidatesAt(int index) => _candidates.AsSpan(index * CandidatesPerUser, CandidatesPerUser);

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        int width = CandidatesPerUser;
        var pairs = new long[indices.Length * width * 2];
        for (int i = 0; i < indices.Length; i++)
        {
            int user = _users[indices[i]];
            var candidates = CandidatesAt(indices[i]);
            for (int c = 0; c < width; c++)
            {
                pairs[2 * (i * width + c)] = user;
                pairs[2 * (i * width + c) + 1] = candidates[c];
            }
        }
        return (tensor(pairs, [indices.Length * width, 2]), zeros(indices.Length, dtype: ScalarType.Int64));
    }

    /// <summary>
    /// The rank of each user's held-out item under any scoring rule (a baseline such as item popularity), with
    /// the same tie rule as the tensor metrics: an equal score ranks ahead of the held-out item.
    /// </summary>
    public int[] Ranks(Func<int, int, double> score)
    {
        var ranks = new int[Count];
        var scores = new double[CandidatesPerUser];
        for (int index = 0; index < Count; index++)
        {
            var candidates = CandidatesAt(index);
            for (int c = 0; c < scores.Length; c++) scores[c] = score(_users[index], candidates[c]);
            ranks[index] = RankingMetrics.RankOf(scores, target: 0);
        }
        return ranks;
    }
}
