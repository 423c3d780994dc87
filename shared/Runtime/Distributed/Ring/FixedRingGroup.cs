namespace Recipes.Runtime.Distributed.Ring;

/// <summary>A process group over one ring that never changes: a lost member is an error, not a re-formation.
/// For fixed launches (every process started together) and for tests.</summary>
public sealed class FixedRingGroup(RingAllReduce ring) : IProcessGroup
{
    public int Rank => ring.Rank;
    public int Size => ring.Size;
    public void SumInPlace(Memory<float> values) => ring.SumInPlace(values);
}
