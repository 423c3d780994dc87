namespace Recipes.Runtime.Training;

/// <summary>Where training stands, as triggers see it.</summary>
/// <param name="Epoch">0-based epoch in progress (or just finished, when <paramref name="AtEpochEnd"/>).</param>
/// <param name="Iteration">Optimizer steps completed since the start of training.</param>
/// <param name="AtEpochEnd">True when the check happens right after the last batch of an epoch.</param>
public readonly record struct TrainingClock(int Epoch, long Iteration, bool AtEpochEnd);

/// <summary>
/// When something happens during training (BigDL's triggers): validate every epoch, checkpoint every
/// N iterations, stop after a maximum number of epochs, ...
/// </summary>
public abstract record Trigger
{
    public abstract bool IsTriggered(TrainingClock clock);

    /// <summary>At the end of every epoch.</summary>
    public static Trigger EveryEpoch { get; } = new EveryEpochTrigger();

    /// <summary>After every <paramref name="iterations"/> optimizer steps.</summary>
    public static Trigger SeveralIterations(int iterations) => new SeveralIterationsTrigger(iterations);

    /// <summary>Once <paramref name="epochs"/> epochs have completed.</summary>
    public static Trigger MaxEpoch(int epochs) => new MaxEpochTrigger(epochs);

    /// <summary>Once <paramref name="iterations"/> optimizer steps have completed.</summary>
    public static Trigger MaxIteration(long iterations) => new MaxIterationTrigger(iterations);

    sealed record EveryEpochTrigger : Trigger
    {
        public override bool IsTriggered(TrainingClock clock) => clock.AtEpochEnd;
        public override string ToString() => "every epoch";
    }

    sealed record SeveralIterationsTrigger : Trigger
    {
        public SeveralIterationsTrigger(int iterations)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
            Iterations = iterations;
        }

        public int Iterations { get; }
        public override bool IsTriggered(TrainingClock clock) => clock.Iteration > 0 && clock.Iteration % Iterations == 0;
        public override string ToString() => $"every {Iterations} iterations";
    }

    sealed record MaxEpochTrigger : Trigger
    {
        public MaxEpochTrigger(int epochs)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
            Epochs = epochs;
        }

        public int Epochs { get; }
        public override bool IsTriggered(TrainingClock clock) => clock.AtEpochEnd && clock.Epoch + 1 >= Epochs;
        public override string ToString() => $"after {Epochs} epochs";
    }

    sealed record MaxIterationTrigger : Trigger
    {
        public MaxIterationTrigger(long iterations)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
            Iterations = iterations;
        }

        public long Iterations { get; }
        public override bool IsTriggered(TrainingClock clock) => clock.Iteration >= Iterations;
        public override string ToString() => $"after {Iterations} iterations";
    }
}
