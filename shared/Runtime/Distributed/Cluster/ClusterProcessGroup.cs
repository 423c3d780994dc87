using System.Net;
using Recipes.Runtime.Distributed.Ring;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>
/// A worker's view of the job's process group: the current TCP ring, formed from the driver's latest
/// <see cref="RingPlan"/>. When the ring fails (a neighbour died or hung) the worker reports it, waits for
/// the driver's next plan, forms the new ring and throws <see cref="ProcessGroupChangedException"/> so the
/// trainer recomputes the step with the new share-out.
///
/// A ring can fail after some members finished an allreduce and before others did (the last segments were
/// in flight). Those that finished have applied the step; the rest have not. Each member therefore keeps
/// the result of its last allreduce, the driver tells the new ring who is ahead, and the first collective of
/// the new ring passes that result to the members behind (an allreduce where only the donor contributes),
/// which take it as the result of their pending step. Everyone is level again without losing a step.
///
/// A worker that joins a running job waits in <see cref="AtEpochBoundary"/> until the members reach the end of
/// an epoch and the driver forms a ring that includes it; one member then hands everyone its training state
/// over that ring (a broadcast: an allreduce where only the donor contributes) and the newcomer adopts it.
/// </summary>
public sealed class ClusterProcessGroup : IElasticProcessGroup, IDisposable
{
    /// <summary>Where a member stands at the end of an epoch, and how long the epoch's gradient sums took it.</summary>
    public readonly record struct EpochEnd(long Generation, long CompletedSteps, double RingSeconds, double EpochSeconds);

    readonly RingListener _listener;
    readonly RingSettings _settings;
    readonly Action<RingBroken> _report;
    readonly TimeSpan _planTimeout;
    readonly TextWriter _log;
    readonly Func<EpochEnd, CancellationToken, bool> _regroupAt;
    // Seconds this epoch inside the ring's training-step sums (sending, receiving, and waiting for the others to
    // arrive), and since the epoch began: a slow link or a slow member shows as a larger share on every member.
    double _ringSeconds;
    readonly System.Diagnostics.Stopwatch _epochClock = System.Diagnostics.Stopwatch.StartNew();
    readonly CancellationTokenSource _aborted = new();
    readonly object _gate = new();
    long _leftGeneration; // the newest generation the driver told this worker to leave
    CancellationTokenSource? _forming; // the formation in progress, cancelled when told to leave its generation
    RingPlan? _latestPlan;
    string? _abortReason;
    volatile RingAllReduce? _ring; // read by LeaveRing and Abort on Akka's threads
    RingPlan? _ringPlan;
    bool _catchUpDone;
    long _completed;
    float[] _lastResult = [];
    (int Rank, int Size) _attempt; // the place this worker last contributed from
    float[] _scratch = [];

    /// <param name="regroupAt">Asks the driver at an epoch boundary (generation, completed steps, this epoch's time in the ring) whether newcomers join
    /// there; the token is cancelled when the job is aborted.</param>
    public ClusterProcessGroup(RingListener listener, RingSettings settings, Action<RingBroken> report, Func<EpochEnd, CancellationToken, bool> regroupAt,
        TimeSpan planTimeout, TextWriter log)
    {
        _regroupAt = regroupAt;
        _listener = listener;
        _settings = settings;
        _report = report;
        _planTimeout = planTimeout;
        _log = log;
    }

    /// <summary>Told each time the current ring has waited in silence for another <see cref="RingSettings.StallReportAfter"/>
    /// (the worker passes it to the driver, which then checks the members are alive).</summary>
    public Action<RingStalled>? ReportStall { get; init; }

    public int Rank => CurrentPlan.Rank;
    public int Size => CurrentPlan.EndPoints.Length;
    public long CompletedSteps => _completed;
    public long Generation => CurrentPlan.Generation;
    public int Cores => _ringPlan?.Cores ?? 0;
    public (int Rank, int Size) LastSumContribution { get; private set; }
    /// <summary>The job was aborted (the driver is gone): nobody is left to report to.</summary>
    public bool Aborted => _aborted.IsCancellationRequested;

