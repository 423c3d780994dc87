namespace Recipes.Runtime.Training;

/// <summary>
/// The seed of the training step a batch is being prepared for, which random augmentations key on. The trainer
/// seeds torch's generator from (seed, iteration) before every step, and a source preparing its batch on the
/// step's own thread could read it there; but a batch prepared ahead on the prefetch thread is made while an
/// earlier step runs, and torch's generator is one for the whole process. So the prefetcher states the step's
/// seed for its own thread, and sources ask here rather than reading torch's generator.
/// </summary>
public static class BatchSeed
{
    [ThreadStatic] static long? t_stated;

    /// <summary>The seed stated for this thread's batch, else torch's current seed (what the trainer set for this step).</summary>
    public static long Current => t_stated ?? torch.random.initial_seed();

    /// <summary>States <paramref name="seed"/> for batches prepared on this thread until the result is disposed.</summary>
    public static Stated Use(long seed)
    {
        var previous = t_stated;
        t_stated = seed;
        return new Stated(previous);
    }

    public readonly struct Stated(long? previous) : IDisposable
    {
        public void Dispose() => t_stated = previous;
    }
}
