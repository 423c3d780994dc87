namespace Recipes.Serving;

/// <summary>
/// How an <see cref="InferenceModel"/> runs its model: <paramref name="Copies"/> model copies, each on its own thread
/// (the seed's Analytics Zoo <c>concurrentNum</c>); concurrent requests concatenated along the batch dimension up to
/// <paramref name="MaxBatch"/> rows, waiting at most <paramref name="MaxDelay"/> (default 2 ms) for more after the first
/// arrived (1 means no batching); at most <paramref name="QueueCapacity"/> requests waiting, beyond which callers get
/// <see cref="ServiceBusyException"/> rather than an ever longer queue.
/// </summary>
public sealed record InferenceOptions(int Copies, int MaxBatch = 32, TimeSpan? MaxDelay = null, int QueueCapacity = 256)
{
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromMilliseconds(2);

    /// <summary>The longest a batch waits for more requests after its first one arrived.</summary>
    public TimeSpan BatchDelay => MaxDelay ?? DefaultMaxDelay;

    /// <summary>
    /// Model copies for a machine with <paramref name="cores"/> cores (default: this one's): one copy per four cores,
    /// at least one. Why: a copy runs one forward at a time, and libtorch and ONNX Runtime split each operator over
    /// their intra-op threads; a single-request forward of a CNN such as ResNet-18 still gains from 2-4 threads
    /// (lower latency, which also empties the queue faster) but little beyond that, where the per-operator work is too
    /// small to share. So up to four cores go to one copy's threads, and only the cores beyond that buy more copies
    /// (throughput from requests running side by side). Copies x <see cref="IntraOpThreadsPerCopy"/> never exceeds the
    /// cores: oversubscribed threads only wait for each other. Dynamic batching then fills each copy's forward with
    /// several requests, which is where a small machine gets its throughput.
    /// </summary>
    public static int DefaultCopies(int? cores = null) => Math.Max(1, (cores ?? Environment.ProcessorCount) / 4);

    /// <summary>Intra-op threads each of <paramref name="copies"/> copies should use so they share the cores without oversubscribing.</summary>
    public static int IntraOpThreadsPerCopy(int copies, int? cores = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(copies, 1);
        return Math.Max(1, (cores ?? Environment.ProcessorCount) / copies);
    }

    internal void Validate()
    {
        if (Copies < 1) throw new ArgumentOutOfRangeException(nameof(Copies), Copies, "at least one model copy is needed");
        if (MaxBatch < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, "a batch holds at least one row (1 = no batching)");
        if (BatchDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxDelay), BatchDelay, "the batching delay cannot be negative");
        if (QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "the queue must hold at least one request");
    }
}
