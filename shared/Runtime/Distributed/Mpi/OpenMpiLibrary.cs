using System.Runtime.InteropServices;

namespace Recipes.Runtime.Distributed.Mpi;

/// <summary>
/// The few calls of Open MPI's C library that data-parallel training needs, bound at run time from
/// <c>libmpi.so.40</c> (Open MPI 4 and 5; Debian's <c>openmpi-bin</c>). Open MPI's handles for the world
/// communicator, the float/double types and the sum operation are the addresses of exported globals
/// (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>), and <c>MPI_IN_PLACE</c> is the address 1.
/// Not the MPI.NET package: it is Windows-only and builds against MS-MPI.
/// </summary>
sealed class OpenMpiLibrary
{
    static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so"];
    public static readonly IntPtr InPlace = 1;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate int InitFunction(IntPtr argc, IntPtr argv);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate int FlagFunction(out int flag);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate int CommunicatorQuery(IntPtr communicator, out int value);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate int AllreduceFunction(IntPtr send, IntPtr receive, int count, IntPtr type, IntPtr operation, IntPtr communicator);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] delegate int NoArgumentFunction();

    readonly InitFunction _init;
    readonly FlagFunction _initialized, _finalized;
    readonly CommunicatorQuery _rank, _size;
    readonly AllreduceFunction _allreduce;
    readonly NoArgumentFunction _finalize;

    OpenMpiLibrary(IntPtr library)
    {
        T Function<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));
        _init = Function<InitFunction>("MPI_Init");
        _initialized = Function<FlagFunction>("MPI_Initialized");
        _finalized = Function<FlagFunction>("MPI_Finalized");
        _rank = Function<CommunicatorQuery>("MPI_Comm_rank");
        _size = Function<CommunicatorQuery>("MPI_Comm_size");
        _allreduce = Function<AllreduceFunction>("MPI_Allreduce");
        _finalize = Function<NoArgumentFunction>("MPI_Finalize");
        World = NativeLibrary.GetExport(library, "ompi_mpi_comm_world");
        Float = NativeLibrary.GetExport(library, "ompi_mpi_float");
        Double = NativeLibrary.GetExport(library, "ompi_mpi_double");
        Sum = NativeLibrary.GetExport(library, "ompi_mpi_op_sum");
    }

    public IntPtr World { get; }
    public IntPtr Float { get; }
    public IntPtr Double { get; }
    public IntPtr Sum { get; }

    public static OpenMpiLibrary Load()
    {
        foreach (string name in Candidates)
            if (NativeLibrary.TryLoad(name, out var library)) return new OpenMpiLibrary(library);
        throw new DllNotFoundException("--master mpi needs Open MPI's libmpi.so.40 (Debian/Ubuntu: apt-get install openmpi-bin)");
    }

    public void Init()
    {
        Check(_initialized(out int initialized), "MPI_Initialized");
        if (initialized == 0) Check(_init(IntPtr.Zero, IntPtr.Zero), "MPI_Init");
    }

    public int Rank() { Check(_rank(World, out int rank), "MPI_Comm_rank"); return rank; }
    public int Size() { Check(_size(World, out int size), "MPI_Comm_size"); return size; }

    public void AllreduceInPlace(IntPtr buffer, int count, IntPtr type) =>
        Check(_allreduce(InPlace, buffer, count, type, Sum, World), "MPI_Allreduce");

    public void FinalizeMpi()
    {
        Check(_finalized(out int finalized), "MPI_Finalized");
        if (finalized == 0) Check(_finalize(), "MPI_Finalize");
    }

    // With MPI's default error handler a failing call aborts every process of the job before returning;
    // a code that does come back is still an error worth naming.
    static void Check(int code, string call)
    {
        if (code != 0) throw new IOException($"mpi: {call} failed with error code {code}");
    }
}
