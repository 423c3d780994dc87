using System.Net;
using Akka.Actor;
using Akka.Cluster;
using Recipes.Runtime.Distributed.Ring;
using ClusterEvents = Akka.Cluster.ClusterEvent;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>Where a worker finds the driver, what it binds to, and how it proves the secret.</summary>
public sealed record ClusterWorkerSettings
{
    public required IPEndPoint Driver { get; init; }
    /// <summary>The address this worker's Akka node and ring listener bind to (port 0: any free port).</summary>
    public IPEndPoint Bind { get; init; } = new(IPAddress.Loopback, 0);
    public required ClusterSecret Secret { get; init; }
    public RingSettings Ring { get; init; } = new();
    /// <summary>The cores this worker may use on its machine; the driver shares them with other workers on the
    /// same machine (named by <see cref="Host"/>) so that together they do not oversubscribe it.</summary>
    public int Cores { get; init; } = Environment.ProcessorCount;
    public string Host { get; init; } = Environment.MachineName;
    /// <summary>How long to wait for the job (the driver waits for every worker before handing it out).</summary>
    public TimeSpan JobTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How long to wait for a new ring after the old one failed.</summary>
    public TimeSpan RingPlanTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A worker process (Spark's executor): it joins the driver's cluster, proves the shared secret, receives the
/// job (the recipe's own command line), and runs it with a <see cref="ClusterProcessGroup"/> so the same
/// trainer loop sums gradients over the ring. It stops with an error if it loses the driver.
/// </summary>
public static class ClusterWorker
{
    /// <summary>Runs <paramref name="runJob"/>(arguments, group, output folder) once the driver assigns the job;
    /// returns its exit code.</summary>
    public static int Run(ClusterWorkerSettings settings, Func<string[], ClusterProcessGroup, int> runJob, Func<string[], string> outputFolderOf,
        TextWriter log, CancellationToken cancellation)
    {
        using var listener = new RingListener(settings.Bind.Address);
        var system = ActorSystem.Create(ClusterConfiguration.SystemName, ClusterConfiguration.Create(settings.Bind, settings.Driver, "worker"));
        var job = new TaskCompletionSource<JobAssigned>(TaskCreationOptions.RunContinuationsAsynchronously);
        IActorRef? actor = null;
        int workerIndex = -1;
        using var group = new ClusterProcessGroup(listener, settings.Ring, broken => actor?.Tell(broken),
            (end, aborted) => AskRegroup(actor!, new EpochBoundary(workerIndex, end.Generation, end.CompletedSteps, end.RingSeconds, end.EpochSeconds),
                settings.RingPlanTimeout, aborted),
            settings.RingPlanTimeout, log) { JoinTimeout = settings.JobTimeout, ReportStall = stalled => actor?.Tell(stalled) };
        string name = $"{Environment.MachineName}/{Environment.ProcessId}";
        actor = system.ActorOf(Props.Create(() => new WorkerActor(settings, name, listener.EndPoint.ToString(), group, job, log)), "worker");
        log.WriteLine($"worker {name}: joining the driver at {settings.Driver}; ring listener at {listener.EndPoint}");
        try
        {
            if (!job.Task.Wait(settings.JobTimeout, cancellation))
                throw new IOException($"cluster: no job from the driver at {settings.Driver} within {settings.JobTimeout.TotalMinutes:0.#} min");
            var assigned = job.Task.Result;
            workerIndex = assigned.WorkerIndex;
            // The job is handed over by remoting, which can arrive before this node's cluster join completes; but noticing a
            // driver that is cut off from the network (not dead: no connection closes) needs the cluster's failure
            // detector, which watches only members. Train only as a member, or a cut in the first seconds goes unnoticed
            // until a ring timeout.
            var member = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => member.TrySetResult());
            if (!member.Task.Wait(settings.JobTimeout, cancellation))
                throw new IOException($"cluster: assigned a job, but not admitted to the driver's cluster at {settings.Driver} within {settings.JobTimeout.TotalMinutes:0.#} min");
            log.WriteLine($"worker {name}: assigned as worker {assigned.WorkerIndex}" + (assigned.JoinsLate ? "; the job runs already: joining at its next epoch boundary" : ""));
            // A late joiner's ring forms when the trainer reaches its first epoch boundary (it waits there for the members').
            if (assigned.JoinsLate) group.JoinsLate = true;
            else group.FormRing(afterGeneration: 0);
            int exitCode;
            try
            {
                exitCode = runJob(assigned.Arguments, group);
            }
            catch (Exception error) when (!group.Aborted)
            {
                // The job itself failed here (the cluster around it did not): tell the driver, which fails the job.
                // Leaving without a word would look to the driver like a lost worker, and the job would go on and
                // end "well" without this worker's share.
                log.WriteLine($"worker {name}: the job failed: {error.GetType().Name}: {error.Message}");
                ReportFinished(actor, new JobFinished(1, group.CompletedSteps, ""), log, name);
                throw;
            }
            if (exitCode == 0 && group.CompletedSteps == 0)
                log.WriteLine($"worker {name}: warning: the job never summed a gradient over the ring, so each worker did all of it alone " +
                    "(this recipe does not train through the cluster; give its TrainerSettings the options' Processes)");
            if (group.Aborted)
            {
                // The driver went away; a job that finished anyway has its results, but nobody to report them to.
                if (exitCode == 0) log.WriteLine($"worker {name}: finished the job, but the driver is gone: nobody to report to");
                return exitCode;
            }
            string output = outputFolderOf(assigned.Arguments);
            try
            {
                if (ReportFinished(actor, new JobFinished(exitCode, group.CompletedSteps, output), log, name, cancellation)) SendResults(actor, output, log, name);
            }
            catch (AggregateException error)
            {
                log.WriteLine($"worker {name}: the driver did not acknowledge the job's results ({error.InnerException?.Message}); they stay in {output}");
            }
            return exitCode;
        }
        catch (AggregateException error) when (error.InnerException is IOException io)
        {
            throw io;
        }
        finally
        {
            // Leaving the cluster waits for the driver to confirm; without a driver that wait (and the Dispose that
            // waits again) only delays the exit, so a system that has not terminated by then is left to the process end.
            if (system.Terminate().Wait(group.Aborted ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10))) system.Dispose();
        }
    }

