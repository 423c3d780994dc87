using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Recipes.Runtime.Distributed.Ring;

/// <summary>
/// Allreduce over a TCP ring of processes (rank r sends to r+1 and receives from r-1): a reduce-scatter
/// leaves each rank with the full sum of one slice of the buffer, then an all-gather passes the finished
/// slices around until every rank has all of them. Each rank sends and receives 2(N-1)/N of the buffer
/// whatever N is, which is why rings carry data-parallel gradients. Within a step the outgoing slice is
/// sent on a second thread while the incoming one is received and added segment by segment, so sending
/// and adding overlap; the only buffers are one segment (and, for half precision, one segment of halves).
/// A neighbour that dies is seen at once (its socket closes); a hung one after <see cref="RingSettings.IoTimeout"/>;
/// both end in a <see cref="RingPeerException"/> naming it, after which this ring is unusable and must be formed again.
/// </summary>
public sealed class RingAllReduce : IDisposable
{
    const uint HelloMagic = 0x52494E47; // "RING"
    public const int KeyBytes = 32;
    const int HelloBytes = 4 + 8 + 4 + KeyBytes;

    readonly Socket? _toNext;
    readonly Socket? _fromPrevious;
    readonly RingSettings _settings;
    readonly byte[] _receiveSegment;
    readonly Half[] _sendHalves;
    readonly float[] _receiveWidened;
    Exception? _firstFailure;
    bool _broken;

    RingAllReduce(int rank, IReadOnlyList<RingMember> members, long generation, Socket? toNext, Socket? fromPrevious, RingSettings settings)
    {
        Rank = rank;
        Members = members;
        Generation = generation;
        _toNext = toNext;
        _fromPrevious = fromPrevious;
        _settings = settings;
        int segment = Math.Max(64, settings.SegmentBytes / 4 * 4);
        _receiveSegment = members.Count > 1 ? new byte[segment] : [];
        _sendHalves = members.Count > 1 && settings.HalfPrecision ? new Half[segment / 2] : [];
        _receiveWidened = members.Count > 1 && settings.HalfPrecision ? new float[segment / 4] : [];
    }

    public int Rank { get; }
    public int Size => Members.Count;
    public long Generation { get; }
    public IReadOnlyList<RingMember> Members { get; }
    public RingMember Next => Members[(Rank + 1) % Size];
    public RingMember Previous => Members[(Rank + Size - 1) % Size];

    /// <summary>Called (on the thread inside <see cref="SumInPlace"/>) each time the previous neighbour has sent nothing
    /// for another <see cref="RingSettings.StallReportAfter"/>, with the total silence so far.</summary>
    public Action<RingMember, TimeSpan>? Stalled { get; set; }

    /// <summary>
    /// Connects this process into the ring of <paramref name="endPoints"/> (rank i listens at endPoints[i]):
    /// it connects to rank+1 and accepts rank-1 on <paramref name="listener"/>. Connections that present a
    /// different generation or key (a stale ring, a stranger) are refused and the wait goes on.
    /// </summary>
    public static RingAllReduce Form(RingListener listener, int rank, IReadOnlyList<IPEndPoint> endPoints, long generation,
        ReadOnlySpan<byte> key, RingSettings? settings = null) => Form(listener, rank, endPoints, generation, key, settings, CancellationToken.None);

    /// <summary>As above; <paramref name="cancellation"/> abandons the formation (a member was found lost meanwhile)
    /// with an <see cref="OperationCanceledException"/>.</summary>
    public static RingAllReduce Form(RingListener listener, int rank, IReadOnlyList<IPEndPoint> endPoints, long generation,
        ReadOnlySpan<byte> key, RingSettings? settings, CancellationToken cancellation)
    {
        settings ??= new RingSettings();
        if (key.Length != KeyBytes) throw new ArgumentException($"the ring key must be {KeyBytes} bytes, not {key.Length}");
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, endPoints.Count);
        var members = endPoints.Select((endPoint, i) => new RingMember(i, endPoint)).ToArray();
        if (members.Length == 1) return new RingAllReduce(rank, members, generation, null, null, settings);

