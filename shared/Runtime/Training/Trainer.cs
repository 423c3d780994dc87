using System.Diagnostics;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training.Optimization;
using TorchSharp.Modules;

namespace Recipes.Runtime.Training;

/// <summary>How to train: batch size, length, seeds, parallelism, validation and checkpoints.</summary>
public sealed record TrainerSettings
{
    /// <summary>Samples per optimizer step across all replicas (BigDL's batch size).</summary>
    public required int GlobalBatchSize { get; init; }
    public required int Epochs { get; init; }
    public int Seed { get; init; } = 1;
    public LocalMaster Master { get; init; } = LocalMaster.Parse("local[*]");
    /// <summary>The processes training together (cluster mode); each takes its share of every global batch and
    /// the gradients are summed across them. <see cref="SingleProcess"/> for local training.</summary>
    public IProcessGroup Processes { get; init; } = SingleProcess.Instance;
    /// <summary>Learning rate per step; null keeps the optimizer's own rate.</summary>
    public ILearningRateSchedule? Schedule { get; init; }
    /// <summary>When to run the validation methods: at epoch ends (the default), or every N iterations, in
    /// which case mid-epoch results go to <see cref="ITrainingObserver.ValidationCompleted"/>.</summary>
    public Trigger ValidateWhen { get; init; } = Trigger.EveryEpoch;
    /// <summary>An extra stop condition besides <see cref="Epochs"/>, e.g. <see cref="Trigger.MaxIteration"/>.</summary>
    public Trigger? EndWhen { get; init; }
    public IReadOnlyList<IValidationMethod> ValidationMethods { get; init; } = [];
    /// <summary>Validation metrics computed from the outputs of the whole validation set at once (AUC-ROC), in the
    /// same pass as <see cref="ValidationMethods"/>.</summary>
    public IReadOnlyList<ISetValidationMethod> SetValidationMethods { get; init; } = [];
    /// <summary>Validation metric whose value is passed to the schedule at each epoch end (Plateau uses it);
    /// without validation data the training loss is passed.</summary>
    public string MonitoredMetric { get; init; } = "loss";
    /// <summary>Keep the weights of the epoch whose validation <see cref="MonitoredMetric"/> was best and end
    /// training with them, rather than with the last epoch's (which may have begun to overfit). With a
    /// <see cref="CheckpointFolder"/> they are also saved there (<see cref="BestEpochWeights.FileName"/>), so a
    /// resumed run still knows them.</summary>
    public bool RestoreBestEpoch { get; init; }
    /// <summary>Stop once this many epochs in a row have not improved the validation <see cref="MonitoredMetric"/>
    /// (Keras' EarlyStopping patience); null trains all <see cref="Epochs"/>. With <see cref="RestoreBestEpoch"/> the
    /// run then ends with the best epoch's weights.</summary>
    public int? EarlyStoppingPatience { get; init; }
    /// <summary>Folder for <see cref="TrainingCheckpoint.FileName"/>; null disables checkpoints.</summary>
    public string? CheckpointFolder { get; init; }
    public Trigger CheckpointWhen { get; init; } = Trigger.EveryEpoch;
    /// <summary>Continue from the checkpoint in <see cref="CheckpointFolder"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>Where the training data came from, in words, recorded in checkpoints beside the data's
    /// <see cref="DataFingerprint"/> so that a resume on other data can say what each was.</summary>
    public string? DataDescription { get; init; }
    public IReadOnlyList<ITrainingObserver> Observers { get; init; } = [];
    /// <summary>A file to which each completed step appends the samples this process used for it (for checking that
    /// distributed training uses every sample of every batch exactly once); null for none.</summary>
    public string? SampleLogPath { get; init; }
    /// <summary>Training batches read ahead of the steps on a background thread (<see cref="BatchPrefetcher"/>), so
    /// that reading, decoding and assembling them overlaps the computation; 0 reads each on the replicas' threads
    /// at the start of its step. Either way the batches are the same.</summary>
    public int PrefetchBatches { get; init; } = 2;
}

