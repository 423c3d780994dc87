using System.Net;
using System.Net.Sockets;

namespace Recipes.Runtime.Distributed.Ring;

/// <summary>
/// The listening socket through which a process's left-hand neighbour connects. It is opened once, before
/// the ring's membership is known (its address is what the process advertises), and reused every time
/// the ring is re-formed.
/// </summary>
public sealed class RingListener : IDisposable
{
    readonly Socket _socket;

    /// <summary>Binds to <paramref name="address"/> only (loopback by default); port 0 picks a free port.</summary>
    public RingListener(IPAddress? address = null, int port = 0)
    {
        address ??= IPAddress.Loopback;
        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _socket.Bind(new IPEndPoint(address, port));
        _socket.Listen(16);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The next incoming connection, or null if none arrives before <paramref name="deadline"/>.</summary>
    internal Socket? Accept(DateTime deadline, CancellationToken cancellation = default)
    {
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) return null;
            // In slices, so that a cancelled formation stops waiting within a tenth of a second.
            long microseconds = Math.Min((long)remaining.TotalMicroseconds, 100_000);
            if (_socket.Poll((int)microseconds, SelectMode.SelectRead)) return _socket.Accept();
        }
    }

    public void Dispose() => _socket.Dispose();
}