        var next = members[(rank + 1) % members.Length];
        var previous = members[(rank + members.Length - 1) % members.Length];
        byte[] keyCopy = key.ToArray();
        var deadline = DateTime.UtcNow + settings.ConnectTimeout;
        var connecting = Task.Run(() => ConnectToNext(next, rank, generation, keyCopy, deadline, settings, cancellation));
        Socket? fromPrevious = null;
        try
        {
            fromPrevious = AcceptPrevious(listener, previous, generation, keyCopy, deadline, settings, cancellation);
            var toNext = connecting.GetAwaiter().GetResult();
            return new RingAllReduce(rank, members, generation, toNext, fromPrevious, settings);
        }
        catch
        {
            fromPrevious?.Dispose();
            try { connecting.GetAwaiter().GetResult().Dispose(); } catch (Exception) { /* the first failure is the one reported */ }
            throw;
        }
    }

    static Socket ConnectToNext(RingMember next, int rank, long generation, byte[] key, DateTime deadline, RingSettings settings, CancellationToken cancellation)
    {
        byte[] hello = new byte[HelloBytes];
        BinaryPrimitives.WriteUInt32BigEndian(hello, HelloMagic);
        BinaryPrimitives.WriteInt64BigEndian(hello.AsSpan(4), generation);
        BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(12), rank);
        key.CopyTo(hello, 16);
        string lastProblem = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            cancellation.ThrowIfCancellationRequested();
            var socket = NewDataSocket(next.EndPoint.AddressFamily, settings);
            try
            {
                // Bounded: a blocking connect to a host cut off from the network waits for the kernel's SYN retries (minutes).
                using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
                {
                    attempt.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, Math.Min(3000, (deadline - DateTime.UtcNow).TotalMilliseconds))));
                    try
                    {
                        socket.ConnectAsync(next.EndPoint, attempt.Token).AsTask().GetAwaiter().GetResult();
                    }
                    catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                    {
                        lastProblem = "no answer to the connection attempt";
                        socket.Dispose();
                        continue;
                    }
                }
                socket.Send(hello);
                socket.ReceiveTimeout = (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds);
                byte[] accepted = new byte[1];
                if (socket.Receive(accepted) == 1 && accepted[0] == 1)
                {
                    socket.ReceiveTimeout = TimeoutMilliseconds(settings.IoTimeout);
                    return socket;
                }
                lastProblem = "it refused the ring key or generation";
            }
            catch (SocketException error)
            {
                lastProblem = error.SocketErrorCode.ToString();
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                throw;
            }
            socket.Dispose();
            Thread.Sleep(50);
        }
        throw new RingPeerException(next, $"ring: could not connect to {next} within {settings.ConnectTimeout.TotalSeconds:0.#} s ({lastProblem})");
    }

    static Socket AcceptPrevious(RingListener listener, RingMember previous, long generation, byte[] key, DateTime deadline, RingSettings settings,
        CancellationToken cancellation)
    {
        byte[] hello = new byte[HelloBytes];
        while (true)
        {
            var socket = listener.Accept(deadline, cancellation)
                ?? throw new RingPeerException(previous, $"ring: {previous} did not connect within {settings.ConnectTimeout.TotalSeconds:0.#} s");
            try
            {
                ConfigureDataSocket(socket, settings);
                socket.ReceiveTimeout = (int)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 1, 5000);
                ReceiveExactly(socket, hello, previous);
                bool valid = BinaryPrimitives.ReadUInt32BigEndian(hello) == HelloMagic
                    && BinaryPrimitives.ReadInt64BigEndian(hello.AsSpan(4)) == generation
                    && BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(12)) == previous.Rank
                    && CryptographicOperations.FixedTimeEquals(hello.AsSpan(16, KeyBytes), key);
                if (valid)
                {
                    socket.Send([1]);
                    socket.ReceiveTimeout = TimeoutMilliseconds(settings.IoTimeout);
                    return socket;
                }
            }
            catch (Exception error) when (error is SocketException or RingPeerException)
            {
                // A half-open or foreign connection: drop it and keep waiting for the real neighbour.
            }
            socket.Dispose();
        }
    }

    static Socket NewDataSocket(AddressFamily family, RingSettings settings)
    {
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        ConfigureDataSocket(socket, settings);
        return socket;
    }

    static void ConfigureDataSocket(Socket socket, RingSettings settings)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = 4 << 20;
        socket.ReceiveBufferSize = 4 << 20;
        socket.SendTimeout = TimeoutMilliseconds(settings.IoTimeout);
    }

    static int TimeoutMilliseconds(TimeSpan timeout) => (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise sum over all ranks.
    /// Every rank must call it with the same length.</summary>
    public void SumInPlace(Memory<float> values)
    {
        ObjectDisposedException.ThrowIf(_broken && _firstFailure is null, this);
        if (_firstFailure is not null)
            throw new InvalidOperationException($"ring generation {Generation} already failed ({_firstFailure.Message}); form a new one");
        if (Size == 1) return;
        int size = Size;
        try
        {
            // Reduce-scatter: after step s, rank r holds the sum over s+2 ranks of chunk (r-s-1).
            for (int step = 0; step < size - 1; step++)
                Exchange(Chunk(values, Rank - step), Chunk(values, Rank - step - 1), add: true);
            // Rank r now owns the finished chunk r+1. With half precision, round it the way the others will
            // receive it, so every rank ends with bit-identical values.
            if (_settings.HalfPrecision) RoundThroughHalf(Chunk(values, Rank + 1).Span);
            for (int step = 0; step < size - 1; step++)
                Exchange(Chunk(values, Rank + 1 - step), Chunk(values, Rank - step), add: false);
        }
        catch (Exception error) when (error is not RingPeerException)
        {
            throw Fail(error);
        }
    }

    /// <summary>Chunk c of the buffer (c taken modulo the ring size); chunks differ in length by at most one.</summary>
    Memory<float> Chunk(Memory<float> values, int chunk)
    {
        int size = Size;
        chunk = ((chunk % size) + size) % size;
        long start = (long)values.Length * chunk / size, end = (long)values.Length * (chunk + 1) / size;
        return values.Slice((int)start, (int)(end - start));
    }

    void Exchange(Memory<float> outgoing, Memory<float> incoming, bool add)
    {
        var sending = Task.Factory.StartNew(() => Send(outgoing), CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default);
        try
        {
            Receive(incoming, add);
        }
        catch (Exception error)
        {
            Fail(error);
        }
        try
        {
            sending.GetAwaiter().GetResult();
        }
        catch (Exception error)
        {
            Fail(error);
        }
        if (_firstFailure is not null) throw _firstFailure;
    }

    void Send(Memory<float> outgoing)
    {
        try
        {
            int segmentFloats = _receiveSegment.Length / 4;
            if (_settings.HalfPrecision) segmentFloats = _sendHalves.Length;
            for (int offset = 0; offset < outgoing.Length; offset += segmentFloats)
            {
                var segment = outgoing.Span.Slice(offset, Math.Min(segmentFloats, outgoing.Length - offset));
                if (_settings.HalfPrecision)
                {
                    var halves = _sendHalves.AsSpan(0, segment.Length);
                    TensorPrimitives.ConvertToHalf(segment, halves); // vectorised (F16C where the CPU has it)
                    SendAll(MemoryMarshal.AsBytes(halves));
                }
                else
                {
                    SendAll(MemoryMarshal.AsBytes(segment));
                }
            }
        }
        catch (Exception error)
        {
            throw Fail(error);
        }
    }

    void SendAll(ReadOnlySpan<byte> bytes)
    {
        var next = Next;
        try
        {
            while (!bytes.IsEmpty) bytes = bytes[_toNext!.Send(bytes)..];
        }
        catch (SocketException error) when (IsTimeout(error))
        {
            throw new RingPeerException(next, $"ring: {next} accepted no data for {_settings.IoTimeout.TotalSeconds:0.#} s (hung?)", error);
        }
        catch (SocketException error)
        {
            throw new RingPeerException(next, $"ring: lost the connection to {next} ({error.SocketErrorCode}; did it die?)", error);
        }
    }

    void Receive(Memory<float> incoming, bool add)
    {
        int elementBytes = _settings.HalfPrecision ? 2 : 4;
        int segmentElements = _receiveSegment.Length / 4;
        for (int offset = 0; offset < incoming.Length; offset += segmentElements)
        {
            var target = incoming.Span.Slice(offset, Math.Min(segmentElements, incoming.Length - offset));
            if (!add && !_settings.HalfPrecision)
            {
                ReceiveFromPrevious(MemoryMarshal.AsBytes(target));
                continue;
            }
            var bytes = _receiveSegment.AsSpan(0, target.Length * elementBytes);
            ReceiveFromPrevious(bytes);
            if (_settings.HalfPrecision)
            {
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                if (add)
                {
                    var widened = _receiveWidened.AsSpan(0, target.Length);
                    TensorPrimitives.ConvertToSingle(halves, widened);
                    AddInto(target, widened);
                }
                else
                {
                    TensorPrimitives.ConvertToSingle(halves, target);
                }
            }
            else
            {
                AddInto(target, MemoryMarshal.Cast<byte, float>(bytes));
            }
        }
    }

    /// <summary>Like <see cref="ReceiveExactly"/>, but a silence longer than <see cref="RingSettings.StallReportAfter"/> is
    /// reported to <see cref="Stalled"/> (repeatedly while it lasts) before it becomes a failure at the I/O timeout.</summary>
    void ReceiveFromPrevious(Span<byte> bytes)
    {
        var socket = _fromPrevious!;
        var from = Previous;
        if (Stalled is null)
        {
            ReceiveExactly(socket, bytes, from, _settings.IoTimeout);
            return;
        }
        long slice = (long)Math.Clamp(_settings.StallReportAfter.TotalMicroseconds, 1000, int.MaxValue);
        while (!bytes.IsEmpty)
        {
            long silentSince = System.Diagnostics.Stopwatch.GetTimestamp();
            while (!socket.Poll((int)slice, SelectMode.SelectRead)) // true also when the peer closed: Receive then says so
            {
                var silence = System.Diagnostics.Stopwatch.GetElapsedTime(silentSince);
                if (silence >= _settings.IoTimeout)
                    throw new RingPeerException(from, $"ring: {from} sent nothing for {_settings.IoTimeout.TotalSeconds:0.#} s (hung?)");
                Stalled?.Invoke(from, silence);
            }
            int received = ReceiveSome(socket, bytes, from, _settings.IoTimeout);
            bytes = bytes[received..];
        }
    }

    static int ReceiveSome(Socket socket, Span<byte> bytes, RingMember from, TimeSpan timeout)
    {
        try
        {
            int received = socket.Receive(bytes);
            if (received == 0) throw new RingPeerException(from, $"ring: {from} closed the connection (did it die?)");
            return received;
        }
        catch (SocketException error) when (IsTimeout(error))
        {
            throw new RingPeerException(from, $"ring: {from} sent nothing for {timeout.TotalSeconds:0.#} s (hung?)", error);
        }
        catch (SocketException error)
        {
            throw new RingPeerException(from, $"ring: lost the connection from {from} ({error.SocketErrorCode}; did it die?)", error);
        }
    }

    static void ReceiveExactly(Socket socket, Span<byte> bytes, RingMember from, TimeSpan? timeout = null)
    {
        try
        {
            while (!bytes.IsEmpty)
            {
                int received = socket.Receive(bytes);
                if (received == 0) throw new RingPeerException(from, $"ring: {from} closed the connection (did it die?)");
                bytes = bytes[received..];
            }
        }
        catch (SocketException error) when (IsTimeout(error))
        {
            string silence = timeout is TimeSpan t ? $" for {t.TotalSeconds:0.#} s" : "";
            throw new RingPeerException(from, $"ring: {from} sent nothing{silence} (hung?)", error);
        }
        catch (SocketException error)
        {
            throw new RingPeerException(from, $"ring: lost the connection from {from} ({error.SocketErrorCode}; did it die?)", error);
        }
    }

    static bool IsTimeout(SocketException error) => error.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock;

    /// <summary>Records the first failure and closes both sockets, so the other direction's blocked call
    /// ends now rather than at its timeout. Later failures are consequences of the first.</summary>
    Exception Fail(Exception error)
    {
        if (error is ObjectDisposedException && _firstFailure is not null) return _firstFailure;
        var failure = error as RingPeerException ?? new RingPeerException(null, $"ring: {error.Message}", error);
        if (Interlocked.CompareExchange(ref _firstFailure, failure, null) is null)
        {
            _broken = true;
            _toNext?.Dispose();
            _fromPrevious?.Dispose();
        }
        return _firstFailure!;
    }

    internal static void AddInto(Span<float> target, ReadOnlySpan<float> source)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && target.Length >= Vector<float>.Count)
        {
            var targetVectors = MemoryMarshal.Cast<float, Vector<float>>(target);
            var sourceVectors = MemoryMarshal.Cast<float, Vector<float>>(source);
            for (int v = 0; v < targetVectors.Length; v++) targetVectors[v] += sourceVectors[v];
            i = targetVectors.Length * Vector<float>.Count;
        }
        for (; i < target.Length; i++) target[i] += source[i];
    }

    /// <summary>Rounds in place to the nearest half-precision value, a segment at a time through the send buffer.</summary>
    void RoundThroughHalf(Span<float> values)
    {
        for (int offset = 0; offset < values.Length; offset += _sendHalves.Length)
        {
            var chunk = values.Slice(offset, Math.Min(_sendHalves.Length, values.Length - offset));
            var halves = _sendHalves.AsSpan(0, chunk.Length);
            TensorPrimitives.ConvertToHalf(chunk, halves);
            TensorPrimitives.ConvertToSingle(halves, chunk);
        }
    }

    public void Dispose()
    {
        _broken = true;
        _toNext?.Dispose();
        _fromPrevious?.Dispose();
    }
}
