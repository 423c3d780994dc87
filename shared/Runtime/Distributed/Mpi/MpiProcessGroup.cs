using System.Runtime.InteropServices;

namespace Recipes.Runtime.Distributed.Mpi;

/// <summary>
/// The processes started together by <c>mpirun</c> (MPI_COMM_WORLD) as a process group: gradients are summed with
/// <c>MPI_Allreduce</c>, which Open MPI runs over shared memory between processes of one machine and over the
/// network between machines. Unlike the cluster mode it is not elastic: MPI ends the whole job when a process
/// dies, so a job resumes from its checkpoints (<c>--resume</c>) under a new <c>mpirun</c>.
/// </summary>
public sealed class MpiProcessGroup : IProcessGroup, IDisposable
{
    readonly OpenMpiLibrary _mpi;
    bool _finalized;

    MpiProcessGroup(OpenMpiLibrary mpi)
    {
        _mpi = mpi;
        _mpi.Init();
        Rank = _mpi.Rank();
        Size = _mpi.Size();
    }

    /// <summary>True when this process was started by Open MPI's <c>mpirun</c> (or another PMIx launcher).</summary>
    public static bool LaunchedByMpirun =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("PMIX_RANK") is not null;

    /// <summary>How many processes of this job run on this machine (Open MPI tells each process).</summary>
    public static int ProcessesOnThisMachine =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int local) && local > 0 ? local : 1;

    public static MpiProcessGroup Start()
    {
        if (!LaunchedByMpirun)
            throw new ArgumentException("--master mpi: start the recipe with mpirun, e.g. mpirun -np 2 dotnet mnist.dll --master mpi");
        return new MpiProcessGroup(OpenMpiLibrary.Load());
    }

    public int Rank { get; }
    public int Size { get; }

    public void SumInPlace(Memory<float> values)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        if (Size == 1 || values.IsEmpty) return;
        if (MemoryMarshal.TryGetArray<float>(values, out var segment))
        {
            var pin = GCHandle.Alloc(segment.Array!, GCHandleType.Pinned);
            try
            {
                _mpi.AllreduceInPlace(pin.AddrOfPinnedObject() + segment.Offset * sizeof(float), segment.Count, _mpi.Float);
            }
            finally
            {
                pin.Free();
            }
            return;
        }
        float[] copy = values.ToArray();
        SumInPlace(copy);
        copy.CopyTo(values);
    }

    /// <summary>MPI sums doubles natively: evaluation totals keep full precision.</summary>
    public void SumTotals(Span<double> totals)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        if (Size == 1 || totals.IsEmpty) return;
        double[] buffer = totals.ToArray();
        var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            _mpi.AllreduceInPlace(pin.AddrOfPinnedObject(), buffer.Length, _mpi.Double);
        }
        finally
        {
            pin.Free();
        }
        buffer.CopyTo(totals);
    }

    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        _mpi.FinalizeMpi();
    }
}