/// <summary>
/// Synchronous data-parallel mini-batch training (the BigDL optimizer's loop) over <c>local[N]</c> model
/// replicas: every step each replica computes gradients on its slice of the global batch, the gradients are
/// averaged, one optimizer step is taken, and the replicas are brought back in line. Triggers decide when
/// to validate, checkpoint and stop. With the same seed and global batch, N replicas give the same weights
/// as one (up to floating-point summation order).
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly Func<Tensor, Tensor, Tensor> _loss;
    readonly LocalReplicaGroup _replicas;
    readonly optim.Optimizer _optimizer;
    readonly GradientExchange? _exchange;
    readonly BestEpochWeights? _best;
    readonly TrainingCheckpoints _checkpoints;
    readonly ElasticMembership? _elastic;
    // Reused by every step: each replica's slice of this process's share of the batch, the slice's share of the whole
    // global batch, and the replica's mean loss on it.
    readonly int[][] _replicaSlices;
    readonly double[] _replicaShares;
    readonly double[] _replicaLosses;
    int _intraOpThreads;

    public Trainer(Func<nn.Module<Tensor, Tensor>> createModel, Func<IEnumerable<Parameter>, optim.Optimizer> createOptimizer,
        Func<Tensor, Tensor, Tensor> meanLoss, TrainerSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.GlobalBatchSize, settings.Master.Replicas, "global batch size");
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Epochs, 1, "epochs");
        if (settings.EarlyStoppingPatience is < 1) throw new ArgumentOutOfRangeException(nameof(settings), settings.EarlyStoppingPatience, "early stopping patience must be at least 1 epoch");
        // Otherwise every epoch would score NaN for it, and the best epoch would silently never be kept.
        if ((settings.RestoreBestEpoch || settings.EarlyStoppingPatience is not null) && settings.ValidationMethods.Count > 0 && settings.SetValidationMethods.Count == 0
            && settings.ValidationMethods.All(method => method.Name != settings.MonitoredMetric))
            throw new ArgumentException($"the monitored metric \"{settings.MonitoredMetric}\" is not one of the validation methods ({string.Join(", ", settings.ValidationMethods.Select(m => m.Name))})");
        Settings = settings;
        _loss = meanLoss;
        torch.set_num_threads(settings.Master.IntraOpThreadsPerReplica);
        // The seed fixes replica 0's initial weights; the other replicas are copies of it.
        torch.random.manual_seed(settings.Seed).Dispose();
        _replicas = new LocalReplicaGroup(createModel, settings.Master);
        _optimizer = createOptimizer(_replicas.MasterParameters);
        if (settings.Processes is not SingleProcess) _exchange = new GradientExchange(_replicas.MasterParameters);
        _intraOpThreads = settings.Master.IntraOpThreadsPerReplica;
        _checkpoints = new TrainingCheckpoints(settings, _replicas, _optimizer);
        _elastic = ElasticMembership.For(settings, _checkpoints);
        _replicaSlices = new int[_replicas.Models.Count][];
        _replicaShares = new double[_replicas.Models.Count];
        _replicaLosses = new double[_replicas.Models.Count];
        if (settings.RestoreBestEpoch || settings.EarlyStoppingPatience is not null)
            _best = new BestEpochWeights(MonitoredHigherIsBetter(settings), settings.CheckpointFolder);
        FitThreadsToCoreShare();
    }

    /// <summary>Whether the monitored metric improves upwards: as its validation method says; the training loss
    /// (monitored when there is no such method) improves downwards.</summary>
    static bool MonitoredHigherIsBetter(TrainerSettings settings) =>
        settings.ValidationMethods.FirstOrDefault(method => method.Name == settings.MonitoredMetric)?.HigherIsBetter
        ?? (settings.SetValidationMethods.Count > 0 && settings.ValidationMethods.All(method => method.Name != settings.MonitoredMetric)
            ? settings.SetValidationMethods[0].HigherIsBetter
            : false);

    /// <summary>In a process group whose members share machines, this process may use only its share of the
    /// cores (given by the group, and changed when members come or go): its replicas' libtorch threads are
    /// sized to it, as local[N] sizes them to the whole machine.</summary>
    void FitThreadsToCoreShare()
    {
        if (Settings.Processes is not IElasticProcessGroup { Cores: > 0 } group) return;
        int threads = Math.Max(1, group.Cores / _replicas.Models.Count);
        if (threads == _intraOpThreads) return;
        _intraOpThreads = threads;
        torch.set_num_threads(threads);
        _replicas.Threads.Run(_ => torch.set_num_threads(threads));
    }

    public TrainerSettings Settings { get; }

    /// <summary>The trained model (replica 0).</summary>
    public nn.Module<Tensor, Tensor> Model => _replicas.MasterModel;

    public optim.Optimizer Optimizer => _optimizer;

    /// <summary>Trains from the start, from this process's checkpoint (<see cref="TrainerSettings.Resume"/>) or from
    /// the state its process group hands over, epoch by epoch until <see cref="TrainerSettings.Epochs"/>, the end
    /// trigger, early stopping or <paramref name="cancellation"/> (which keeps a checkpoint of the exact step).</summary>
    public TrainingResult Fit(IBatchSource train, IBatchSource? validation = null, CancellationToken cancellation = default)
    {
        var wall = Stopwatch.StartNew();
        int batchesPerEpoch = (train.Count + Settings.GlobalBatchSize - 1) / Settings.GlobalBatchSize;
        if (train.Count == 0) throw new ArgumentException("the training set is empty");

        var (start, continued) = StartingPosition(train);
        var progress = new FitProgress(start);
        var starting = new TrainingStart(start.Epoch, start.NextBatch, Settings.Epochs, batchesPerEpoch, train.Count, continued);
        foreach (var observer in Settings.Observers) observer.TrainingStarted(starting);
        using var sampleLog = TrainingSampleLog.OpenOrNull(Settings.SampleLogPath, append: continued);

        while (progress.Epoch < Settings.Epochs && !progress.Stopping)
        {
            var epochClock = Stopwatch.StartNew();
            var (samplesTrained, stepSeconds) = TrainEpochSteps(train, validation, progress, batchesPerEpoch, sampleLog, cancellation);
            if (progress.Stopping) break;
            EndEpoch(validation, progress, epochClock, samplesTrained / Math.Max(stepSeconds, 1e-9), cancellation);
        }

        int? bestEpoch = RestoreBestEpochWeights(progress);
        var result = new TrainingResult(progress.Epoch, progress.Iteration, progress.Interrupted, progress.Completed, wall.Elapsed.TotalSeconds,
            bestEpoch, progress.StoppedEarly);
        foreach (var observer in Settings.Observers) observer.TrainingFinished(result);
        return result;
    }

    /// <summary>Where this fit starts: the beginning, this process's checkpoint (<see cref="TrainerSettings.Resume"/>),
    /// or the state a process group hands over; and whether it continues an earlier run (the sample log is then
    /// appended to, and observers are told).</summary>
    (CheckpointPosition Position, bool Continued) StartingPosition(IBatchSource train)
    {
        var position = new CheckpointPosition
        {
            Epoch = 0, NextBatch = 0, Iteration = 0, Seed = Settings.Seed, GlobalBatchSize = Settings.GlobalBatchSize, SampleCount = train.Count,
        };
        // A member of a process group without a checkpoint of its own (a new machine, a lost disk) starts fresh
        // and takes the most advanced member's state below.
        bool checkpointHere = _checkpoints.ExistsHere;
        _checkpoints.Data = _checkpoints.Enabled || _elastic is not null ? DataFingerprint.Of(train, Settings.DataDescription) : null;
        if (Settings.Resume && (checkpointHere || _elastic is null)) position = _checkpoints.Resume(train.Count);
        if (Settings.Resume) _best?.Resume(_replicas.MasterModel);
        byte[]? adopted = _elastic?.JoinAtStart(position, resuming: Settings.Resume);
        if (adopted is not null) position = _checkpoints.Adopt(adopted, train.Count);
        FitThreadsToCoreShare();
        return (position, Settings.Resume || adopted is not null);
    }

    /// <summary>The steps of the current epoch from <see cref="FitProgress.FirstBatch"/> on, each followed by the
    /// mid-epoch triggers; stops early when those say so. Returns the samples trained and the seconds the steps took
    /// (validation and checkpoints are not throughput).</summary>
    (long Samples, double StepSeconds) TrainEpochSteps(IBatchSource train, IBatchSource? validation, FitProgress progress, int batchesPerEpoch,
        TrainingSampleLog? sampleLog, CancellationToken cancellation)
    {
        int batchSize = Settings.GlobalBatchSize;
        int[] order = EpochOrder(train.Count, Settings.Seed, progress.Epoch);
        long samplesTrained = 0;
        double stepSeconds = 0;
        foreach (var model in _replicas.Models) model.train();
        // Per epoch, not across epochs: a source may change between epochs (fresh negatives each epoch).
        using var prefetcher = Settings.PrefetchBatches > 0
            ? new BatchPrefetcher(train, PlanEpoch(order, progress.FirstBatch, batchesPerEpoch, progress.Iteration), Settings.PrefetchBatches)
            : null;

        for (int batch = progress.FirstBatch; batch < batchesPerEpoch; batch++)
        {
            var stepClock = Stopwatch.StartNew();
            using var stepScope = NewDisposeScope();
            using var prepared = prefetcher?.Next();
            prepared?.JoinScope(stepScope);
            int start = batch * batchSize, count = Math.Min(batchSize, train.Count - start);
            double rate = Settings.Schedule?.RateAt(checked((int)progress.Iteration), progress.Epoch) ?? OptimizerLearningRate();
            SetOptimizerLearningRate(rate);
            // Seeding every step makes stochastic layers (dropout) repeat exactly after a resume.
            torch.random.manual_seed(StepSeed(progress.Iteration)).Dispose();

            double loss;
            try
            {
                loss = BatchGradient(train, order.AsSpan(start, count), prepared);
                sampleLog?.Write(progress.Iteration + 1, progress.Epoch, order.AsSpan(start, count), Settings.Processes.LastSumContribution);
            }
            catch (ProcessGroupFailedException error) when (_checkpoints.Enabled)
            {
                throw _checkpoints.SaveOnGroupFailure(error, progress.MidEpoch(nextBatch: batch));
            }
            _optimizer.step();
            _replicas.SynchroniseReplicas();

            if (double.IsNaN(loss) || double.IsInfinity(loss))
                throw new TrainingDivergedException($"training diverged: loss is {loss} at epoch {progress.Epoch + 1}, iteration {progress.Iteration + 1}; the learning rate was {rate:G3}: lower it (--learning-rate)");
            progress.StepCompleted(loss, count);
            samplesTrained += count;
            stepSeconds += stepClock.Elapsed.TotalSeconds;

            var report = new IterationReport(progress.Epoch, Settings.Epochs, batch, batchesPerEpoch, progress.Iteration, loss, rate, count,
                count / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9));
            foreach (var observer in Settings.Observers) observer.IterationCompleted(report);

            // The epoch's last step is followed by the epoch-end triggers instead.
            bool lastBatch = batch == batchesPerEpoch - 1;
            if (!lastBatch && StopsAfterMidEpochStep(batch + 1, validation, progress, cancellation)) break;
        }
        return (samplesTrained, stepSeconds);
    }

    /// <summary>The triggers after a step inside an epoch: validation, the end trigger, Ctrl+C and checkpoints.
    /// Returns whether training stops here; an end trigger that fires mid-epoch stops like Ctrl+C does: the
    /// checkpoint records the exact position, so a later run with a larger limit continues from this very step.</summary>
    bool StopsAfterMidEpochStep(int nextBatch, IBatchSource? validation, FitProgress progress, CancellationToken cancellation)
    {
        var clock = new TrainingClock(progress.Epoch, progress.Iteration, AtEpochEnd: false);
        if (validation is not null && Settings.ValidateWhen.IsTriggered(clock)) ValidateMidEpoch(validation, progress);
        progress.ReachedEnd = Settings.EndWhen?.IsTriggered(clock) == true;
        bool stopNow = cancellation.IsCancellationRequested || progress.ReachedEnd;
        if (_checkpoints.Enabled && (stopNow || Settings.CheckpointWhen.IsTriggered(clock)))
            _checkpoints.Save(progress.MidEpoch(nextBatch));
        if (progress.ReachedEnd && validation is not null) ValidateMidEpoch(validation, progress);
        if (!stopNow) return false;
        progress.Interrupted = !progress.ReachedEnd;
        return true;
    }

    void ValidateMidEpoch(IBatchSource validation, FitProgress progress)
    {
        var scores = Evaluate(validation, Settings.ValidationMethods);
        foreach (var observer in Settings.Observers) observer.ValidationCompleted(progress.Epoch, progress.Iteration, scores);
    }

    /// <summary>The triggers at the end of an epoch: the end trigger, validation, the schedule, the best epoch and
    /// early stopping, the epoch's report, the checkpoint, Ctrl+C, and the process group's boundary where newcomers
    /// join.</summary>
    void EndEpoch(IBatchSource? validation, FitProgress progress, Stopwatch epochClock, double samplesPerSecond, CancellationToken cancellation)
    {
        int epoch = progress.Epoch;
        var endClock = new TrainingClock(epoch, progress.Iteration, AtEpochEnd: true);
        progress.ReachedEnd = Settings.EndWhen?.IsTriggered(endClock) == true;
        IReadOnlyDictionary<string, double> scores = validation is not null && (Settings.ValidateWhen.IsTriggered(endClock) || Settings.ValidateWhen.IsTriggered(endClock with { AtEpochEnd = false }) || progress.ReachedEnd)
            ? Evaluate(validation, Settings.ValidationMethods)
            : new Dictionary<string, double>();
        double trainLoss = progress.EpochLoss;
        Settings.Schedule?.EpochEnded(epoch, scores.TryGetValue(Settings.MonitoredMetric, out double monitored) ? monitored : trainLoss);
        // An epoch without validation is not judged, unless the training loss is all there is to judge by.
        _best?.Offer(epoch, scores.TryGetValue(Settings.MonitoredMetric, out double value) ? value : validation is null ? trainLoss : double.NaN,
            _replicas.MasterModel);
        if (Settings.EarlyStoppingPatience is int patience && _best?.Epoch is int bestSoFar && epoch - bestSoFar >= patience && epoch + 1 < Settings.Epochs)
            progress.ReachedEnd = progress.StoppedEarly = true;

        var epochReport = new EpochReport(epoch, Settings.Epochs, progress.Iteration, trainLoss, scores, OptimizerLearningRate(),
            epochClock.Elapsed.TotalSeconds, samplesPerSecond, Environment.WorkingSet / (1024.0 * 1024.0));
        progress.EpochCompleted(epochReport);
        foreach (var observer in Settings.Observers) observer.EpochCompleted(epochReport);

        bool finished = progress.Epoch == Settings.Epochs;
        if (_checkpoints.Enabled && (Settings.CheckpointWhen.IsTriggered(endClock) || finished || progress.ReachedEnd || cancellation.IsCancellationRequested))
            _checkpoints.Save(progress.AtEpochStart());
        if (cancellation.IsCancellationRequested && !finished) progress.Interrupted = true;
        if (_elastic is not null && !finished && !progress.Stopping)
        {
            _elastic.AtEpochBoundary(progress.AtEpochStart());
            FitThreadsToCoreShare();
        }
    }

    /// <summary>With <see cref="TrainerSettings.RestoreBestEpoch"/>, training ends with the best epoch's weights in
    /// every replica (the checkpoint keeps the last epoch's, so a resumed run with more epochs continues from where
    /// training really was). Returns that epoch, or null when the last epoch's weights stay.</summary>
    int? RestoreBestEpochWeights(FitProgress progress)
    {
        if (!Settings.RestoreBestEpoch || _best?.Epoch is not int best || progress.Interrupted) return null;
        _best.RestoreInto(_replicas.MasterModel);
        _replicas.SynchroniseReplicas();
        return best;
    }

    /// <summary>The contiguous slice [offset, end) of a batch of <paramref name="count"/> samples computed by process
    /// <paramref name="rank"/> of <paramref name="size"/>.</summary>
    public static (int Offset, int End) ShareOf(int count, int rank, int size) =>
        ((int)((long)count * rank / size), (int)((long)count * (rank + 1) / size));

    /// <summary>Computes each validation method over <paramref name="data"/>, the replicas sharing the work; in a
    /// process group each process takes its share of the data and the totals are summed over the group (if the
    /// group changes meanwhile, the shares are computed again), so every process gets the scores of the whole set.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(IBatchSource data, IReadOnlyList<IValidationMethod> methods, int? batchSize = null,
        IReadOnlyList<ISetValidationMethod>? setMethods = null)
    {
        var processes = Settings.Processes;
        setMethods ??= ReferenceEquals(methods, Settings.ValidationMethods) ? Settings.SetValidationMethods : [];
        double[] totals = new double[2 * methods.Count]; // each method's sum, then its count
        // Each set method's rows for the whole set: this process fills its share, the group's sum fills the rest.
        double[][] rows = setMethods.Select(method => new double[(long)data.Count * method.ValuesPerSample]).ToArray();
        while (true)
        {
            var (from, to) = ShareOf(data.Count, processes.Rank, processes.Size);
            foreach (double[] table in rows) Array.Clear(table);
            MeasureRange(data, from, to, methods, batchSize, totals, setMethods, rows);
            if (processes is SingleProcess) break;
            try
            {
                processes.SumTotals(totals);
                foreach (double[] table in rows) processes.SumTotals(table);
                break;
            }
            catch (ProcessGroupChangedException)
            {
                FitThreadsToCoreShare();
            }
        }
        var scores = new Dictionary<string, double>();
        for (int m = 0; m < methods.Count; m++)
            scores[methods[m].Name] = totals[methods.Count + m] == 0 ? double.NaN : totals[m] / totals[methods.Count + m];
        for (int m = 0; m < setMethods.Count; m++)
            foreach (var (name, value) in setMethods[m].Score(rows[m], data.Count)) scores[name] = value;
        return scores;
    }

    /// <summary>Each method's sum and count over samples [<paramref name="from"/>, <paramref name="to"/>) of
    /// <paramref name="data"/>, split across the replicas, into <paramref name="totals"/> (sums, then counts).</summary>
    void MeasureRange(IBatchSource data, int from, int to, IReadOnlyList<IValidationMethod> methods, int? batchSize, double[] totals,
        IReadOnlyList<ISetValidationMethod> setMethods, double[][] rows)
    {
        int replicas = _replicas.Models.Count;
        int perReplicaBatch = Math.Max(1, (batchSize ?? Settings.GlobalBatchSize) / replicas);
        var sums = new double[replicas, methods.Count];
        var counts = new long[replicas, methods.Count];
        int chunk = (to - from + replicas - 1) / replicas;
        // Round k gives each replica the k-th batch of its contiguous chunk; the rounds are read ahead like training
        // batches, under the seed a batch read on a replica's thread would see now (the last training step's).
        int rounds = chunk == 0 ? 0 : (chunk + perReplicaBatch - 1) / perReplicaBatch;
        long seed = torch.random.initial_seed();
        PlannedBatch Round(int round) => new(seed, Enumerable.Range(0, replicas).Select(r =>
        {
            int first = from + r * chunk + round * perReplicaBatch, end = Math.Min(to, from + (r + 1) * chunk);
            return first >= end ? [] : Enumerable.Range(first, Math.Min(perReplicaBatch, end - first)).ToArray();
        }).ToArray());
        using var prefetcher = Settings.PrefetchBatches > 0 && rounds > 0
            ? new BatchPrefetcher(data, Enumerable.Range(0, rounds).Select(Round), Settings.PrefetchBatches)
            : null;
        foreach (var model in _replicas.Models) model.eval();
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                using var roundScope = NewDisposeScope();
                using var prepared = prefetcher?.Next();
                prepared?.JoinScope(roundScope);
                int[][] parts = prepared?.Plan.Parts ?? Round(round).Parts;
                _replicas.Threads.Run(r =>
                {
                    int[] indices = parts[r];
                    if (indices.Length == 0) return;
                    using var noGrad = no_grad();
                    using var scope = NewDisposeScope();
                    var (input, target) = prepared?.Part(r) ?? data.GetBatch(indices);
                    var output = _replicas.Models[r].forward(input);
                    for (int m = 0; m < methods.Count; m++)
                    {
                        var (sum, n) = methods[m].Measure(output, target);
                        sums[r, m] += sum;
                        counts[r, m] += n;
                    }
                    for (int m = 0; m < setMethods.Count; m++)
                    {
                        int width = setMethods[m].ValuesPerSample;
                        setMethods[m].Record(output, target, rows[m].AsSpan(indices[0] * width, indices.Length * width));
                    }
                });
            }
        }
        finally
        {
            foreach (var model in _replicas.Models) model.train();
        }
        Array.Clear(totals);
        for (int m = 0; m < methods.Count; m++)
            for (int r = 0; r < replicas; r++)
            {
                totals[m] += sums[r, m];
                totals[methods.Count + m] += counts[r, m];
            }
    }

    /// <summary>Leaves the gradient of the whole global batch in replica 0 and returns the batch's mean loss.
    /// This process computes its share (all of it when training alone); in a process group the weighted
    /// gradients are summed across processes, and if the group loses a member meanwhile the batch is shared
    /// out again among the survivors and computed again, so every sample of it is used exactly once.</summary>
    double BatchGradient(IBatchSource train, ReadOnlySpan<int> batch, PreparedBatch? prepared)
    {
        int[][] replicaSlices = _replicaSlices;
        double[] shares = _replicaShares, replicaLosses = _replicaLosses;
        var processes = Settings.Processes;
        while (true)
        {
            var (offset, end) = ShareOf(batch.Length, processes.Rank, processes.Size);
            SplitAcrossReplicas(batch[offset..end], batch.Length, replicaSlices, shares);
            // The batch read ahead serves only the share-out it was read for, and only once (a step computed again
            // after the group re-formed reads afresh, as it would without prefetching).
            var ahead = prepared is not null && prepared.Matches(replicaSlices) ? prepared : null;
            prepared = null;
            _replicas.Threads.Run(r => replicaLosses[r] = ForwardBackward(r, train, replicaSlices[r], ahead));
            _replicas.AverageGradientsIntoMaster(shares);
            double loss = 0;
            for (int r = 0; r < shares.Length; r++) loss += shares[r] * replicaLosses[r];
            if (_exchange is null) return loss;
            try
            {
                return _exchange.SumAcrossProcesses(processes, loss);
            }
            catch (IOException error) when (error is not ProcessGroupFailedException)
            {
                throw new ProcessGroupFailedException(error); // told apart from a data file's failure by the caller
            }
            catch (ProcessGroupChangedException)
            {
                // The group re-formed: compute this batch again with the new share-out (and core share).
                FitThreadsToCoreShare();
            }
        }
    }

    double ForwardBackward(int replica, IBatchSource data, int[] indices, PreparedBatch? ahead)
    {
        var model = _replicas.Models[replica];
        model.zero_grad();
        if (indices.Length == 0) return 0;
        using var scope = NewDisposeScope();
        // Tensors read ahead are freed with their batch after the step, not by this scope.
        var (input, target) = ahead?.Part(replica) ?? data.GetBatch(indices);
        var loss = _loss(model.forward(input), target);
        loss.backward();
        return loss.ToDouble();
    }

    /// <summary>The seed torch's generator is set to before step <paramref name="iteration"/> (counted from 0), which
    /// random augmentations of that step's batch also key on (<see cref="BatchSeed"/>).</summary>
    long StepSeed(long iteration) => unchecked(Settings.Seed * 1_000_003L + iteration);

    /// <summary>The batches of an epoch from <paramref name="firstBatch"/> on, as the steps will ask for them: this
    /// process's share of each split across the replicas. Enumerated by the prefetch thread as it goes, so a share-out
    /// that changes meanwhile (a process group re-forming) shows in later batches; earlier ones are read again.</summary>
    IEnumerable<PlannedBatch> PlanEpoch(int[] order, int firstBatch, int batchesPerEpoch, long firstIteration)
    {
        int batchSize = Settings.GlobalBatchSize, replicas = _replicas.Models.Count;
        for (int batch = firstBatch; batch < batchesPerEpoch; batch++)
            yield return PlanBatch(order, batch * batchSize, Math.Min(batchSize, order.Length - batch * batchSize), replicas,
                StepSeed(firstIteration + batch - firstBatch));
    }

    PlannedBatch PlanBatch(int[] order, int start, int count, int replicas, long seed)
    {
        var processes = Settings.Processes;
        var batch = order.AsSpan(start, count);
        // Read on the prefetch thread while a group may be re-forming: a rank and size from two different group
        // generations plan an empty share, which the step will not match and so reads for itself.
        int rank = processes.Rank, size = processes.Size;
        var (offset, end) = rank >= 0 && rank < size ? ShareOf(count, rank, size) : (0, 0);
        var parts = new int[replicas][];
        SplitAcrossReplicas(batch[offset..end], count, parts, new double[replicas]);
        return new PlannedBatch(seed, parts);
    }

    /// <summary>Contiguous, near-equal slices of this process's part of the batch for each replica, with each
    /// slice's share of the whole global batch (<paramref name="globalCount"/> samples).</summary>
    static void SplitAcrossReplicas(ReadOnlySpan<int> batch, int globalCount, int[][] slices, double[] shares)
    {
        int replicas = slices.Length, offset = 0;
        for (int r = 0; r < replicas; r++)
        {
            int size = batch.Length / replicas + (r < batch.Length % replicas ? 1 : 0);
            if (slices[r] is null || slices[r].Length != size) slices[r] = new int[size];
            batch.Slice(offset, size).CopyTo(slices[r]);
            shares[r] = (double)size / globalCount;
            offset += size;
        }
    }

    /// <summary>The sample order of an epoch: a Fisher-Yates shuffle seeded by (seed, epoch), so any epoch's
    /// order can be recomputed after a resume without replaying earlier ones.</summary>
    public static int[] EpochOrder(int count, int seed, int epoch)
    {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        // Not HashCode.Combine: it is randomised per process, and the order must be the same in every run.
        var random = new Random(unchecked(seed * 7919 + epoch * 104_729 + 17));
        random.Shuffle(order);
        return order;
    }

    double OptimizerLearningRate() => _optimizer.GetLearningRate();

    void SetOptimizerLearningRate(double rate) => _optimizer.SetLearningRate(rate);

    public void Dispose()
    {
        _best?.Dispose();
        _exchange?.Dispose();
        _optimizer.Dispose();
        _replicas.Dispose();
    }
}
