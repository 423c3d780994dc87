using System.Net;
using System.Security.Cryptography;
using Akka.Actor;
using Recipes.Runtime.IO;
using ClusterEvents = Akka.Cluster.ClusterEvent;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>What the driver needs: where to listen, how many workers to wait for, and the job to give them.</summary>
public sealed record ClusterDriverSettings
{
    public required IPEndPoint Listen { get; init; }
    public required int Workers { get; init; }
    public required ClusterSecret Secret { get; init; }
    /// <summary>The recipe's command line for worker <c>index</c> (its own output folder among them).</summary>
    public required Func<int, string[]> JobArguments { get; init; }
    /// <summary>How long a worker has to answer a probe after a ring failure before it is declared lost.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Where the driver writes the job's result (the files of the first worker to finish well: metrics.json,
    /// the model, charts, as a local run writes them) and its timeline (<c>cluster.json</c>, <c>cluster-timeline.png</c>);
    /// null for nowhere.</summary>
    public string? OutputFolder { get; init; }
    /// <summary>The workers' rings send half-precision gradients (BigDL's FP16 compression: half the bytes).</summary>
    public bool HalfPrecision { get; init; }
}

/// <summary>
/// The driver of a cluster job (Spark's driver): it waits for the expected workers, checks each one's proof
/// of the shared secret, hands out the job, forms the gradient ring, and when the ring fails finds out who
/// is gone (probes, and Akka's failure detector), downs them and forms a new ring from the survivors. It
/// logs each membership change with the step number, and ends when every remaining worker has finished. The
/// first worker to finish well sends it the job's result files, which it writes to its own output folder, so a
/// cluster run leaves its result where a local run does (the workers' folders keep their checkpoints).
/// </summary>
public static class ClusterDriver
{
    public static int Run(ClusterDriverSettings settings, TextWriter log, CancellationToken cancellation)
    {
        using var system = ActorSystem.Create(ClusterConfiguration.SystemName, ClusterConfiguration.Create(settings.Listen, settings.Listen, "driver"));
        var finished = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var timeline = new ClusterTimeline();
        system.ActorOf(Props.Create(() => new DriverActor(settings, log, finished, timeline)), ClusterConfiguration.DriverActorName);
        log.WriteLine($"driver: listening at {settings.Listen}, waiting for {settings.Workers} worker{(settings.Workers == 1 ? "" : "s")} " +
            $"(start them with: worker --join {settings.Listen})");
        try
        {
            finished.Task.Wait(cancellation);
            return finished.Task.Result;
        }
        catch (OperationCanceledException)
        {
            log.WriteLine("driver: interrupted; the workers stop when they lose the driver");
            return 130;
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            WriteTimeline(settings, timeline, log);
        }
    }

    static void WriteTimeline(ClusterDriverSettings settings, ClusterTimeline timeline, TextWriter log)
    {
        if (settings.OutputFolder is null || timeline.Events.Count == 0) return;
        Directory.CreateDirectory(settings.OutputFolder);
        string json = Path.Combine(settings.OutputFolder, "cluster.json"), png = Path.Combine(settings.OutputFolder, "cluster-timeline.png");
        timeline.WriteJson(json);
        timeline.WritePng(png, $"Cluster job: {settings.Workers} worker{(settings.Workers == 1 ? "" : "s")} expected");
        log.WriteLine($"driver: wrote {json} and {png}");
    }

    sealed class WorkerEntry(int index, JoinProof proof, IActorRef actor)
    {
        public int Index { get; } = index;
        public string Name { get; } = proof.WorkerName;
        public IActorRef Actor { get; } = actor;
        public string RingEndPoint { get; } = proof.RingEndPoint;
        public string Host { get; } = proof.Host;
        public int MachineCores { get; } = Math.Max(1, proof.Cores);
        public Address Address => Actor.Path.Address;
        public bool Alive { get; set; } = true;
        public int? ExitCode { get; set; }
        public override string ToString() => $"worker {Index} ({Name}, {Address.Host}:{Address.Port})";
    }

