using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Recipes.Serving;

/// <summary>
/// A model served to many threads at once, the way Analytics Zoo's <c>InferenceModel</c> did with
/// <c>concurrentNum</c> copies and Triton does with instances and a dynamic batcher:
/// <list type="bullet">
/// <item>N copies of the model, each created, warmed up (one forward, so the first request is not the slow one)
/// and run on its own thread;</item>
/// <item>a bounded queue: when <see cref="InferenceOptions.QueueCapacity"/> requests are waiting, the next caller gets
/// <see cref="ServiceBusyException"/> at once (back-pressure) instead of the queue and the latency growing without end;</item>
/// <item>dynamic batching: a free copy takes the oldest request, then keeps taking waiting requests (whole ones, with
/// the same non-batch shapes) until <see cref="InferenceOptions.MaxBatch"/> rows or until
/// <see cref="InferenceOptions.MaxDelay"/> after that oldest request arrived, concatenates them along the batch
/// dimension, runs one forward pass and hands every caller exactly its own rows. Only one copy gathers a batch at a
/// time, so an idle second copy does not split what could have been one batch; it starts the next one. A request
/// larger than MaxBatch runs alone, unsplit.</item>
/// </list>
/// Inputs are checked against the signature before they are queued (<see cref="InvalidInputException"/>). A cancelled
/// request leaves the queue at once; one already in a forward pass is cancelled for its caller and its rows dropped.
/// <see cref="Dispose"/> cancels what is still waiting, lets the forward passes under way finish and deliver, stops
/// the threads and disposes the copies.
/// </summary>
public sealed class InferenceModel : IInferenceModel
{
    readonly InferenceOptions _options;
    readonly object _lock = new();
    readonly LinkedList<PendingRequest> _waiting = new();
    readonly Thread[] _workers;
    bool _gatheringBatch;
    bool _stopping;
    int _disposed;

    /// <param name="createCopy">makes copy number i; called on that copy's own thread, which also runs all its forwards
    /// (so per-thread engine settings such as libtorch's thread count hold for the copy)</param>
    public InferenceModel(Func<int, IInferenceBackend> createCopy, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(createCopy);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _workers = new Thread[options.Copies];
        var startups = new TaskCompletionSource<ModelSignature>[options.Copies];
        for (int i = 0; i < options.Copies; i++)
        {
            int copy = i;
            startups[i] = new TaskCompletionSource<ModelSignature>(TaskCreationOptions.RunContinuationsAsynchronously);
            _workers[i] = new Thread(() => Work(copy, createCopy, startups[copy]))
            {
                IsBackground = true,
                Name = $"inference copy {copy}",
            };
            _workers[i].Start();
        }

        try
        {
            Task.WaitAll(startups.Select(s => s.Task).ToArray());
        }
        catch (AggregateException)
        {
            StopWorkers();
            var failure = startups.Select(s => s.Task.Exception?.InnerException).First(e => e is not null)!;
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
        var signatures = startups.Select(s => s.Task.Result).ToArray();
        Signature = signatures[0];
        string reference = Describe(Signature);
        int different = Array.FindIndex(signatures, s => Describe(s) != reference);
        if (different >= 0)
        {
            StopWorkers();
            throw new InvalidOperationException($"model copy {different} has signature {Describe(signatures[different])}, copy 0 has {reference}: copies must be the same model");
        }
    }

    public ModelSignature Signature { get; }

    public InferenceOptions Options => _options;

    /// <summary>Requests waiting for a model copy (not those in a forward pass).</summary>
    public int QueueLength
    {
        get { lock (_lock) return _waiting.Count; }
    }

    /// <summary>Copies whose thread is running: all of them once loaded, none after <see cref="Dispose"/>.</summary>
    public int RunningCopies => _workers.Count(w => w.IsAlive);

    /// <summary>
    /// After every forward pass, on the copy's thread, before the callers get their rows: the rows in the batch and the
    /// forward time (for Prometheus batch-size and forward-time histograms). A handler that throws is ignored: metrics
    /// must never fail a request.
    /// </summary>
    public event Action<int, TimeSpan>? BatchRan;

    /// <summary>
    /// Queues one request and returns the task of its outputs. A request that does not fit the signature
    /// (<see cref="InvalidInputException"/>), meets a full queue (<see cref="ServiceBusyException"/>) or a disposed
    /// model (<see cref="ObjectDisposedException"/>) gets an already-failed task; a cancelled one a cancelled task.
    /// </summary>
    public Task<IReadOnlyList<NamedTensor>> InferAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellation = default)
    {
        try
        {
            return Enqueue(inputs, cancellation);
        }
        catch (Exception refusal) when (refusal is InvalidInputException or ServiceBusyException or ObjectDisposedException)
        {
            return Task.FromException<IReadOnlyList<NamedTensor>>(refusal);
        }
    }