    /// <summary>Tells the driver the job ended in this worker; true if the driver asks for the job's results.</summary>
    static bool ReportFinished(IActorRef actor, JobFinished finished, TextWriter log, string name, CancellationToken cancellation = default)
    {
        try
        {
            var answer = actor.Ask<Acknowledged>(finished, TimeSpan.FromSeconds(10));
            answer.Wait(cancellation);
            return answer.Result.SendResults;
        }
        catch (AggregateException error)
        {
            log.WriteLine($"worker {name}: the driver did not acknowledge the end of the job ({error.InnerException?.Message})" +
                (finished.OutputFolder.Length > 0 ? $"; its results stay in {finished.OutputFolder}" : ""));
            return false;
        }
    }

    /// <summary>Bytes per <see cref="ResultChunk"/>: base64 in Akka's JSON serialisation makes 48 KiB about 64 KB, half
    /// of Akka's default 128,000-byte frame.</summary>
    const int ResultChunkBytes = 48 << 10;

    /// <summary>Sends the job's results (this worker's output folder, without checkpoints: those stay with the worker
    /// that resumes from them) to the driver, which writes them where a local run would have.</summary>
    static void SendResults(IActorRef actor, string folder, TextWriter log, string name)
    {
        var timeout = TimeSpan.FromSeconds(30);
        var files = JobResultFolder.Files(folder);
        var sizes = new long[files.Count];
        byte[] buffer = new byte[ResultChunkBytes];
        for (int f = 0; f < files.Count; f++)
        {
            using var stream = File.OpenRead(Path.Combine(folder, files[f]));
            long offset = 0;
            while (true)
            {
                int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                if (read > 0 || offset == 0) actor.Ask<Acknowledged>(new ResultChunk(files[f], offset, buffer[..read]), timeout).Wait();
                offset += read;
                if (read < buffer.Length) break;
            }
            sizes[f] = offset;
        }
        actor.Ask<Acknowledged>(new ResultsSent([.. files], sizes), timeout).Wait();
        log.WriteLine($"worker {name}: sent the job's results to the driver ({files.Count} files, {sizes.Sum() / 1024.0:N0} KiB)");
    }