    /// <summary>This worker joins a job already running: it waits for the members' next epoch boundary.</summary>
    public bool JoinsLate { get; set; }

    /// <summary>How long a late joiner waits for the ring that admits it (up to a whole epoch of the others).</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public byte[]? AtEpochBoundary(bool trainingStarts, Func<byte[]> captureState)
    {
        if (trainingStarts && !JoinsLate) return null;
        if (trainingStarts)
        {
            FormRing(afterGeneration: 0, JoinTimeout);
            JoinsLate = false;
            _completed = CurrentPlan.CompletedSteps;
            byte[] state = ShareState(captureState, CurrentPlan.StateDonorRank);
            _log.WriteLine($"cluster: joined ring generation {Generation} as rank {Rank} of {Size} after step {_completed}");
            return state;
        }
        long generation = CurrentPlan.Generation;
        bool regroup;
        try
        {
            var end = new EpochEnd(generation, _completed, _ringSeconds, _epochClock.Elapsed.TotalSeconds);
            _ringSeconds = 0;
            _epochClock.Restart();
            regroup = _regroupAt(end, _aborted.Token);
        }
        catch (Exception) when (_aborted.IsCancellationRequested)
        {
            ThrowIfAborted();
            throw;
        }
        if (!regroup) return null;
        // Every member has finished the epoch's last allreduce (the driver answers once all asked): the old ring can go.
        _ring?.Dispose();
        _ring = null;
        FormRing(afterGeneration: generation);
        ShareState(captureState, CurrentPlan.StateDonorRank);
        _log.WriteLine($"cluster: after step {_completed} the ring grew to {Size} members (generation {Generation})");
        return null;
    }

    /// <summary>A member lost during this agreement ends the job (with every checkpoint intact, so it can be
    /// resumed again): the members that finished the exchange may already be in their first step, and mixing
    /// that step with a repeated agreement on one ring would not add up.</summary>
    public byte[]? AgreeOnResumedState(long completedSteps, Func<byte[]> captureState)
    {
        if (_ring is null) FormRing(afterGeneration: 0);
        _completed = completedSteps;
        var (donor, mostSteps) = MostAdvancedMember(completedSteps);
        if (donor < 0) return null; // everyone resumes from the same step
        byte[] state = ShareState(captureState, donor);
        _log.WriteLine(Rank == donor
            ? $"cluster: this worker is the furthest along (step {mostSteps}): the others take its training state"
            : $"cluster: this worker had completed {completedSteps} steps; took the training state after step {mostSteps} from rank {donor}");
        _completed = mostSteps;
        return Rank == donor ? null : state;
    }

    /// <summary>Every member's completed steps, gathered through one small sum (each fills its own slots, in two
    /// 24-bit halves so that float32 holds them exactly): the rank with the most steps (the lowest such rank), or
    /// -1 when all members are level.</summary>
    (int Donor, long Steps) MostAdvancedMember(long completedSteps)
    {
        float[] slots = new float[2 * Size];
        slots[2 * Rank] = completedSteps >> 24;
        slots[2 * Rank + 1] = completedSteps & 0xFFFFFF;
        _ring!.SumInPlace(slots);
        long[] steps = Enumerable.Range(0, Size).Select(r => ((long)slots[2 * r] << 24) | (long)slots[2 * r + 1]).ToArray();
        long most = steps.Max();
        return steps.All(s => s == most) ? (-1, most) : (Array.IndexOf(steps, most), most);
    }

