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
}

/// <summary>Training in one process: the sum over the group is the values themselves.</summary>
public sealed class SingleProcess : IProcessGroup
{
    public static SingleProcess Instance { get; } = new();
    public int Rank => 0;
    public int Size => 1;
    public void SumInPlace(Memory<float> values) { }
}

/// <summary>The group lost or gained members during a collective; the step must be computed again.</summary>
public sealed class ProcessGroupChangedException(string message, Exception? inner = null) : Exception(message, inner);
