using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>
/// Implicit-feedback training data as the NCF paper builds it: every observed (user, item) interaction is a
/// positive (label 1) followed by <see cref="NegativesPerPositive"/> items the user has not interacted with
/// (label 0), drawn afresh each epoch. Sample <c>i</c> is positive <c>i / (1 + negatives)</c>; its slot
/// <c>i % (1 + negatives)</c> is 0 for the positive itself. Inputs are (user, item) int64 [batch, 2], targets
/// float32 [batch]. Register it as a trainer observer so it learns the epoch (and the first epoch after a
/// resume): the negatives of a sample depend only on (seed, epoch, sample), so they are the same on every
/// replica thread and after a resume.
/// </summary>
public sealed class ImplicitTrainingSource : IBatchSource, ITrainingObserver, IDataIdentity
{
    readonly int[] _users, _items;
    readonly NegativeSampler _sampler;
    readonly int _seed;
    volatile int _epoch;

    /// <param name="ratings">The interactions; every row in <paramref name="positiveRows"/> is a positive.</param>
    /// <param name="sampler">Knows which items each user has interacted with in training.</param>
    public ImplicitTrainingSource(UserItemRatings ratings, IReadOnlyList<int> positiveRows, NegativeSampler sampler, int negativesPerPositive, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(negativesPerPositive);
        if (positiveRows.Count == 0) throw new ArgumentException("there are no positive interactions to train on");
        NegativesPerPositive = negativesPerPositive;
        _sampler = sampler;
        _seed = seed;
        _users = positiveRows.Select(row => ratings.Users[row]).ToArray();
        _items = positiveRows.Select(row => ratings.Items[row]).ToArray();
        Count = checked(_users.Length * (1 + negativesPerPositive));
    }

    /// <summary>The NCF paper's default: four negatives for every positive.</summary>
    public const int PaperNegativesPerPositive = 4;

    public int NegativesPerPositive { get; }
    public int PositiveCount => _users.Length;
    public int Count { get; }

    /// <summary>The epoch whose negatives <see cref="GetBatch"/> returns (0-based).</summary>
    public int Epoch
    {
        get => _epoch;
        set => _epoch = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(Epoch), value, "epochs count from 0");
    }

    /// <summary>The (user, item, label) of one sample in the current epoch.</summary>
    public (int User, int Item, float Label) SampleAt(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"there are {Count} samples");
        int positive = index / (1 + NegativesPerPositive);
        int slot = index % (1 + NegativesPerPositive);
        int user = _users[positive];
        return slot == 0
            ? (user, _items[positive], 1f)
            : (user, _sampler.Draw(user, NegativeSampler.Key(_seed, _epoch, index)), 0f);
    }

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        var pairs = new long[indices.Length * 2];
        var labels = new float[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            var (user, item, label) = SampleAt(indices[i]);
            pairs[2 * i] = user;
            pairs[2 * i + 1] = item;
            labels[i] = label;
        }
        return (tensor(pairs, [indices.Length, 2]), tensor(labels));
    }

    /// <summary>The positives (every label pattern is the same, so the labels say nothing) and the sampling settings.</summary>
    public string DataIdentity
    {
        get
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_users.AsSpan()));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_items.AsSpan()));
            return $"implicit:{_users.Length}:{NegativesPerPositive}:{_seed}:{Convert.ToHexString(hash.GetHashAndReset())}";
        }
    }

    void ITrainingObserver.TrainingStarted(int firstEpoch, int epochs, int batchesPerEpoch, int sampleCount) => Epoch = firstEpoch;

    void ITrainingObserver.EpochCompleted(EpochReport report) => Epoch = report.Epoch + 1;
}