    /// <summary>The donor's bytes, on every member of the ring, sent as floats holding two bytes each:
    /// whole numbers below 2^16 are exact in float32, and adding the other members' zeros keeps them exact.</summary>
    byte[] ShareState(Func<byte[]> captureState, int donorRank)
    {
        var plan = CurrentPlan;
        if (donorRank < 0) throw new InvalidOperationException($"ring generation {plan.Generation} names no member to hand over the training state");
        bool donor = plan.Rank == donorRank;
        byte[] state = donor ? captureState() : [];
        float[] length = donor ? [state.Length >> 16, state.Length & 0xFFFF] : [0, 0];
        _ring!.SumInPlace(length);
        int byteCount = ((int)length[0] << 16) | (int)length[1];
        float[] packed = new float[(byteCount + 1) / 2];
        if (donor)
            for (int i = 0; i < byteCount; i++) packed[i / 2] += i % 2 == 0 ? state[i] : state[i] << 8;
        _ring.SumInPlace(packed);
        if (donor) return state;
        byte[] received = new byte[byteCount];
        for (int i = 0; i < byteCount; i++)
        {
            int pair = (int)packed[i / 2];
            received[i] = (byte)(i % 2 == 0 ? pair & 0xFF : pair >> 8);
        }
        return received;
    }

    RingPlan CurrentPlan => _ringPlan ?? throw new InvalidOperationException("the ring has not been formed yet");

