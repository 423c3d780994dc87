using System.Net;
using System.Security.Cryptography;
using Recipes.RingPeer;
using Recipes.Runtime.Distributed.Ring;

namespace Recipes.Tests.Distributed;

/// <summary>The TCP ring allreduce: in-process rings (threads) for many lengths and sizes against a plain
/// sum, and rings of real processes on 127.0.0.1 for the lengths that matter, a killed and a hung peer.</summary>
public sealed class RingAllReduceTests
{
    static readonly TimeSpan ProcessLimit = TimeSpan.FromSeconds(90);

    /// <summary>Forms a ring of <paramref name="size"/> members on threads of this process and runs
    /// <paramref name="work"/> on each; returns each member's result.</summary>
    static T[] OnThreadRing<T>(int size, Func<RingAllReduce, T> work, RingSettings? settings = null, byte[]? keyOfRankOne = null)
    {
        var listeners = Enumerable.Range(0, size).Select(_ => new RingListener(IPAddress.Loopback)).ToArray();
        try
        {
            byte[] key = RandomNumberGenerator.GetBytes(RingAllReduce.KeyBytes);
            var endPoints = listeners.Select(l => l.EndPoint).ToArray();
            var members = Enumerable.Range(0, size).Select(rank => Task.Run(() =>
            {
                using var ring = RingAllReduce.Form(listeners[rank], rank, endPoints, generation: 4, rank == 1 && keyOfRankOne is not null ? keyOfRankOne : key, settings);
                return work(ring);
            })).ToArray();
            Assert.True(Task.WaitAll(members, TimeSpan.FromSeconds(60)), "the in-process ring did not finish within 60 s");
            return members.Select(m => m.Result).ToArray();
        }
        finally
        {
            foreach (var listener in listeners) listener.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_member_ends_with_the_sum_for_lengths_divisible_or_not_by_the_ring_size(int size)
    {
        int[] lengths = [0, 1, 2, 3, 5, 7, 1000, 65_537, 1_000_003];
        var results = OnThreadRing(size, ring =>
        {
            var sums = new List<float[]>();
            foreach (int length in lengths)
            {
                float[] values = RandomValues(length, seed: ring.Rank * 1000 + length);
                ring.SumInPlace(values);
                sums.Add(values);
            }
            return sums;
        }, new RingSettings { SegmentBytes = 4096 }); // small segments: many segments per chunk
        for (int l = 0; l < lengths.Length; l++)
        {
            float[] expected = new float[lengths[l]];
            for (int rank = 0; rank < size; rank++)
            {
                float[] contribution = RandomValues(lengths[l], seed: rank * 1000 + lengths[l]);
                for (int i = 0; i < expected.Length; i++) expected[i] += contribution[i];
            }
            for (int rank = 0; rank < size; rank++)
            {
                float[] actual = results[rank][l];
                Assert.Equal(lengths[l], actual.Length);
                int wrong = Enumerable.Range(0, actual.Length).FirstOrDefault(i => Math.Abs(actual[i] - expected[i]) > 1e-5f, -1);
                Assert.True(wrong < 0, $"size {size}, length {lengths[l]}, rank {rank}, element {wrong}: {(wrong < 0 ? 0 : actual[wrong])} != {(wrong < 0 ? 0 : expected[wrong])}");
                Assert.Equal(results[0][l], actual); // bit-identical on every rank, or the replicas would drift apart
            }
        }
    }

    [Fact]
    public void Half_precision_gives_every_member_identical_values_close_to_the_sum()
    {
        const int length = 10_007;
        var results = OnThreadRing(3, ring =>
        {
            float[] values = RandomValues(length, seed: ring.Rank);
            ring.SumInPlace(values);
            return values;
        }, new RingSettings { HalfPrecision = true, SegmentBytes = 2048 });
        for (int i = 0; i < length; i++)
        {
            float expected = RandomValues(length, 0)[i] + RandomValues(length, 1)[i] + RandomValues(length, 2)[i];
            Assert.True(Math.Abs(results[0][i] - expected) < 5e-3f, $"element {i}: {results[0][i]} vs {expected}");
            if (i > 100) break; // the closeness check needs only a sample; identity is checked on all below
        }
        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
    }

    [Fact]
    public void A_member_with_the_wrong_key_is_refused_and_the_error_names_it()
    {
        var settings = new RingSettings { ConnectTimeout = TimeSpan.FromSeconds(1) };
        var error = Assert.ThrowsAny<Exception>(() => OnThreadRing(2, ring => 0, settings, keyOfRankOne: new byte[RingAllReduce.KeyBytes]));
        var refused = Assert.IsType<RingPeerException>(error is AggregateException aggregate ? aggregate.Flatten().InnerExceptions[0] : error);
        Assert.Contains("rank", refused.Message);
        Assert.NotNull(refused.Peer);
    }

    static float[] RandomValues(int length, int seed)
    {
        var random = new Random(seed);
        float[] values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Separate_processes_sum_1_to_100M_elements_exactly(int size)
    {
        // Lengths below, equal to and not divisible by the ring size, a few segments, and 100M (400 MB).
        using var group = RingPeerGroup.Start(size, _ => ["verify", "1,2,3,5,1000,1000003,100000000"]);
        var outcomes = group.WaitForAll(ProcessLimit);
        foreach (var outcome in outcomes)
        {
            Assert.True(outcome.ExitCode == 0, $"rank {outcome.Rank} exited with {outcome.ExitCode}: {outcome.Output} {outcome.Errors}");
            foreach (int length in new[] { 1, 2, 3, 5, 1000, 1000003, 100000000 })
                Assert.Contains($"VERIFIED length={length} round=0 mismatches=0 first_wrong=-1", outcome.Output);
        }
    }

    [Fact]
    public void Separate_processes_agree_in_half_precision()
    {
        using var group = RingPeerGroup.Start(3, _ => ["verify", "1,4,1000001", "--fp16", "--repeat", "2"]);
        foreach (var outcome in group.WaitForAll(ProcessLimit))
        {
            Assert.True(outcome.ExitCode == 0, $"rank {outcome.Rank}: {outcome.Output} {outcome.Errors}");
            Assert.Contains("VERIFIED length=1000001 round=1 mismatches=0", outcome.Output);
        }
    }

    [Fact]
    public void When_a_peer_is_killed_the_survivors_fail_at_once_naming_it()
    {
        // An endless series of allreduces; kill rank 1 in the middle of it.
        using var group = RingPeerGroup.Start(3, _ => ["verify", "1000000", "--repeat", "1000000", "--io-timeout-ms", "60000"]);
        Assert.True(group.WaitForLine(1, "VERIFIED", ProcessLimit), "rank 1 never completed an allreduce");
        group.Kill(1);
        var outcomes = group.WaitForAll(TimeSpan.FromSeconds(30)); // far below the 60 s I/O timeout: death is seen, not waited out
        foreach (int survivor in new[] { 0, 2 })
        {
            var outcome = outcomes[survivor];
            Assert.True(outcome.ExitCode == 3, $"rank {survivor} exited with {outcome.ExitCode}: {outcome.Errors}");
            Assert.Contains("RING-ERROR", outcome.Errors);
        }
        // Rank 2 receives from rank 1 and names it. Rank 0 sends to rank 1 but may first see rank 2 close
        // its side (a survivor gives up the whole ring on the first failure), so it names one or the other.
        Assert.Matches(@"rank 1 at 127\.0\.0\.1:\d+ closed the connection|lost the connection from rank 1", outcomes[2].Errors);
        Assert.Matches(@"rank [12] at 127\.0\.0\.1:\d+", outcomes[0].Errors);
    }

    [Fact]
    public void A_hung_peer_ends_in_a_timeout_error_naming_it()
    {
        using var group = RingPeerGroup.Start(2, rank => rank == 1 ? ["hang"] : ["verify", "1000", "--io-timeout-ms", "1500"]);
        var outcome = group.WaitFor(0, TimeSpan.FromSeconds(30)); // disposing the group then kills the hung rank 1
        Assert.Equal(3, outcome.ExitCode);
        Assert.Matches(@"RING-ERROR ring: rank 1 at 127\.0\.0\.1:\d+ sent nothing for 1\.5 s \(hung\?\)", outcome.Errors);
    }
}