    static bool AskRegroup(IActorRef worker, EpochBoundary boundary, TimeSpan timeout, CancellationToken aborted)
    {
        try
        {
            return worker.Ask<BoundaryDecision>(boundary, timeout, aborted).Result.Regroup;
        }
        catch (AggregateException error)
        {
            throw new IOException($"cluster: the driver did not answer at the epoch boundary after step {boundary.CompletedSteps} within {timeout.TotalSeconds:0} s", error.InnerException);
        }
    }

    sealed record RetryJoin;
    sealed record DriverSilent(Address Address);
    sealed record DriverRemoved(Address Address);
    sealed record DriverProbed(bool Answered, bool Unreachable = false);
    static readonly TimeSpan DriverSilenceLimit = TimeSpan.FromSeconds(20);
    static readonly TimeSpan DriverProbeTimeout = TimeSpan.FromSeconds(3);
    static readonly TimeSpan DriverUnreachableProbeTimeout = TimeSpan.FromSeconds(5);
    const string DroppedByTheDriver = "the driver removed this worker from the job (it stopped answering: cut off, or too slow); the job goes on without it, " +
        "so this worker's checkpoint is not the job's: do not resume from it";

    sealed class WorkerActor : ReceiveActor, IWithTimers
    {
        readonly ClusterWorkerSettings _settings;
        readonly string _name;
        readonly string _ringEndPoint;
        readonly ClusterProcessGroup _group;
        readonly TaskCompletionSource<JobAssigned> _job;
        readonly TextWriter _log;
        readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
        IActorRef? _driver;
        int _joinAttempts;
        bool _jobDone; // after it, the driver leaving is the normal end, not a failure
        bool _failed;

        public ITimerScheduler Timers { get; set; } = null!;