    Task<IReadOnlyList<NamedTensor>> Enqueue(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellation)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellation.IsCancellationRequested) return Task.FromCanceled<IReadOnlyList<NamedTensor>>(cancellation);
        var (ordered, rows) = SignatureValidation.Validate(Signature, inputs);
        var request = new PendingRequest(ordered, rows, Stopwatch.GetTimestamp());
        // Registered before queuing, so the worker that completes the request always finds the registration to release.
        if (cancellation.CanBeCanceled)
            request.Cancellation = cancellation.Register(static state =>
            {
                var (model, pending, token) = ((InferenceModel, PendingRequest, CancellationToken))state!;
                model.Cancel(pending, token);
            }, (this, request, cancellation));
        lock (_lock)
        {
            string? refusal = _stopping ? "disposed" : _waiting.Count >= _options.QueueCapacity ? "busy" : null;
            if (refusal is not null)
            {
                request.Cancellation.Unregister();
                if (refusal == "disposed") throw new ObjectDisposedException(GetType().FullName);
                throw new ServiceBusyException($"model '{Signature.Name}' is busy: {_waiting.Count} requests are already waiting; retry later");
            }
            if (!request.Cancelled)
            {
                request.Node = _waiting.AddLast(request);
                Monitor.PulseAll(_lock);
            }
        }
        return request.Completion.Task;
    }

    void Cancel(PendingRequest request, CancellationToken token)
    {
        lock (_lock)
        {
            request.Cancelled = true;
            if (request.Node?.List is not null) _waiting.Remove(request.Node);
        }
        request.Completion.TrySetCanceled(token);
    }

    void Work(int copy, Func<int, IInferenceBackend> createCopy, TaskCompletionSource<ModelSignature> startup)
    {
        IInferenceBackend? backend = null;
        try
        {
            try
            {
                backend = createCopy(copy) ?? throw new InvalidOperationException($"creating model copy {copy} returned null");
                var warmUp = TensorBatches.WarmUpInputs(backend.Signature);
                var outputs = backend.Run(warmUp);
                CheckOutputs(backend.Signature, outputs, rows: 1);
            }
            catch (Exception error)
            {
                startup.TrySetException(error);
                return;
            }
            startup.TrySetResult(backend.Signature);
            while (TakeBatch() is { } batch)
                RunBatch(backend, batch);
        }
        finally
        {
            backend?.Dispose();
        }
    }

    /// <summary>Waits for work and gathers one batch; null when the model is stopping.</summary>
    List<PendingRequest>? TakeBatch()
    {
        lock (_lock)
        {
            while (!_stopping && (_gatheringBatch || _waiting.Count == 0))
                Monitor.Wait(_lock);
            if (_stopping) return null;

            _gatheringBatch = true;
            try
            {
                var first = Dequeue();
                var batch = new List<PendingRequest> { first };
                long rows = first.Rows;
                long deadline = first.EnqueuedAt + (long)(_options.BatchDelay.TotalSeconds * Stopwatch.Frequency);
                while (rows < _options.MaxBatch && !_stopping)
                {
                    if (_waiting.First is { } next)
                    {
                        if (rows + next.Value.Rows > _options.MaxBatch || !TensorBatches.Compatible(first.Inputs, next.Value.Inputs)) break;
                        batch.Add(Dequeue());
                        rows += next.Value.Rows;
                        continue;
                    }
                    long remaining = deadline - Stopwatch.GetTimestamp();
                    if (remaining <= 0) break;
                    Monitor.Wait(_lock, TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
                }
                return batch;
            }
            finally
            {
                _gatheringBatch = false;
                Monitor.PulseAll(_lock);
            }
        }
    }

    PendingRequest Dequeue()
    {
        var request = _waiting.First!.Value;
        _waiting.RemoveFirst();
        return request;
    }

    void RunBatch(IInferenceBackend backend, List<PendingRequest> batch)
    {
        // Callers who gave up while their batch was gathered: nothing to compute for them.
        batch.RemoveAll(r => r.Completion.Task.IsCompleted);
        if (batch.Count == 0) return;
        long totalRows = batch.Sum(r => (long)r.Rows);
        try
        {
            var inputs = TensorBatches.Concatenate(batch.Select(r => (IReadOnlyList<NamedTensor>)r.Inputs).ToList());
            long started = Stopwatch.GetTimestamp();
            var outputs = backend.Run(inputs);
            var forwardTime = Stopwatch.GetElapsedTime(started);
            CheckOutputs(backend.Signature, outputs, totalRows);
            ReportBatch((int)totalRows, forwardTime);
            long firstRow = 0;
            foreach (var request in batch)
            {
                var own = TensorBatches.Slice(outputs, totalRows, firstRow, request.Rows);
                firstRow += request.Rows;
                request.Cancellation.Unregister();
                request.Completion.TrySetResult(own);
            }
        }
        catch (Exception error)
        {
            foreach (var request in batch)
            {
                request.Cancellation.Unregister();
                request.Completion.TrySetException(error);
            }
        }
    }

    void ReportBatch(int rows, TimeSpan forwardTime)
    {
        var handlers = BatchRan;
        if (handlers is null) return;
        foreach (var handler in handlers.GetInvocationList().Cast<Action<int, TimeSpan>>())
        {
            try { handler(rows, forwardTime); }
            catch (Exception) { /* a metrics handler must not fail the callers' requests */ }
        }
    }

    static void CheckOutputs(ModelSignature signature, IReadOnlyList<NamedTensor>? outputs, long rows)
    {
        if (outputs is null || outputs.Count != signature.Outputs.Count)
            throw new InvalidOperationException($"model '{signature.Name}' returned {outputs?.Count ?? 0} outputs; its signature declares {signature.Outputs.Count}");
        for (int i = 0; i < outputs.Count; i++)
        {
            var output = outputs[i];
            long values = output.Floats?.LongLength ?? output.Longs?.LongLength ?? -1;
            if (output.Shape.Length == 0 || output.Shape[0] != rows || values != output.ElementCount)
                throw new InvalidOperationException(
                    $"model '{signature.Name}' output '{output.Name}' has shape {SignatureValidation.Describe(output.Shape)} with {values} values for a batch of {rows} rows");
        }
    }

    static string Describe(ModelSignature s) =>
        string.Join(";", s.Inputs.Concat(s.Outputs).Select(t => $"{t.Name}:{t.Datatype}{SignatureValidation.Describe(t.Shape)}")) + $" ({s.Name} {s.Version})";

    void StopWorkers()
    {
        List<PendingRequest> abandoned;
        lock (_lock)
        {
            _stopping = true;
            abandoned = [.. _waiting];
            _waiting.Clear();
            Monitor.PulseAll(_lock);
        }
        foreach (var request in abandoned)
        {
            request.Cancellation.Unregister();
            request.Completion.TrySetCanceled();
        }
        foreach (var worker in _workers)
            if (worker != Thread.CurrentThread) worker.Join();
    }

    /// <summary>
    /// Cancels the requests still waiting, lets the forward passes under way complete (their callers get their rows),
    /// waits for every copy's thread to end and disposes the copies (each on its own thread). Later calls to
    /// <see cref="InferAsync"/> throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        StopWorkers();
    }

    sealed class PendingRequest(NamedTensor[] inputs, int rows, long enqueuedAt)
    {
        public NamedTensor[] Inputs { get; } = inputs;
        public int Rows { get; } = rows;
        public long EnqueuedAt { get; } = enqueuedAt;
        public TaskCompletionSource<IReadOnlyList<NamedTensor>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<PendingRequest>? Node { get; set; }
        public CancellationTokenRegistration Cancellation { get; set; }
        /// <summary>Set under the model's lock when the caller cancels, so a request cancelled before it was queued is not queued.</summary>
        public bool Cancelled { get; set; }
    }
}
