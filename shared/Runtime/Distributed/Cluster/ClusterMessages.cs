namespace Recipes.Runtime.Distributed.Cluster;

// Control messages between the driver and the workers (small, through Akka). Gradients never travel here:
// they go over the TCP ring whose membership these messages describe.

/// <summary>Worker -> driver: may I join? The driver answers with a <see cref="JoinChallenge"/>.</summary>
public sealed record JoinHello(string WorkerName);

/// <summary>Driver -> worker: prove you know the shared secret by returning HMAC-SHA256(secret, nonce).</summary>
public sealed record JoinChallenge(string NonceBase64);

/// <summary>Worker -> driver: the proof, the address of the worker's ring listener, and the machine it runs on
/// with the cores it may use there (the driver shares a machine's cores among the workers on it).</summary>
public sealed record JoinProof(string WorkerName, string ProofBase64, string RingEndPoint, string Host, int Cores);

/// <summary>Driver -> worker: refused (wrong secret, job already full...).</summary>
public sealed record JoinRefused(string Reason);

/// <summary>Driver -> worker: the recipe's command line to run, and the worker's folder for results.
/// <paramref name="JoinsLate"/>: the job already runs; the worker enters the ring at the next epoch boundary.</summary>
public sealed record JobAssigned(string[] Arguments, int WorkerIndex, bool JoinsLate = false);

/// <summary>Driver -> worker: form ring <paramref name="Generation"/>. <paramref name="CompletedSteps"/> is the
/// most steps any member completed; if some completed one fewer, <paramref name="DonorRank"/> sends them the
/// result of that last step first (<paramref name="DonorRank"/> is -1 when everyone is level). When newcomers
/// join at an epoch boundary, <paramref name="StateDonorRank"/> sends every member its whole training state
/// (-1 otherwise). <paramref name="Cores"/> is this member's share of its machine's cores while this ring lasts;
/// <paramref name="HalfPrecision"/>: the ring sends half-precision values.</summary>
public sealed record RingPlan(long Generation, int Rank, string[] EndPoints, string KeyHex, long CompletedSteps, int DonorRank, int StateDonorRank = -1,
    int Cores = 1, bool HalfPrecision = false);

/// <summary>Worker -> driver at the end of an epoch: do newcomers join here? Every member asking at the same
/// step gets the same <see cref="BoundaryDecision"/>. <paramref name="RingSeconds"/> of the epoch's <paramref name="EpochSeconds"/>
/// went into the ring's gradient sums (transfers, and waiting for slower members or links): the driver's timeline shows it.</summary>
public sealed record EpochBoundary(int WorkerIndex, long Generation, long CompletedSteps, double RingSeconds = 0, double EpochSeconds = 0);

/// <summary>Driver -> worker: <paramref name="Regroup"/> true means a new ring plan with newcomers follows.</summary>
public sealed record BoundaryDecision(bool Regroup);

/// <summary>Worker -> driver: ring <paramref name="Generation"/> failed after <paramref name="CompletedSteps"/> steps.</summary>
public sealed record RingBroken(long Generation, long CompletedSteps, string Reason);

/// <summary>Worker -> driver: ring <paramref name="Generation"/> has waited in silence (<paramref name="Detail"/>) after
/// <paramref name="CompletedSteps"/> steps; the driver checks that every member is alive.</summary>
public sealed record RingStalled(long Generation, long CompletedSteps, string Detail);

/// <summary>Driver -> worker: a member of ring <paramref name="Generation"/> was lost; leave the ring now (a collective
/// waiting in it ends), report where you stand, and wait for the next plan.</summary>
public sealed record LeaveRing(long Generation);

/// <summary>Driver -> worker (and back): are you alive?</summary>
public sealed record Probe(long Generation);
public sealed record ProbeAnswer(long Generation);

/// <summary>Worker -> driver: the job ended in this worker with this exit code; answered by <see cref="Acknowledged"/>,
/// whose <c>SendResults</c> asks this worker for the job's result files (the first worker to finish well).</summary>
public sealed record JobFinished(int ExitCode, long CompletedSteps, string OutputFolder);
public sealed record Acknowledged(bool SendResults = false);

/// <summary>Worker -> driver: bytes of one result file (a path relative to the worker's output folder, with '/'),
/// starting at <paramref name="Offset"/>; each is acknowledged before the next is sent, so the transfer never
/// outruns the driver's disk and every message stays far below Akka's frame limit.</summary>
public sealed record ResultChunk(string RelativePath, long Offset, byte[] Bytes);

/// <summary>Worker -> driver: every result file has been sent; their paths and sizes, for the driver to check.</summary>
public sealed record ResultsSent(string[] RelativePaths, long[] Sizes);
