namespace Recipes.Runtime.Training;

/// <summary>
/// Where one <see cref="Trainer.Fit"/> stands: the epoch and step, the running loss of the epoch in progress, the
/// epochs completed, and whether (and why) it stops. It gives the position a checkpoint records at any point.
/// </summary>
sealed class FitProgress(CheckpointPosition start)
{
    public int Epoch { get; private set; } = start.Epoch;
    /// <summary>The batch of <see cref="Epoch"/> to train first: past 0 only in the epoch a resume starts in.</summary>
    public int FirstBatch { get; private set; } = start.NextBatch;
    /// <summary>Steps completed since training began (across resumes).</summary>
    public long Iteration { get; private set; } = start.Iteration;
    public double EpochLossSum { get; private set; } = start.EpochLossSum;
    public long EpochSamples { get; private set; } = start.EpochSamples;
    public List<EpochReport> Completed { get; } = new(start.CompletedEpochs);

    /// <summary>Stopped before the last epoch by cancellation (Ctrl+C): the result says so.</summary>
    public bool Interrupted { get; set; }
    /// <summary>The end trigger fired, or early stopping did.</summary>
    public bool ReachedEnd { get; set; }
    public bool StoppedEarly { get; set; }

    public bool Stopping => Interrupted || ReachedEnd;

    /// <summary>The epoch's mean training loss so far, weighted by batch size.</summary>
    public double EpochLoss => EpochLossSum / Math.Max(1, EpochSamples);

    public void StepCompleted(double meanLoss, int samples)
    {
        EpochLossSum += meanLoss * samples;
        EpochSamples += samples;
        Iteration++;
    }

    public void EpochCompleted(EpochReport report)
    {
        Completed.Add(report);
        Epoch++;
        FirstBatch = 0;
        EpochLossSum = 0;
        EpochSamples = 0;
    }

    /// <summary>The position with <paramref name="nextBatch"/> of the current epoch still to train, and the epoch's
    /// running loss, so that a resumed epoch reports the same loss.</summary>
    public CheckpointPosition MidEpoch(int nextBatch) => new()
    {
        Epoch = Epoch, NextBatch = nextBatch, Iteration = Iteration, Seed = start.Seed, GlobalBatchSize = start.GlobalBatchSize,
        SampleCount = start.SampleCount, EpochLossSum = EpochLossSum, EpochSamples = EpochSamples, CompletedEpochs = Completed,
    };

    /// <summary>The position at the start of the current epoch (after <see cref="EpochCompleted"/>: the next one).</summary>
    public CheckpointPosition AtEpochStart() => new()
    {
        Epoch = Epoch, NextBatch = 0, Iteration = Iteration, Seed = start.Seed, GlobalBatchSize = start.GlobalBatchSize,
        SampleCount = start.SampleCount, CompletedEpochs = Completed,
    };
}
