using System.Net;

namespace Recipes.Runtime.Distributed.Ring;

/// <summary>How a ring connects and moves data.</summary>
public sealed record RingSettings
{
    /// <summary>How long to wait for the neighbours to connect when the ring is formed.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a neighbour may stay silent (or refuse our data) inside an allreduce before it is
    /// declared hung. A killed peer is noticed at once (the socket closes); only a hung one waits this long.</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After this long without a byte from the previous neighbour inside an allreduce, the ring says so
    /// (<see cref="RingAllReduce.Stalled"/>), and again each time as long again passes in silence, while it goes on
    /// waiting up to <see cref="IoTimeout"/>. Silence is not a verdict (a neighbour may be computing a slow step), but a
    /// cluster worker passes it to the driver, which then asks every member directly whether it is alive: a host cut
    /// off from the network answers nothing, and is replaced in seconds rather than after the whole timeout.</summary>
    public TimeSpan StallReportAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Bytes received and added at a time: the sender keeps streaming the next segments while the
    /// receiver adds this one, so sending and adding overlap without a second copy of the chunk.</summary>
    public int SegmentBytes { get; init; } = 512 * 1024;

    /// <summary>Send half-precision values (BigDL's FP16 gradient compression): half the bytes on the
    /// wire, about 3 significant digits per partial sum. Every rank still ends with identical values.</summary>
    public bool HalfPrecision { get; init; }
}

/// <summary>One member of a ring: its position and the address its ring listener accepts on.</summary>
public sealed record RingMember(int Rank, IPEndPoint EndPoint)
{
    public override string ToString() => $"rank {Rank} at {EndPoint}";
}

/// <summary>A neighbour on the ring failed: it closed the connection (died), stayed silent past the
/// timeout (hung), or presented the wrong ring key. The message names the peer.</summary>
public sealed class RingPeerException(RingMember? peer, string message, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The neighbour that failed, when it is known.</summary>
    public RingMember? Peer { get; } = peer;
}