        public WorkerActor(ClusterWorkerSettings settings, string name, string ringEndPoint, ClusterProcessGroup group,
            TaskCompletionSource<JobAssigned> job, TextWriter log)
        {
            _settings = settings;
            _name = name;
            _ringEndPoint = ringEndPoint;
            _group = group;
            _job = job;
            _log = log;
            Receive<RetryJoin>(_ =>
            {
                if (_driver is not null) return;
                if (++_joinAttempts > 60)
                {
                    Fail($"could not reach the driver at {_settings.Driver} in 60 s");
                    return;
                }
                Context.ActorSelection(ClusterConfiguration.DriverPath(_settings.Driver)).Tell(new JoinHello(_name));
            });
            Receive<JoinChallenge>(challenge =>
            {
                if (_driver is not null) return; // answers to our repeated hellos: the first one is enough
                _driver = Sender;
                Timers.Cancel("join");
                Sender.Tell(new JoinProof(_name, _settings.Secret.Prove(challenge.NonceBase64), _ringEndPoint, _settings.Host, _settings.Cores));
            });
            Receive<JoinRefused>(refused => Fail($"the driver refused this worker: {refused.Reason}"));
            Receive<JobAssigned>(assigned => _job.TrySetResult(assigned));
            Receive<RingPlan>(plan => _group.Offer(plan));
            Receive<Probe>(probe => Sender.Tell(new ProbeAnswer(probe.Generation)));
            Receive<RingBroken>(broken => _driver?.Tell(broken));
            Receive<RingStalled>(stalled => _driver?.Tell(stalled));
            Receive<LeaveRing>(leave => _group.LeaveRing(leave.Generation));
            Receive<EpochBoundary>(boundary => _driver?.Forward(boundary));
            Receive<JobFinished>(finished =>
            {
                _jobDone = true;
                _driver?.Forward(finished);
            });
            Receive<ResultChunk>(chunk => _driver?.Forward(chunk));
            Receive<ResultsSent>(sent => _driver?.Forward(sent));
            // Unreachable may mean busy: give the driver a while to come back before giving up.
            // Unreachable may mean busy: ask the driver itself (its actor answers even when its machine is busy), and
            // give it a while to come back before giving up. A driver cut off from the network answers nothing: the
            // workers then stop within seconds, as when it dies, instead of training on with nobody to report to.
            Receive<ClusterEvents.UnreachableMember>(e =>
            {
                if (!e.Member.HasRole("driver")) return;
                Timers.StartSingleTimer("driver-lost", new DriverSilent(e.Member.Address), DriverSilenceLimit);
                if (_driver is null || _jobDone) return;
                _driver.Ask<ProbeAnswer>(new Probe(-1), DriverUnreachableProbeTimeout)
                    .PipeTo(Self, success: _ => new DriverProbed(true, Unreachable: true), failure: _ => new DriverProbed(false, Unreachable: true));
            });
            Receive<ClusterEvents.ReachableMember>(e =>
            {
                if (e.Member.HasRole("driver")) Timers.Cancel("driver-lost");
            });
            // The connection to the driver closed (its process ended or crashed): ask it directly rather than wait
            // for the failure detector, so that the workers stop and keep their checkpoints within seconds.
            Receive<Akka.Remote.DisassociatedEvent>(e =>
            {
                if (_driver is null || _jobDone || !e.RemoteAddress.Equals(_driver.Path.Address)) return;
                _driver.Ask<ProbeAnswer>(new Probe(-1), DriverProbeTimeout)
                    .PipeTo(Self, success: _ => new DriverProbed(true), failure: _ => new DriverProbed(false));
            });
            Receive<DriverProbed>(probed =>
            {
                if (probed.Answered) return;
                Fail(probed.Unreachable
                    ? $"lost the driver at {_settings.Driver} (unreachable, and it did not answer within {DriverUnreachableProbeTimeout.TotalSeconds:0} s); " +
                        "restart the driver with --resume, then the workers"
                    : $"lost the driver at {_settings.Driver} (the connection closed and it did not answer within {DriverProbeTimeout.TotalSeconds:0} s); " +
                        "restart the driver with --resume, then the workers");
            });
            Receive<DriverSilent>(silent => Fail($"lost the driver at {silent.Address} (unreachable for {DriverSilenceLimit.TotalSeconds:0} s); restart the driver with --resume, then the workers"));
            // Downed by the driver (cut off from the network for longer than a probe, then back): the job went on without
            // this worker, which must not touch it again. Its view of the cluster may then also show the driver removed.
            Receive<ClusterEvents.MemberDowned>(e =>
            {
                // (A worker refused at the door is downed too, after its refusal, which says why.)
                if (e.Member.Address.Equals(_cluster.SelfAddress) && _job.Task.IsCompletedSuccessfully) Fail(DroppedByTheDriver);
            });
            Receive<Akka.Remote.ThisActorSystemQuarantinedEvent>(_ =>
            {
                if (_job.Task.IsCompletedSuccessfully) Fail(DroppedByTheDriver);
            });
            // A worker back from a cut may see the driver removed just before it hears it was itself downed: wait a moment
            // for that, so that it says which happened.
            Receive<ClusterEvents.MemberRemoved>(e =>
            {
                if (e.Member.Address.Equals(_cluster.SelfAddress) || _cluster.SelfMember.Status is MemberStatus.Down or MemberStatus.Removed)
                    Fail(_job.Task.IsCompletedSuccessfully ? DroppedByTheDriver : "the driver removed this worker from the job");
                else if (e.Member.HasRole("driver")) Timers.StartSingleTimer("driver-removed", new DriverRemoved(e.Member.Address), TimeSpan.FromSeconds(5));
            });
            Receive<DriverRemoved>(removed =>
            {
                if (_cluster.SelfMember.Status is MemberStatus.Down or MemberStatus.Removed && _job.Task.IsCompletedSuccessfully) Fail(DroppedByTheDriver);
                else Fail($"lost the driver at {removed.Address} (removed); restart the driver with --resume, then the workers");
            });
            Receive<ClusterEvents.IMemberEvent>(_ => { });
        }

        protected override void PreStart()
        {
            _cluster.Subscribe(Self, ClusterEvents.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvents.IMemberEvent), typeof(ClusterEvents.UnreachableMember), typeof(ClusterEvents.ReachableMember));
            Context.System.EventStream.Subscribe(Self, typeof(Akka.Remote.DisassociatedEvent));
            Context.System.EventStream.Subscribe(Self, typeof(Akka.Remote.ThisActorSystemQuarantinedEvent));
            Self.Tell(new RetryJoin());
            Timers.StartPeriodicTimer("join", new RetryJoin(), TimeSpan.FromSeconds(1));
        }

        protected override void PostStop()
        {
            _cluster.Unsubscribe(Self);
            Context.System.EventStream.Unsubscribe(Self);
        }

        void Fail(string reason)
        {
            if (_jobDone || _failed) return;
            _failed = true;
            _log.WriteLine($"worker {_name}: {reason}");
            _job.TrySetException(new IOException($"cluster: {reason}"));
            _group.Abort(reason);
        }
    }
}