    /// <summary>A plan from the driver (called on Akka's threads).</summary>
    public void Offer(RingPlan plan)
    {
        lock (_gate)
        {
            if (_latestPlan is null || plan.Generation > _latestPlan.Generation) _latestPlan = plan;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The driver found a member of ring <paramref name="generation"/> lost (called on Akka's threads): leave that
    /// ring now, ending the collective waiting in it (for a member cut off from the network it would wait until the ring's
    /// I/O timeout), so that this worker reports where it stands and takes the next plan at once.</summary>
    public void LeaveRing(long generation)
    {
        lock (_gate)
        {
            if (generation <= _leftGeneration) return;
            _leftGeneration = generation;
            if (_forming is not null && _formingGeneration <= generation) _forming.Cancel();
        }
        var ring = _ring;
        if (ring is not null && ring.Generation <= generation)
        {
            _log.WriteLine($"cluster: the driver lost a member of ring generation {ring.Generation}: leaving it");
            ring.Dispose();
        }
    }

    long _formingGeneration;

    /// <summary>The job cannot go on (the driver is gone): wake and fail whatever the training thread waits for.</summary>
    public void Abort(string reason)
    {
        lock (_gate)
        {
            _abortReason ??= reason;
            Monitor.PulseAll(_gate);
        }
        _aborted.Cancel();
        lock (_gate) _forming?.Cancel();
        _ring?.Dispose();
    }

    /// <summary>Waits for a plan newer than <paramref name="afterGeneration"/> and forms its ring; a formation
    /// that fails is reported and the next plan awaited.</summary>
    public void FormRing(long afterGeneration) => FormRing(afterGeneration, _planTimeout);

    void FormRing(long afterGeneration, TimeSpan planTimeout)
    {
        while (true)
        {
            RingPlan plan;
            lock (_gate)
            {
                var deadline = DateTime.UtcNow + planTimeout;
                while (_abortReason is null && (_latestPlan is null || _latestPlan.Generation <= afterGeneration))
                {
                    var remaining = deadline - DateTime.UtcNow;
                    if (remaining <= TimeSpan.Zero)
                        throw new IOException($"cluster: no ring plan from the driver within {planTimeout.TotalSeconds:0} s");
                    Monitor.Wait(_gate, remaining);
                }
                ThrowIfAborted();
                plan = _latestPlan!;
                _forming = new CancellationTokenSource();
                _formingGeneration = plan.Generation;
                if (plan.Generation <= _leftGeneration) _forming.Cancel();
            }
            try
            {
                var ring = RingAllReduce.Form(_listener, plan.Rank, plan.EndPoints.Select(IPEndPoint.Parse).ToArray(), plan.Generation,
                    Convert.FromHexString(plan.KeyHex), _settings with { HalfPrecision = plan.HalfPrecision }, _forming.Token);
                if (ReportStall is { } report)
                {
                    long generation = plan.Generation;
                    ring.Stalled = (peer, silence) => report(new RingStalled(generation, _completed, $"{peer} sent nothing for {silence.TotalSeconds:0.#} s"));
                }
                _ring = ring;
                // Told to leave this generation while it formed: the next collective fails and reports as for a broken ring.
                lock (_gate)
                    if (plan.Generation <= _leftGeneration) ring.Dispose();
                _ringPlan = plan;
                _catchUpDone = plan.DonorRank < 0;
                _log.WriteLine($"cluster: ring generation {plan.Generation}: rank {plan.Rank} of {plan.EndPoints.Length}, " +
                    $"{plan.Cores} core{(plan.Cores == 1 ? "" : "s")} for this worker");
                return;
            }
            catch (Exception error) when (error is RingPeerException or OperationCanceledException)
            {
                ThrowIfAborted();
                string reason = error is OperationCanceledException ? "the driver lost one of its members" : error.Message;
                _log.WriteLine($"cluster: forming ring generation {plan.Generation} failed: {reason}");
                _report(new RingBroken(plan.Generation, _completed, reason));
                afterGeneration = plan.Generation;
            }
            finally
            {
                lock (_gate)
                {
                    _forming.Dispose();
                    _forming = null;
                }
            }
        }
    }

    public void SumInPlace(Memory<float> values)
    {
        if (_lastResult.Length != values.Length)
        {
            // Sized once: every call of a training run sums the same gradient buffer.
            _lastResult = new float[values.Length];
            _scratch = new float[values.Length];
        }
        Collective(values, trainingStep: true);
    }

    /// <summary>Evaluation totals: a collective like a step's, but neither counted as a step nor kept for a catch-up.</summary>
    public void SumTotals(Span<double> totals)
    {
        float[] packed = TotalsPacking.Pack(totals);
        Collective(packed, trainingStep: false);
        TotalsPacking.Unpack(packed, totals);
    }

    void Collective(Memory<float> values, bool trainingStep)
    {
        if (_ring is null) FormRing(afterGeneration: 0);
        try
        {
            if (!_catchUpDone)
            {
                var plan = CurrentPlan;
                bool donor = plan.Rank == plan.DonorRank;
                float[] buffer = donor ? _lastResult : _scratch;
                if (!donor) Array.Clear(_scratch);
                _ring!.SumInPlace(buffer); // x + 0 + 0 = x: the donor's result, on every member
                _catchUpDone = true;
                if (_completed < plan.CompletedSteps)
                {
                    // A member one step behind is still inside that step: its next collective is always the step's.
                    if (!trainingStep) throw new System.Diagnostics.UnreachableException("cluster: a member behind by a step was asked for evaluation totals");
                    _scratch.CopyTo(values);
                    _scratch.CopyTo(_lastResult, 0);
                    _completed++;
                    LastSumContribution = _attempt; // the donor's sum included what this worker sent from there
                    _log.WriteLine($"cluster: caught up on step {_completed} from rank {plan.DonorRank}");
                    return;
                }
            }
            if (!trainingStep)
            {
                _ring!.SumInPlace(values);
                return;
            }
            _attempt = (Rank, Size);
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            _ring!.SumInPlace(values);
            _ringSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            values.Span.CopyTo(_lastResult);
            _completed++;
            LastSumContribution = _attempt;
        }
        catch (Exception error) when (error is RingPeerException or ObjectDisposedException or InvalidOperationException)
        {
            ThrowIfAborted();
            long failed = CurrentPlan.Generation;
            bool left;
            lock (_gate) left = failed <= _leftGeneration;
            _log.WriteLine(left
                ? $"cluster: left ring generation {failed} after step {_completed} on the driver's word"
                : $"cluster: ring generation {failed} failed after step {_completed}: {error.Message}");
            _ring?.Dispose();
            _ring = null;
            _report(new RingBroken(failed, _completed, error.Message));
            FormRing(afterGeneration: failed);
            throw new ProcessGroupChangedException($"the ring re-formed as generation {CurrentPlan.Generation} with {Size} members", error);
        }
    }

    void ThrowIfAborted()
    {
        string? reason;
        lock (_gate) reason = _abortReason;
        if (reason is not null) throw new IOException($"cluster: {reason}");
    }

    public void Dispose()
    {
        _ring?.Dispose();
        _aborted.Dispose();
    }
}
