namespace Recipes.Runtime.Distributed;

/// <summary>
/// One long-lived thread per model replica. Work is handed to all of them at once and the caller waits
/// for every replica to finish (a barrier per step, like a synchronous SGD iteration). Keeping each
/// replica on the same thread keeps libtorch's thread-local state and TorchSharp's dispose scopes
/// (both per thread) stable for the whole run.
/// </summary>
public sealed class ReplicaThreads : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim[] _start;
    readonly CountdownEvent _done;
    Action<int>? _work;
    readonly Exception?[] _errors;
    volatile bool _stopping;

    public ReplicaThreads(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _start = Enumerable.Range(0, count).Select(_ => new SemaphoreSlim(0)).ToArray();
        _errors = new Exception?[count];
        _done = new CountdownEvent(count);
        _threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            int replica = i;
            _threads[i] = new Thread(() => Loop(replica)) { IsBackground = true, Name = $"replica-{replica}" };
            _threads[i].Start();
        }
    }

    public int Count { get; }

    /// <summary>Runs <paramref name="work"/>(replica) on every replica's thread and waits for all of them.
    /// The first failure is rethrown after every replica has stopped.</summary>
    public void Run(Action<int> work)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        _work = work;
        Array.Clear(_errors);
        _done.Reset(Count);
        foreach (var start in _start) start.Release();
        _done.Wait();
        _work = null;
        foreach (var error in _errors)
            if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }

    void Loop(int replica)
    {
        while (true)
        {
            _start[replica].Wait();
            if (_stopping) return;
            try { _work!(replica); }
            catch (Exception error) { _errors[replica] = error; }
            finally { _done.Signal(); }
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        foreach (var start in _start) start.Release();
        foreach (var thread in _threads) thread.Join();
        foreach (var start in _start) start.Dispose();
        _done.Dispose();
    }
}
