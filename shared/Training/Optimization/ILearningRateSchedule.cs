namespace Recipes.Runtime.Training.Optimization;

public interface ILearningRateSchedule
{
    double RateAt(int iteration, int epoch);
    void EpochEnded(int epoch, double monitoredValue);
    IReadOnlyDictionary<string, double> SaveState();
    void RestoreState(IReadOnlyDictionary<string, double> state);
}
