using System.Text.RegularExpressions;

namespace Recipes.Runtime.Distributed;

/// <summary>
/// Spark-style <c>--master local[N]</c>: N model replicas in this process, one thread each. The cores
/// are shared out so that replicas x intra-op threads does not exceed the machine (oversubscribing two
/// cores with four busy threads makes libtorch slower, not faster).
/// </summary>
public sealed partial record LocalMaster(int Replicas, int IntraOpThreadsPerReplica)
{
    /// <summary>Every value <c>--master</c> accepts (local here; cluster and mpi are told apart by the recipe's
    /// command line), for help and for the error a wrong value gets.</summary>
    public const string AcceptedForms =
        "local[*] (one replica per core), local[N] (N >= 1 replicas in this process), " +
        "cluster[N] (a driver for N >= 1 worker processes) or mpi (each process of an mpirun job trains)";

    public static LocalMaster Parse(string master, int? cores = null)
    {
        int available = cores ?? Environment.ProcessorCount;
        var match = LocalPattern().Match(master.Trim());
        if (!match.Success)
            throw new ArgumentException($"--master '{master}' is not understood: use {AcceptedForms}");
        int replicas = match.Groups[1].Value == "*" ? available : int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (replicas < 1) throw new ArgumentException($"--master '{master}': the number of replicas must be at least 1 (accepted: {AcceptedForms})");
        return new LocalMaster(replicas, Math.Max(1, available / replicas));
    }

    public override string ToString() => $"local[{Replicas}] ({IntraOpThreadsPerReplica} intra-op thread{(IntraOpThreadsPerReplica == 1 ? "" : "s")} each)";

    [GeneratedRegex(@"^local\[(\*|\d+)\]$")]
    private static partial Regex LocalPattern();
}
