namespace Recipes.Runtime.Distributed;

/// <summary>
/// The processes that train one model together (each holding local replicas): where this process sits among
/// them, and the element-wise sum of a buffer over all of them. The trainer gives process <see cref="Rank"/>
/// its share of every global batch and sums the weighted gradients through <see cref="SumInPlace"/>; every
/// process then takes the same optimizer step, so all copies of the model stay identical.
/// </summary>
public interface IProcessGroup
{
    int Rank { get; }
    int Size { get; }

    /// <summary>Replaces <paramref name="values"/> by their sum over the group (same length everywhere).
    /// Throws <see cref="ProcessGroupChangedException"/> when a member was lost and the group re-formed: the
    /// values are then unusable and the caller redoes the step with the new <see cref="Rank"/> and <see cref="Size"/>.</summary>
    void SumInPlace(Memory<float> values);

    /// <summary>Replaces a few totals that are not a training step (an evaluation's sums and counts) by their sum
    /// over the group. Like <see cref="SumInPlace"/> it throws <see cref="ProcessGroupChangedException"/> when the
    /// group re-formed, and the caller computes its share again. Each total travels as two float32 values (its
    /// float32 rounding and the remainder), so sums keep about 7 significant digits and whole counts below
    /// 2^24 stay exact.</summary>
    void SumTotals(Span<double> totals)
    {
        float[] packed = TotalsPacking.Pack(totals);
        SumInPlace(packed);
        TotalsPacking.Unpack(packed, totals);
    }

    /// <summary>The place (rank, size) under which this process contributed to the last sum it returned. It is
    /// the current one, except when the group re-formed after a member had already completed the sum: this
    /// process then receives that result, to which it contributed in the group as it was before.</summary>
    (int Rank, int Size) LastSumContribution => (Rank, Size);
}

/// <summary>Training in one process: the sum over the group is the values themselves.</summary>
public sealed class SingleProcess : IProcessGroup
{
    public static SingleProcess Instance { get; } = new();
    public int Rank => 0;
    public int Size => 1;
    public void SumInPlace(Memory<float> values) { }
    public void SumTotals(Span<double> totals) { }
}

/// <summary>The group cannot go on (its coordinator is gone, or a collective failed for good).</summary>
public sealed class ProcessGroupFailedException(IOException inner) : IOException(inner.Message, inner);

/// <summary>The group lost or gained members during a collective; the step must be computed again.</summary>
public sealed class ProcessGroupChangedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A process group that newcomers may join at epoch boundaries. The trainer calls <see cref="AtEpochBoundary"/>
/// before its first epoch and after each epoch but the last; when the group grows there, one member's state
/// (<c>captureState</c>: a checkpoint's bytes) is handed to the newcomers, for whom the call
/// returns it to adopt. Members already training get null and go on with the new <see cref="IProcessGroup.Rank"/>
/// and <see cref="IProcessGroup.Size"/>.
/// </summary>
public interface IElasticProcessGroup : IProcessGroup
{
    byte[]? AtEpochBoundary(bool trainingStarts, Func<byte[]> captureState);

    /// <summary>Called by every member of a resumed job before its first step: the members compare how many steps
    /// each has completed (they differ when the checkpoints are not all equally recent, or missing on some
    /// machine) and the most advanced member's state is handed to the others, for whom the call returns it.</summary>
    byte[]? AgreeOnResumedState(long completedSteps, Func<byte[]> captureState);

    /// <summary>The cores this process may use while the group stays as it is (its share of its machine, which
    /// changes when members on the same machine come or go); 0 before the group is formed.</summary>
    int Cores { get; }
}

/// <summary>Doubles as pairs of floats for a float32 sum: (float)x, then what that rounding left out.</summary>
public static class TotalsPacking
{
    public static float[] Pack(ReadOnlySpan<double> totals)
    {
        float[] packed = new float[2 * totals.Length];
        for (int i = 0; i < totals.Length; i++)
        {
            packed[2 * i] = (float)totals[i];
            packed[2 * i + 1] = (float)(totals[i] - packed[2 * i]);
        }
        return packed;
    }

    public static void Unpack(ReadOnlySpan<float> packed, Span<double> totals)
    {
        for (int i = 0; i < totals.Length; i++) totals[i] = (double)packed[2 * i] + packed[2 * i + 1];
    }
}
