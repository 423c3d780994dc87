using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Recipes.Runtime.Training;

/// <summary>One step's batch as planned: the seed its random augmentations use, and the sample indices of each
/// part (one part per model replica; a part may be empty).</summary>
public sealed record PlannedBatch(long Seed, int[][] Parts);

/// <summary>
/// A planned batch read from its source: one (input, target) per part, null for an empty part. The tensors belong
/// to no dispose scope (they were made on another thread, whose scopes are its own); they are freed by
/// <see cref="Dispose"/>, which the consumer calls once the step that used them is done.
/// </summary>
public sealed class PreparedBatch : IDisposable
{
    readonly (Tensor Input, Tensor Target)?[] _parts;

    internal PreparedBatch(PlannedBatch plan, (Tensor Input, Tensor Target)?[] parts)
    {
        Plan = plan;
        _parts = parts;
    }

    public PlannedBatch Plan { get; }

    /// <summary>Part <paramref name="part"/>'s tensors; valid until this batch is disposed.</summary>
    public (Tensor Input, Tensor Target) Part(int part) =>
        _parts[part] ?? throw new InvalidOperationException($"part {part} of the batch is empty");

    /// <summary>Whether this batch was read for exactly these parts (the consumer's share-out may have changed since
    /// it was planned: a process group that lost a member shares every batch out again).</summary>
    public bool Matches(IReadOnlyList<int[]> parts)
    {
        if (parts.Count != Plan.Parts.Length) return false;
        for (int p = 0; p < parts.Count; p++)
            if (!parts[p].AsSpan().SequenceEqual(Plan.Parts[p])) return false;
        return true;
    }

    /// <summary>Puts the tensors in <paramref name="scope"/> of the consumer's thread, which then frees them with its
    /// other tensors of the step (TorchSharp counts a thread's live tensors by its own scopes: a batch made on one
    /// thread and freed on another outside any scope would read as a leak on the one and a surplus on the other).</summary>
    public void JoinScope(DisposeScope scope)
    {
        foreach (var part in _parts)
        {
            if (part is not { } tensors) continue;
            scope.Attach(tensors.Input);
            scope.Attach(tensors.Target);
        }
    }

    public void Dispose()
    {
        for (int p = 0; p < _parts.Length; p++)
        {
            if (_parts[p] is not { } part) continue;
            part.Input.Dispose();
            part.Target.Dispose();
            _parts[p] = null;
        }
    }
}

/// <summary>
/// Reads a plan of batches from a source on a background thread, up to <c>depth</c> batches ahead of the consumer,
/// so that decoding, augmentation and tensor assembly overlap the training steps instead of sitting in front of
/// them (tf.data's and PyTorch DataLoader's prefetch). Batches come out in the plan's order with the same content
/// as <see cref="IBatchSource.GetBatch"/> gives on the consumer's thread: each is read under its own step seed
/// (<see cref="BatchSeed"/>), never from torch's shared generator. At most <c>depth</c> batches wait in the
/// queue, plus the one being read. An exception thrown while reading comes out of <see cref="Next"/> as itself,
/// after the batches read before it; <see cref="Dispose"/> stops and joins the thread and frees every batch not
/// handed out.
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    readonly IBatchSource _source;
    readonly IEnumerable<PlannedBatch> _plan;
    readonly BlockingCollection<PreparedBatch> _ready;
    readonly CancellationTokenSource _stop = new();
    readonly Thread _producer;
    ExceptionDispatchInfo? _failure;
    bool _disposed;

    /// <param name="plan">Enumerated lazily on the background thread, so it may follow state that changes as the
    /// consumer goes (a batch planned on stale state is recognised by <see cref="PreparedBatch.Matches"/>).</param>
    /// <param name="depth">Batches read ahead of the consumer (at least 1).</param>
    public BatchPrefetcher(IBatchSource source, IEnumerable<PlannedBatch> plan, int depth)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _source = source;
        _plan = plan;
        Depth = depth;
        _ready = new BlockingCollection<PreparedBatch>(new ConcurrentQueue<PreparedBatch>(), boundedCapacity: depth);
        _producer = new Thread(Produce) { IsBackground = true, Name = "batch-prefetch" };
        _producer.Start();
    }

    public int Depth { get; }

    /// <summary>Batches read and waiting for the consumer (never more than <see cref="Depth"/>).</summary>
    public int Waiting => _ready.Count;

    /// <summary>Whether the background thread is still running (false once the plan is read or after Dispose).</summary>
    public bool IsReading => _producer.IsAlive;

    /// <summary>The next batch of the plan, waiting for it if need be; null when the plan is exhausted. The caller
    /// owns it and disposes it when done with its tensors.</summary>
    public PreparedBatch? Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var batch in _ready.GetConsumingEnumerable())
            return batch;
        _failure?.Throw();
        return null;
    }

    void Produce()
    {
        var stop = _stop.Token;
        try
        {
            // No torch.set_num_threads here: part of what it sets (MKL's thread count) is process-wide, and would
            // change the replicas' own setting (local[1] with 2 intra-op threads).
            foreach (var planned in _plan)
            {
                stop.ThrowIfCancellationRequested();
                var batch = Read(planned);
                try
                {
                    _ready.Add(batch, stop);
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Disposed mid-plan: nothing more is wanted.
        }
        catch (Exception error)
        {
            _failure = ExceptionDispatchInfo.Capture(error);
        }
        finally
        {
            _ready.CompleteAdding();
        }
    }

    PreparedBatch Read(PlannedBatch planned)
    {
        var parts = new (Tensor Input, Tensor Target)?[planned.Parts.Length];
        try
        {
            using var seed = BatchSeed.Use(planned.Seed);
            for (int p = 0; p < parts.Length; p++)
            {
                if (planned.Parts[p].Length == 0) continue;
                // A scope of this thread frees the source's temporaries; the batch itself leaves it, for the consumer.
                using var scope = NewDisposeScope();
                var (input, target) = _source.GetBatch(planned.Parts[p]);
                parts[p] = (input.DetachFromDisposeScope(), target.DetachFromDisposeScope());
            }
            return new PreparedBatch(planned, parts);
        }
        catch
        {
            new PreparedBatch(planned, parts).Dispose();
            throw;
        }
    }

    /// <summary>Stops reading (waiting for a batch being read to finish), joins the thread, and frees the batches
    /// that were read but not handed out.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _producer.Join();
        while (_ready.TryTake(out var left)) left.Dispose();
        _ready.Dispose();
        _stop.Dispose();
    }
}