    /// <summary>The job's result files arriving from one worker: staged in a hidden folder inside the driver's output
    /// folder (same file system), checked against the worker's list of sizes, then each renamed into place, so a reader
    /// never sees half a file and an interrupted transfer leaves earlier results whole. metrics.json is rewritten as
    /// the job's (<see cref="JobResultFolder.RewriteMetrics"/>).</summary>
    sealed class ResultTransfer(WorkerEntry worker, string workerFolder, string output)
    {
        readonly string _output = Path.GetFullPath(output);
        readonly string _staging = Path.Combine(Path.GetFullPath(output), $".results-{Guid.NewGuid():N}.partial");

        public WorkerEntry Worker { get; } = worker;
        public string WorkerFolder { get; } = workerFolder;
        public bool Done { get; set; }

        /// <summary>The staged file for a path the worker sent, refusing any that would leave the staging folder.</summary>
        string StagedPath(string relative)
        {
            if (relative.Length == 0 || Path.IsPathRooted(relative) || relative.Split('/').Any(part => part is "" or "." or ".."))
                throw new ArgumentException($"result file '{relative}' is not a plain relative path");
            return Path.Combine(_staging, relative.Replace('/', Path.DirectorySeparatorChar));
        }

        public void Write(ResultChunk chunk)
        {
            string path = StagedPath(chunk.RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var file = new FileStream(path, chunk.Offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write);
            if (file.Length != chunk.Offset) throw new IOException($"result file '{chunk.RelativePath}': bytes from {chunk.Offset} arrived after {file.Length}");
            file.Seek(chunk.Offset, SeekOrigin.Begin);
            file.Write(chunk.Bytes);
        }

        /// <summary>Checks every file arrived whole, then renames each into the output folder; returns how many.</summary>
        public int Complete(ResultsSent sent, string master)
        {
            for (int i = 0; i < sent.RelativePaths.Length; i++)
            {
                var staged = new FileInfo(StagedPath(sent.RelativePaths[i]));
                if (!staged.Exists || staged.Length != sent.Sizes[i])
                    throw new IOException($"result file '{sent.RelativePaths[i]}' arrived with {(staged.Exists ? staged.Length : 0)} of its {sent.Sizes[i]} bytes");
            }
            foreach (string metrics in sent.RelativePaths.Where(JobResultFolder.IsMetrics).Select(StagedPath))
                AtomicFile.WriteAllText(metrics, JobResultFolder.RewriteMetrics(File.ReadAllText(metrics), WorkerFolder, _output, master, Worker.Index));
            // metrics.json last: when it is there, the files it names are too.
            foreach (string relative in sent.RelativePaths.OrderBy(path => JobResultFolder.IsMetrics(path) ? 1 : 0))
            {
                string target = Path.Combine(_output, relative.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(StagedPath(relative), target, overwrite: true);
            }
            Done = true;
            Abandon(); // only empty folders are left
            return sent.RelativePaths.Length;
        }

        /// <summary>Removes the staging folder and whatever it still holds.</summary>
        public void Abandon()
        {
            try
            {
                if (Directory.Exists(_staging)) Directory.Delete(_staging, recursive: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    sealed record ProbeResult(int WorkerIndex, long Generation, bool Answered, TimeSpan Timeout);
    sealed record StallProbeResult(int WorkerIndex, long Generation, bool Answered);
    sealed record UnreachableProbeResult(int WorkerIndex, bool Answered);

    sealed class DriverActor : ReceiveActor
    {
        readonly ClusterDriverSettings _settings;
        readonly TextWriter _log;
        readonly TaskCompletionSource<int> _finished;
        readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
        readonly Dictionary<string, string> _nonces = [];
        readonly List<WorkerEntry> _workers = [];
        List<WorkerEntry> _members = [];
        long _generation;
        bool _reforming;
        readonly Dictionary<int, long> _brokenReports = [];
        readonly HashSet<int> _probesPending = [];
        // Workers that came after the job started, waiting for the members' next epoch boundary.
        readonly List<WorkerEntry> _newcomers = [];
        long _boundaryStep = -1;
        bool _boundaryRegroups;
        readonly Dictionary<int, IActorRef> _boundaryAskers = [];

        readonly ClusterTimeline _timeline;

        public DriverActor(ClusterDriverSettings settings, TextWriter log, TaskCompletionSource<int> finished, ClusterTimeline timeline)
        {
            _timeline = timeline;
            _settings = settings;
            _log = log;
            _finished = finished;
            Receive<JoinHello>(hello =>
            {
                // A worker repeats its hello until answered: keep one challenge per worker, or a proof of an
                // earlier challenge would be checked against a newer nonce and a good worker refused.
                string path = Sender.Path.ToString();
                if (!_nonces.TryGetValue(path, out string? nonce)) _nonces[path] = nonce = ClusterSecret.NewNonce();
                Sender.Tell(new JoinChallenge(nonce));
            });
            Receive<JoinProof>(OnJoinProof);
            Receive<RingBroken>(OnRingBroken);
            Receive<ProbeResult>(OnProbeResult);
            Receive<RingStalled>(OnRingStalled);
            Receive<StallProbeResult>(OnStallProbeResult);
            Receive<UnreachableProbeResult>(result =>
            {
                if (!result.Answered) OnMemberLost(_workers[result.WorkerIndex].Address, "unreachable and silent to a probe");
            });
            Receive<JobFinished>(OnJobFinished);
            Receive<ResultChunk>(OnResultChunk);
            Receive<ResultsSent>(OnResultsSent);
            Receive<Probe>(probe => Sender.Tell(new ProbeAnswer(probe.Generation))); // a worker checking the driver is alive
            Receive<EpochBoundary>(OnEpochBoundary);
            Receive<ClusterEvents.UnreachableMember>(e => ProbeUnreachable(e.Member.Address));
            Receive<Akka.Remote.DisassociatedEvent>(OnDisassociated);
            Receive<Akka.Remote.AssociatedEvent>(opened => _disconnected.Remove(opened.RemoteAddress));
            Receive<ClusterEvents.MemberRemoved>(e => OnMemberLost(e.Member.Address, "removed from the cluster"));
            Receive<ClusterEvents.IMemberEvent>(_ => { });
        }

        protected override void PreStart()
        {
            _cluster.Subscribe(Self, ClusterEvents.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvents.IMemberEvent), typeof(ClusterEvents.UnreachableMember));
            Context.System.EventStream.Subscribe(Self, typeof(Akka.Remote.DisassociatedEvent));
            Context.System.EventStream.Subscribe(Self, typeof(Akka.Remote.AssociatedEvent));
        }

        protected override void PostStop()
        {
            _cluster.Unsubscribe(Self);
            Context.System.EventStream.Unsubscribe(Self);
        }

        // Timestamps let an operator see how long a re-formation took.
        void Log(string message) => _log.WriteLine($"driver {DateTime.Now:HH:mm:ss.fff}: {message}");

        long StepsDone => Math.Max(_brokenReports.Count > 0 ? _brokenReports.Values.Max() : 0, _lastStall?.Report.CompletedSteps ?? 0);

        void OnJoinProof(JoinProof proof)
        {
            string path = Sender.Path.ToString();
            if (_workers.Any(w => w.Actor.Equals(Sender))) return; // a repeated proof from a worker already in
            bool known = _nonces.Remove(path, out string? nonce);
            if (!known || !_settings.Secret.Verify(nonce!, proof.ProofBase64))
            {
                Log($"refused worker {proof.WorkerName} at {Sender.Path.Address}: wrong secret");
                Sender.Tell(new JoinRefused("wrong secret"));
                _timeline.Add("refused", -1, [], $"{proof.WorkerName}: wrong secret");
                _cluster.Down(Sender.Path.Address);
                return;
            }
            if (_workers.Count >= _settings.Workers)
            {
                var newcomer = new WorkerEntry(_workers.Count, proof, Sender);
                _workers.Add(newcomer);
                _newcomers.Add(newcomer);
                Log($"{newcomer} joined the running job, ring at {newcomer.RingEndPoint}; it enters the ring at the next epoch boundary");
                _timeline.Add("joined", -1, [newcomer.Index], "late");
                newcomer.Actor.Tell(new JobAssigned(_settings.JobArguments(newcomer.Index), newcomer.Index, JoinsLate: true));
                return;
            }
            var worker = new WorkerEntry(_workers.Count, proof, Sender);
            _workers.Add(worker);
            Log($"{worker} joined, ring at {worker.RingEndPoint} [{_workers.Count}/{_settings.Workers}]");
            _timeline.Add("joined", 0, [worker.Index]);
            if (_workers.Count < _settings.Workers) return;

            foreach (var member in _workers) member.Actor.Tell(new JobAssigned(_settings.JobArguments(member.Index), member.Index));
            FormRing(_workers, completedSteps: 0, donorRank: -1);
        }

        void FormRing(List<WorkerEntry> members, long completedSteps, int donorRank, int stateDonorRank = -1)
        {
            _members = [.. members]; // a copy: late joiners are added to _workers, not to the running ring
            _generation++;
            _reforming = false;
            _brokenReports.Clear();
            string key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            string[] endPoints = members.Select(m => m.RingEndPoint).ToArray();
            int[] cores = ShareCores(members);
            _timeline.Add("ring", completedSteps, members.Select(m => m.Index).ToArray(), $"generation {_generation}");
            for (int rank = 0; rank < members.Count; rank++)
                members[rank].Actor.Tell(new RingPlan(_generation, rank, endPoints, key, completedSteps, donorRank, stateDonorRank, cores[rank], _settings.HalfPrecision));
            Log($"step {completedSteps}: ring generation {_generation} formed with {members.Count} worker{(members.Count == 1 ? "" : "s")}" +
                (_settings.HalfPrecision ? " (half-precision gradients)" : "") + ": " +
                string.Join(", ", members.Select((m, rank) => $"rank {rank} = worker {m.Index} ({cores[rank]} core{(cores[rank] == 1 ? "" : "s")})")) +
                (donorRank >= 0 ? $"; rank {donorRank} passes step {completedSteps} to the members one step behind" : "") +
                (stateDonorRank >= 0 ? $"; rank {stateDonorRank} hands its training state to the newcomers" : ""));
        }

        /// <summary>Each member's share of its machine's cores: workers on the same machine split its cores
        /// (two workers on two cores get one each), since libtorch threads that outnumber the cores slow
        /// every worker down, and a synchronous step waits for the slowest.</summary>
        static int[] ShareCores(List<WorkerEntry> members)
        {
            int[] cores = new int[members.Count];
            foreach (var machine in members.Select((m, rank) => (m, rank)).GroupBy(x => x.m.Host, StringComparer.OrdinalIgnoreCase))
            {
                var onMachine = machine.ToList();
                int total = onMachine.Max(x => x.m.MachineCores);
                for (int i = 0; i < onMachine.Count; i++)
                    cores[onMachine[i].rank] = Math.Max(1, total / onMachine.Count + (i < total % onMachine.Count ? 1 : 0));
            }
            return cores;
        }

        /// <summary>The first member to reach an epoch boundary fixes whether newcomers join there, so every
        /// member hears the same answer. If they do, the answer waits until every member has asked: by then all
        /// have finished the epoch's last allreduce and may leave the old ring.</summary>
        void OnEpochBoundary(EpochBoundary boundary)
        {
            RecordRingTime(boundary);
            if (boundary.Generation != _generation || _reforming)
            {
                Sender.Tell(new BoundaryDecision(false));
                return;
            }
            if (boundary.CompletedSteps != _boundaryStep)
            {
                _boundaryStep = boundary.CompletedSteps;
                _boundaryRegroups = _newcomers.Any(n => n.Alive);
                _boundaryAskers.Clear();
            }
            if (!_boundaryRegroups)
            {
                Sender.Tell(new BoundaryDecision(false));
                return;
            }
            _boundaryAskers[boundary.WorkerIndex] = Sender;
            TryRegroup();
        }

        // Each member's time in the ring at the latest epoch boundary, logged once every member has reported it.
        readonly Dictionary<int, EpochBoundary> _ringTimes = [];

        void RecordRingTime(EpochBoundary boundary)
        {
            if (boundary.EpochSeconds <= 0) return;
            if (_ringTimes.Count > 0 && _ringTimes.Values.First().CompletedSteps != boundary.CompletedSteps) _ringTimes.Clear();
            _ringTimes[boundary.WorkerIndex] = boundary;
            _timeline.Add("epoch", boundary.CompletedSteps, [boundary.WorkerIndex],
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"ring {boundary.RingSeconds:F2} s of {boundary.EpochSeconds:F2} s"));
            var members = _members.Where(m => m.Alive).ToList();
            if (members.Any(m => !_ringTimes.ContainsKey(m.Index))) return;
            Log($"step {boundary.CompletedSteps}: epoch done; time in the ring's gradient sums (transfers and waiting for the others): " +
                string.Join(", ", members.Select(m => _ringTimes[m.Index]).Select(t =>
                    $"worker {t.WorkerIndex} {t.RingSeconds:F1} s of {t.EpochSeconds:F1} s ({100 * t.RingSeconds / t.EpochSeconds:F0} %)")));
            _ringTimes.Clear();
        }

        void TryRegroup()
        {
            var members = _members.Where(m => m.Alive).ToList();
            if (!_boundaryRegroups || members.Any(m => !_boundaryAskers.ContainsKey(m.Index))) return;
            var joining = _newcomers.Where(n => n.Alive).ToList();
            _newcomers.Clear();
            _boundaryRegroups = false;
            foreach (var asker in _boundaryAskers.Values) asker.Tell(new BoundaryDecision(true));
            _boundaryAskers.Clear();
            Log($"step {_boundaryStep}: epoch boundary: admitting {string.Join(", ", joining)}");
            FormRing([.. members, .. joining], _boundaryStep, donorRank: -1, stateDonorRank: 0);
        }

        WorkerEntry? WorkerOf(IActorRef actor) => _workers.FirstOrDefault(w => w.Actor.Equals(actor));

        // The members asked whether they are alive because the ring went silent; empty when no such round runs.
        readonly HashSet<int> _stallProbes = [];

        /// <summary>A member's ring has heard nothing for a while. It may only be waiting for a slow step, so nothing is
        /// decided on that: every member is asked directly, and one that does not answer within the probe time (a host
        /// cut off from the network, a hung process) is lost; the survivors then leave the stalled collective at once.
        /// One round at a time: the reports repeat while the silence lasts.</summary>
        void OnRingStalled(RingStalled stalled)
        {
            if (stalled.Generation != _generation || _reforming || _stallProbes.Count > 0 || WorkerOf(Sender) is null) return;
            foreach (var member in _members.Where(m => m.Alive && m.ExitCode is null))
            {
                int index = member.Index;
                long generation = _generation;
                _stallProbes.Add(index);
                member.Actor.Ask<ProbeAnswer>(new Probe(generation), _settings.ProbeTimeout)
                    .PipeTo(Self, success: _ => new StallProbeResult(index, generation, true), failure: _ => new StallProbeResult(index, generation, false));
            }
            _lastStall = (WorkerOf(Sender)!, stalled);
        }

        (WorkerEntry Reporter, RingStalled Report)? _lastStall;

        void OnStallProbeResult(StallProbeResult result)
        {
            if (!_stallProbes.Remove(result.WorkerIndex) || result.Generation != _generation || result.Answered) return;
            var (reporter, report) = _lastStall!.Value;
            MarkLost(_workers[result.WorkerIndex], $"the ring stalled ({reporter.Name}: {report.Detail}) and it did not answer within {_settings.ProbeTimeout.TotalSeconds:0.#} s");
        }

        /// <summary>A member of the running ring is lost: the survivors may be waiting in a collective for it (a host cut
        /// off from the network closes no connection), so tell them to leave the ring, probe them as for a broken ring,
        /// and form the next one from their reports.</summary>
        void ReformWithout(WorkerEntry lost)
        {
            if (!_members.Contains(lost)) return;
            _stallProbes.Clear();
            if (!_reforming)
            {
                _reforming = true;
                // Members waiting at an epoch boundary for newcomers go on without them; the newcomers wait for the next one.
                foreach (var asker in _boundaryAskers.Values) asker.Tell(new BoundaryDecision(false));
                _boundaryAskers.Clear();
                _boundaryRegroups = false;
                _boundaryStep = -1;
                Log($"step {StepsDone}: ring generation {_generation} lost a member; the others leave it");
                foreach (var member in _members.Where(m => m.Alive))
                {
                    _probesPending.Add(member.Index);
                    SendProbe(member, _disconnected.Contains(member.Address) ? ClosedConnectionProbeTimeout : _settings.ProbeTimeout);
                }
            }
            foreach (var member in _members.Where(m => m.Alive)) member.Actor.Tell(new LeaveRing(_generation));
        }

        void OnRingBroken(RingBroken broken)
        {
            var worker = WorkerOf(Sender);
            if (worker is null || broken.Generation != _generation) return; // a stale report from an old ring
            _brokenReports[worker.Index] = broken.CompletedSteps;
            if (!_reforming)
            {
                _reforming = true;
                Log($"step {broken.CompletedSteps}: ring generation {_generation} broke ({broken.Reason}); probing the workers");
                foreach (var member in _members.Where(m => m.Alive))
                {
                    _probesPending.Add(member.Index);
                    SendProbe(member, _disconnected.Contains(member.Address) ? ClosedConnectionProbeTimeout : _settings.ProbeTimeout);
                }
            }
            TryReform();
        }

        /// <summary>A worker whose connection to the driver has closed answers at once if it is alive (Akka
        /// reconnects in milliseconds), so it gets a short probe: a killed worker is then replaced in a fraction
        /// of a second instead of after the full probe timeout, which is meant for workers merely slow to answer.</summary>
        static readonly TimeSpan ClosedConnectionProbeTimeout = TimeSpan.FromMilliseconds(300);
        readonly HashSet<Address> _disconnected = [];

        void SendProbe(WorkerEntry member, TimeSpan timeout)
        {
            int index = member.Index;
            long generation = _generation;
            member.Actor.Ask<ProbeAnswer>(new Probe(generation), timeout)
                .PipeTo(Self, success: _ => new ProbeResult(index, generation, true, timeout), failure: _ => new ProbeResult(index, generation, false, timeout));
        }

        void OnDisassociated(Akka.Remote.DisassociatedEvent closed)
        {
            _disconnected.Add(closed.RemoteAddress);
            var worker = _workers.FirstOrDefault(w => w.Address.Equals(closed.RemoteAddress));
            if (_reforming && worker is not null && _probesPending.Contains(worker.Index)) SendProbe(worker, ClosedConnectionProbeTimeout);
        }

        void OnProbeResult(ProbeResult result)
        {
            if (result.Generation != _generation || !_probesPending.Contains(result.WorkerIndex)) return;
            _probesPending.Remove(result.WorkerIndex);
            if (!result.Answered)
                MarkLost(_workers[result.WorkerIndex], $"did not answer within {result.Timeout.TotalSeconds:0.0#} s" +
                    (result.Timeout < _settings.ProbeTimeout ? " after its connection closed" : ""));
            TryReform();
        }

        /// <summary>Unreachable may only mean busy: ask the worker itself before giving up on it.</summary>
        void ProbeUnreachable(Address address)
        {
            var worker = _workers.FirstOrDefault(w => w.Address.Equals(address));
            if (worker is null || !worker.Alive || worker.ExitCode is not null) return;
            var timeout = _settings.ProbeTimeout * 5;
            worker.Actor.Ask<ProbeAnswer>(new Probe(-1), timeout).PipeTo(Self,
                success: _ => new UnreachableProbeResult(worker.Index, true), failure: _ => new UnreachableProbeResult(worker.Index, false));
        }

        void OnMemberLost(Address address, string how)
        {
            var worker = _workers.FirstOrDefault(w => w.Address.Equals(address));
            if (worker is null || !worker.Alive || worker.ExitCode is not null) return;
            MarkLost(worker, how);
            _probesPending.Remove(worker.Index);
            if (_reforming) TryReform();
            else
            {
                TryRegroup();
                CheckAllFinished();
            }
        }

        void MarkLost(WorkerEntry worker, string how)
        {
            if (!worker.Alive) return;
            worker.Alive = false;
            if (_results is { Done: false } transfer && transfer.Worker == worker)
            {
                // Lost while sending: the next worker to finish well sends them instead (if any is still running).
                Log($"{worker} was lost while sending the job's results; they stay in its folder {transfer.WorkerFolder}");
                transfer.Abandon();
                _results = null;
            }
            Log($"step {StepsDone}: lost {worker}: {how}; downing it");
            _timeline.Add("lost", StepsDone, [worker.Index], how);
            _cluster.Down(worker.Address);
            if (worker.ExitCode is null) ReformWithout(worker);
        }

        /// <summary>Once every probe is answered or timed out and every survivor has reported the broken ring
        /// (each does on its next allreduce), the survivors form the next ring.</summary>
        void TryReform()
        {
            if (!_reforming || _probesPending.Count > 0) return;
            var survivors = _members.Where(m => m.Alive).ToList();
            if (survivors.Count == 0)
            {
                Log("every worker is lost; the job failed (restart the driver and workers with --resume)");
                _finished.TrySetResult(1);
                return;
            }
            if (survivors.Any(m => !_brokenReports.ContainsKey(m.Index))) return;
            long ahead = survivors.Max(m => _brokenReports[m.Index]);
            bool someBehind = survivors.Any(m => _brokenReports[m.Index] < ahead);
            int donor = someBehind ? survivors.FindIndex(m => _brokenReports[m.Index] == ahead) : -1;
            FormRing(survivors, ahead, donor);
        }

        void OnJobFinished(JobFinished finished)
        {
            var worker = WorkerOf(Sender) ?? _workers.FirstOrDefault(w => w.Actor.Path.Address.Equals(Sender.Path.Address));
            if (worker is { Alive: false } && !_newcomers.Contains(worker))
            {
                // Downed earlier (cut off, then back): the job went on without it; its end changes nothing.
                Log($"{worker}, lost earlier, ended with exit code {finished.ExitCode}; ignored: the job went on without it");
                Sender.Tell(new Acknowledged());
                return;
            }
            // Every member ends with the same weights (synchronous training), so the first to finish well gives the result.
            bool wantResults = worker is not null && finished.ExitCode == 0 && _results is null && _settings.OutputFolder is not null
                && !_newcomers.Contains(worker);
            if (wantResults) _results = new ResultTransfer(worker!, finished.OutputFolder, _settings.OutputFolder!);
            Sender.Tell(new Acknowledged(SendResults: wantResults));
            if (worker is null) return;
            worker.ExitCode = finished.ExitCode;
            if (_newcomers.Remove(worker))
            {
                // It never entered the ring: its failure costs the job nothing.
                worker.Alive = false;
                Log($"{worker} left with exit code {finished.ExitCode} before entering the ring");
                _timeline.Add("left", finished.CompletedSteps, [worker.Index], $"exit code {finished.ExitCode}");
                CheckAllFinished();
                return;
            }
            Log($"{worker} finished with exit code {finished.ExitCode} after {finished.CompletedSteps} steps; results in {finished.OutputFolder}");
            _timeline.Add("finished", finished.CompletedSteps, [worker.Index], $"exit code {finished.ExitCode}");
            if (finished.ExitCode != 0)
            {
                Log("a worker failed; the job failed");
                _finished.TrySetResult(finished.ExitCode);
                return;
            }
            CheckAllFinished();
        }

        ResultTransfer? _results;

        void OnResultChunk(ResultChunk chunk)
        {
            if (_results is not { Done: false } transfer || !Sender.Path.Address.Equals(transfer.Worker.Address)) return; // not asked for
            try
            {
                transfer.Write(chunk);
                Sender.Tell(new Acknowledged());
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or ArgumentException)
            {
                FailResults(transfer, error.Message); // unanswered: the worker's ask times out and it says where its results stay
            }
        }

        void OnResultsSent(ResultsSent sent)
        {
            if (_results is not { Done: false } transfer || !Sender.Path.Address.Equals(transfer.Worker.Address)) return;
            try
            {
                int files = transfer.Complete(sent, $"cluster[{_settings.Workers}]");
                Log($"wrote the job's results from {transfer.Worker} to {_settings.OutputFolder} ({files} files)");
                Sender.Tell(new Acknowledged());
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException or InvalidDataException)
            {
                FailResults(transfer, error.Message);
            }
            CheckAllFinished();
        }

        void FailResults(ResultTransfer transfer, string reason)
        {
            Log($"could not write the job's results from {transfer.Worker} to {_settings.OutputFolder}: {reason}; they stay in {transfer.WorkerFolder}");
            transfer.Abandon();
            transfer.Done = true; // the job's success does not depend on the copy: the worker's folder holds it
            CheckAllFinished();
        }

        void CheckAllFinished()
        {
            var remaining = _workers.Where(w => w.Alive && w.ExitCode is null && !_newcomers.Contains(w)).ToList();
            if (_workers.Count < _settings.Workers || remaining.Count > 0 || _results is { Done: false }) return;
            foreach (var newcomer in _newcomers.Where(n => n.Alive))
            {
                Log($"{newcomer} was not admitted: the job ended before another epoch boundary");
                newcomer.Actor.Tell(new JoinRefused("the job ended before an epoch boundary could admit this worker"));
            }
            bool anyFinished = _workers.Any(w => w.ExitCode == 0);
            Log(anyFinished ? "the job finished" : "no worker finished the job");
            _finished.TrySetResult(anyFinished ? 0 : 1);
        }
    }
}

