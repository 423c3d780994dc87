namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// Decides the learning rate of every optimizer step, in the manner of BigDL's learning-rate schedules.
/// The training loop asks for the rate before each step and reports the monitored value after each epoch.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>
    /// Learning rate for the optimizer step about to run. <paramref name="iteration"/>: global 0-based count of
    /// optimizer steps done so far; <paramref name="epoch"/>: 0-based epoch index.
    /// </summary>
    double RateAt(int iteration, int epoch);

    /// <summary>
    /// Called once at the end of each epoch with the monitored value (validation loss or a score); only
    /// Plateau-like schedules use it.
    /// </summary>
    void EpochEnded(int epoch, double monitoredValue);

    /// <summary>Mutable state (Plateau's best value, wait counters, current rate, ...) so a checkpoint can resume exactly.</summary>
    IReadOnlyDictionary<string, double> SaveState();

    void RestoreState(IReadOnlyDictionary<string, double> state);
}
