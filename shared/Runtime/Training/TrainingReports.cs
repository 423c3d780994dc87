namespace Recipes.Runtime.Training;

/// <summary>What the trainer tells observers after each optimizer step.</summary>
public sealed record IterationReport(
    int Epoch, int Epochs, int BatchInEpoch, int BatchesPerEpoch, long Iteration,
    double Loss, double LearningRate, int BatchSize, double SamplesPerSecond);

/// <summary>What the trainer tells observers at the end of each epoch. <paramref name="Seconds"/> is the whole epoch
/// (validation and checkpoints included); <paramref name="SamplesPerSecond"/> counts the training steps' time only.</summary>
public sealed record EpochReport(
    int Epoch, int Epochs, long Iteration, double TrainLoss, IReadOnlyDictionary<string, double> Validation,
    double LearningRate, double Seconds, double SamplesPerSecond, double ProcessMemoryMegabytes);

/// <summary>Where <see cref="Trainer.Fit"/> starts: epoch <paramref name="FirstEpoch"/> (0-based) at batch
/// <paramref name="FirstBatch"/> of it; <paramref name="Resumed"/> when that position came from a checkpoint. A
/// position at or past <paramref name="Epochs"/> means the checkpoint's run already finished.</summary>
public sealed record TrainingStart(int FirstEpoch, int FirstBatch, int Epochs, int BatchesPerEpoch, int SampleCount, bool Resumed)
{
    public bool NothingToTrain => FirstEpoch >= Epochs;
}

/// <summary>The outcome of <see cref="Trainer.Fit"/>.</summary>
/// <paramref name="BestEpoch"/> is the 0-based epoch whose weights training ended with when
/// <see cref="TrainerSettings.RestoreBestEpoch"/> is on (null otherwise); <paramref name="StoppedEarly"/> says that
/// <see cref="TrainerSettings.EarlyStoppingPatience"/> ended training before its last epoch.
public sealed record TrainingResult(
    int EpochsCompleted, long Iterations, bool Interrupted, IReadOnlyList<EpochReport> Epochs, double WallSeconds, int? BestEpoch = null,
    bool StoppedEarly = false)
{
    public IReadOnlyDictionary<string, double> FinalValidation =>
        Epochs.Count > 0 ? Epochs[^1].Validation : new Dictionary<string, double>();
}

/// <summary>Receives training progress: console display, TensorBoard summaries, history files.
/// Called on the training thread; implementations must be quick.</summary>
public interface ITrainingObserver
{
    void TrainingStarted(int firstEpoch, int epochs, int batchesPerEpoch, int sampleCount) { }
    /// <summary>Where training starts (a resume may start mid-epoch, or find nothing left to do); by default
    /// the older four-number form above.</summary>
    void TrainingStarted(TrainingStart start) => TrainingStarted(start.FirstEpoch, start.Epochs, start.BatchesPerEpoch, start.SampleCount);
    void IterationCompleted(IterationReport report) { }
    /// <summary>Validation results between epoch ends (when <see cref="TrainerSettings.ValidateWhen"/> fires mid-epoch).</summary>
    void ValidationCompleted(int epoch, long iteration, IReadOnlyDictionary<string, double> scores) { }
    void EpochCompleted(EpochReport report) { }
    void TrainingFinished(TrainingResult result) { }
}
