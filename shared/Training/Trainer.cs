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
    int _intraOpThreads;
    DataFingerprint? _data; // what the current Fit trains on, for its checkpoints

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

    string? CheckpointPath => Settings.CheckpointFolder is null ? null : Path.Combine(Settings.CheckpointFolder, TrainingCheckpoint.FileName);

    public TrainingResult Fit(IBatchSource train, IBatchSource? validation = null, CancellationToken cancellation = default)
    {
        var wall = Stopwatch.StartNew();
        int batchSize = Settings.GlobalBatchSize;
        int batchesPerEpoch = (train.Count + batchSize - 1) / batchSize;
        if (train.Count == 0) throw new ArgumentException("the training set is empty");

        var position = new CheckpointPosition
        {
            Epoch = 0, NextBatch = 0, Iteration = 0, Seed = Settings.Seed, GlobalBatchSize = batchSize, SampleCount = train.Count,
        };
        var elastic = Settings.Processes as IElasticProcessGroup;
        // A member of a process group without a checkpoint of its own (a new machine, a lost disk) starts fresh
        // and takes the most advanced member's state below.
        bool checkpointHere = CheckpointPath is not null && File.Exists(CheckpointPath);
        _data = CheckpointPath is not null || elastic is not null ? DataFingerprint.Of(train, Settings.DataDescription) : null;
        if (Settings.Resume && (checkpointHere || elastic is null)) position = ResumeFrom(train.Count);
        if (Settings.Resume) _best?.Resume(_replicas.MasterModel);
        var startPosition = position;
        byte[]? adopted = elastic?.AtEpochBoundary(trainingStarts: true, () => CaptureState(startPosition));
        if (adopted is null && elastic is not null && Settings.Resume)
            adopted = elastic.AgreeOnResumedState(position.Iteration, () => CaptureState(startPosition));
        if (adopted is not null) position = AdoptState(adopted, train.Count);
        FitThreadsToCoreShare();
        var completed = new List<EpochReport>(position.CompletedEpochs);

        var starting = new TrainingStart(position.Epoch, position.NextBatch, Settings.Epochs, batchesPerEpoch, train.Count, Settings.Resume || adopted is not null);
        foreach (var observer in Settings.Observers) observer.TrainingStarted(starting);
        using var sampleLog = Settings.SampleLogPath is null ? null : OpenSampleLog(Settings.SampleLogPath, append: Settings.Resume || adopted is not null);

        int epoch = position.Epoch;
        long iteration = position.Iteration;
        bool interrupted = false, reachedEnd = false, stoppedEarly = false;
        double[] shares = new double[_replicas.Models.Count];
        double[] replicaLosses = new double[_replicas.Models.Count];
        int[][] replicaSlices = new int[_replicas.Models.Count][];

        while (epoch < Settings.Epochs && !interrupted && !reachedEnd)
        {
            int[] order = EpochOrder(train.Count, Settings.Seed, epoch);
            double lossSum = epoch == position.Epoch ? position.EpochLossSum : 0;
            long samplesSeen = epoch == position.Epoch ? position.EpochSamples : 0;
            int firstBatch = epoch == position.Epoch ? position.NextBatch : 0;
            var epochClock = Stopwatch.StartNew();
            long epochSamplesThisRun = 0;
            double stepSeconds = 0; // training steps only: validation and checkpoints are not throughput
            foreach (var model in _replicas.Models) model.train();
            // Per epoch, not across epochs: a source may change between epochs (fresh negatives each epoch).
            using var prefetcher = Settings.PrefetchBatches > 0
                ? new BatchPrefetcher(train, PlanEpoch(order, firstBatch, batchesPerEpoch, iteration), Settings.PrefetchBatches)
                : null;

            for (int batch = firstBatch; batch < batchesPerEpoch; batch++)
            {
                var stepClock = Stopwatch.StartNew();
                using var stepScope = NewDisposeScope();
                using var prepared = prefetcher?.Next();
                prepared?.JoinScope(stepScope);
                int start = batch * batchSize, count = Math.Min(batchSize, train.Count - start);
                double rate = Settings.Schedule?.RateAt(checked((int)iteration), epoch) ?? OptimizerLearningRate();
                SetOptimizerLearningRate(rate);
                // Seeding every step makes stochastic layers (dropout) repeat exactly after a resume.
                torch.random.manual_seed(StepSeed(iteration)).Dispose();

                double loss;
                try
                {
                    loss = BatchGradient(train, order.AsSpan(start, count), replicaSlices, shares, replicaLosses, prepared);
                    sampleLog?.Write(iteration + 1, epoch, order.AsSpan(start, count), Settings.Processes.LastSumContribution);
                }
                catch (ProcessGroupFailedException error) when (CheckpointPath is not null)
                {
                    throw CheckpointOnGroupFailure(error, new CheckpointPosition
                    {
                        Epoch = epoch, NextBatch = batch, Iteration = iteration, Seed = Settings.Seed, GlobalBatchSize = batchSize,
                        SampleCount = train.Count, EpochLossSum = lossSum, EpochSamples = samplesSeen, CompletedEpochs = completed,
                    });
                }
                _optimizer.step();
                _replicas.SynchroniseReplicas();

                if (double.IsNaN(loss) || double.IsInfinity(loss))
                    throw new TrainingDivergedException($"training diverged: loss is {loss} at epoch {epoch + 1}, iteration {iteration + 1}; the learning rate was {rate:G3}: lower it (--learning-rate)");
                lossSum += loss * count;
                samplesSeen += count;
                epochSamplesThisRun += count;
                iteration++;
                stepSeconds += stepClock.Elapsed.TotalSeconds;

                var report = new IterationReport(epoch, Settings.Epochs, batch, batchesPerEpoch, iteration, loss, rate, count,
                    count / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9));
                foreach (var observer in Settings.Observers) observer.IterationCompleted(report);

                bool lastBatch = batch == batchesPerEpoch - 1;
                var clock = new TrainingClock(epoch, iteration, AtEpochEnd: false);
                if (!lastBatch && validation is not null && Settings.ValidateWhen.IsTriggered(clock))
                {
                    var midEpochScores = Evaluate(validation, Settings.ValidationMethods);
                    foreach (var observer in Settings.Observers) observer.ValidationCompleted(epoch, iteration, midEpochScores);
                }
                // An end trigger that fires mid-epoch stops like Ctrl+C does: the checkpoint records the exact
                // position, so a later run with a larger limit continues from this very step.
                reachedEnd = !lastBatch && Settings.EndWhen?.IsTriggered(clock) == true;
                bool stopNow = cancellation.IsCancellationRequested || reachedEnd;
                if (!lastBatch && CheckpointPath is not null && (stopNow || Settings.CheckpointWhen.IsTriggered(clock)))
                    SaveCheckpoint(new CheckpointPosition
                    {
                        Epoch = epoch, NextBatch = batch + 1, Iteration = iteration, Seed = Settings.Seed, GlobalBatchSize = batchSize,
                        SampleCount = train.Count, EpochLossSum = lossSum, EpochSamples = samplesSeen, CompletedEpochs = completed,
                    });
                if (reachedEnd && validation is not null)
                {
                    var finalScores = Evaluate(validation, Settings.ValidationMethods);
                    foreach (var observer in Settings.Observers) observer.ValidationCompleted(epoch, iteration, finalScores);
                }
                if (stopNow && !lastBatch)
                {
                    interrupted = !reachedEnd;
                    break;
                }
            }
            if (interrupted || reachedEnd) break;

            var endClock = new TrainingClock(epoch, iteration, AtEpochEnd: true);
            reachedEnd = Settings.EndWhen?.IsTriggered(endClock) == true;
            IReadOnlyDictionary<string, double> scores = validation is not null && (Settings.ValidateWhen.IsTriggered(endClock) || Settings.ValidateWhen.IsTriggered(endClock with { AtEpochEnd = false }) || reachedEnd)
                ? Evaluate(validation, Settings.ValidationMethods)
                : new Dictionary<string, double>();
            double trainLoss = lossSum / Math.Max(1, samplesSeen);
            Settings.Schedule?.EpochEnded(epoch, scores.TryGetValue(Settings.MonitoredMetric, out double monitored) ? monitored : trainLoss);
            // An epoch without validation is not judged, unless the training loss is all there is to judge by.
            _best?.Offer(epoch, scores.TryGetValue(Settings.MonitoredMetric, out double value) ? value : validation is null ? trainLoss : double.NaN,
                _replicas.MasterModel);
            if (Settings.EarlyStoppingPatience is int patience && _best?.Epoch is int bestSoFar && epoch - bestSoFar >= patience && epoch + 1 < Settings.Epochs)
                reachedEnd = stoppedEarly = true;

            double seconds = epochClock.Elapsed.TotalSeconds;
            var epochReport = new EpochReport(epoch, Settings.Epochs, iteration, trainLoss, scores, OptimizerLearningRate(), seconds,
                epochSamplesThisRun / Math.Max(stepSeconds, 1e-9), Environment.WorkingSet / (1024.0 * 1024.0));
            completed.Add(epochReport);
            foreach (var observer in Settings.Observers) observer.EpochCompleted(epochReport);
            epoch++;

            if (CheckpointPath is not null && (Settings.CheckpointWhen.IsTriggered(endClock) || epoch == Settings.Epochs || reachedEnd || cancellation.IsCancellationRequested))
                SaveCheckpoint(new CheckpointPosition
                {
                    Epoch = epoch, NextBatch = 0, Iteration = iteration, Seed = Settings.Seed, GlobalBatchSize = batchSize,
                    SampleCount = train.Count, CompletedEpochs = completed,
                });
            if (cancellation.IsCancellationRequested && epoch < Settings.Epochs) interrupted = true;
            if (elastic is not null && epoch < Settings.Epochs && !interrupted && !reachedEnd)
            {
                var boundary = new CheckpointPosition
                {
                    Epoch = epoch, NextBatch = 0, Iteration = iteration, Seed = Settings.Seed, GlobalBatchSize = batchSize,
                    SampleCount = train.Count, CompletedEpochs = completed,
                };
                try
                {
                    elastic.AtEpochBoundary(trainingStarts: false, () => CaptureState(boundary));
                }
                catch (IOException error) when (CheckpointPath is not null)
                {
                    throw CheckpointOnGroupFailure(error, boundary);
                }
                FitThreadsToCoreShare();
            }
        }

        int? bestEpoch = null;
        if (Settings.RestoreBestEpoch && _best?.Epoch is int best && !interrupted)
        {
            // Training ends with the best epoch's weights in every replica (the checkpoint keeps the last epoch's,
            // so a resumed run with more epochs continues from where training really was).
            _best.RestoreInto(_replicas.MasterModel);
            _replicas.SynchroniseReplicas();
            bestEpoch = best;
        }
        var result = new TrainingResult(epoch, iteration, interrupted, completed, wall.Elapsed.TotalSeconds, bestEpoch, stoppedEarly);
        foreach (var observer in Settings.Observers) observer.TrainingFinished(result);
        return result;
    }

    static SampleLog OpenSampleLog(string path, bool append)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return new SampleLog(new StreamWriter(path, append) { AutoFlush = true });
    }

    /// <summary>One line per completed step: step, epoch, rank, group size, and the indices of the samples of this
    /// process's share (the same contiguous slice <see cref="BatchGradient"/> computes), flushed at once so that
    /// a process killed mid-run leaves every line of a step it completed.</summary>
    sealed class SampleLog(StreamWriter writer) : IDisposable
    {
        public void Write(long step, int epoch, ReadOnlySpan<int> batch, (int Rank, int Size) place)
        {
            var (offset, end) = ShareOf(batch.Length, place.Rank, place.Size);
            writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{step}\t{epoch}\t{place.Rank}\t{place.Size}\t{string.Join(',', batch[offset..end].ToArray())}"));
        }

        public void Dispose() => writer.Dispose();
    }

    /// <summary>The contiguous slice [offset, end) of a batch of <paramref name="count"/> samples computed by process
    /// <paramref name="rank"/> of <paramref name="size"/>.</summary>
    public static (int Offset, int End) ShareOf(int count, int rank, int size) =>
        ((int)((long)count * rank / size), (int)((long)count * (rank + 1) / size));

    /// <summary>The process group failed for good (a cluster worker lost its driver): keep every completed step in
    /// a checkpoint, and say so in the error the caller reports.</summary>
    IOException CheckpointOnGroupFailure(IOException error, CheckpointPosition lastCompleted)
    {
        SaveCheckpoint(lastCompleted);
        return new IOException($"{error.Message} (saved a checkpoint after step {lastCompleted.Iteration}: start the job again with --resume to continue from it)", error);
    }

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
    double BatchGradient(IBatchSource train, ReadOnlySpan<int> batch, int[][] replicaSlices, double[] shares, double[] replicaLosses,
        PreparedBatch? prepared)
    {
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

    CheckpointPosition ResumeFrom(int sampleCount)
    {
        string path = CheckpointPath ?? throw new InvalidOperationException("--resume needs a checkpoint folder");
        var position = TrainingCheckpoint.Load(path, _replicas.MasterModel, _optimizer);
        if (position.Seed != Settings.Seed || position.GlobalBatchSize != Settings.GlobalBatchSize || position.SampleCount != sampleCount)
            throw new Data.DataFileException(path,
                $"checkpoint was made with seed {position.Seed}, batch {position.GlobalBatchSize}, {position.SampleCount} samples; " +
                $"this run has seed {Settings.Seed}, batch {Settings.GlobalBatchSize}, {sampleCount} samples");
        if (position.Data is not null && _data is not null && position.Data.DifferenceFrom(_data) is string difference)
            throw new Data.DataFileException(path,
                $"the checkpoint was trained on other data than this run's ({difference}): it was trained on {position.Data}; " +
                $"this run has {_data}. Resume with the data it was trained on, or train from the start (without --resume, or with another --output)");
        if (position.ScheduleState.Count > 0) Settings.Schedule?.RestoreState(position.ScheduleState);
        _replicas.SynchroniseReplicas();
        return position;
    }

    void SaveCheckpoint(CheckpointPosition position) =>
        TrainingCheckpoint.Save(CheckpointPath!, WithSchedule(position), _replicas.MasterModel, _optimizer);

    CheckpointPosition WithSchedule(CheckpointPosition position) =>
        position with { ScheduleState = Settings.Schedule?.SaveState().ToDictionary() ?? new Dictionary<string, double>(), Data = _data };

    byte[] CaptureState(CheckpointPosition position) => TrainingCheckpoint.ToBytes(WithSchedule(position), _replicas.MasterModel, _optimizer);

    /// <summary>A newcomer to a process group takes over a member's weights, optimizer state and position.</summary>
    CheckpointPosition AdoptState(byte[] state, int sampleCount)
    {
        const string origin = "the training state received from the process group";
        using var stream = new MemoryStream(state, writable: false);
        var position = TrainingCheckpoint.Load(stream, origin, _replicas.MasterModel, _optimizer);
        if (position.Seed != Settings.Seed || position.GlobalBatchSize != Settings.GlobalBatchSize || position.SampleCount != sampleCount)
            throw new Data.DataFileException(origin,
                $"it comes from a run with seed {position.Seed}, batch {position.GlobalBatchSize}, {position.SampleCount} samples; " +
                $"this process has seed {Settings.Seed}, batch {Settings.GlobalBatchSize}, {sampleCount} samples");
        if (position.Data is not null && _data is not null && position.Data.DifferenceFrom(_data) is string difference)
            throw new Data.DataFileException(origin, $"it comes from a run on other data ({difference}): {position.Data}; this process has {_data}");
        if (position.ScheduleState.Count > 0) Settings.Schedule?.RestoreState(position.ScheduleState);
        _replicas.SynchroniseReplicas();
        return position;
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
