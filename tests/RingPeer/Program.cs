// A ring member in its own process. It binds a ring listener on 127.0.0.1, prints "LISTENING <port>",
// reads "RING <rank> <generation> <key-hex> <endpoint>..." from standard input, forms the ring and runs
// one of:
//   verify <length>[,<length>...] [--repeat N]  allreduce known integers and count wrong elements
//   benchmark <megabytes>[,...] [--repeat N]    time allreduces; rank 0 prints the median per size
//   hang                                        join the ring, then never send (a hung peer)
// Options: --fp16, --segment-kb K, --io-timeout-ms T, --bind ADDRESS (default 127.0.0.1), --warmup N (benchmark: untimed
// calls before the first size, 50; later sizes, already compiled, get at most 3). A ring failure prints "RING-ERROR <message>" on
// standard error and exits with 3.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Recipes.Runtime.Distributed.Ring;

var settings = new RingSettings();
int repeat = 1, warmup = 50;
var bind = IPAddress.Loopback;
var positional = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--fp16": settings = settings with { HalfPrecision = true }; break;
        case "--segment-kb": settings = settings with { SegmentBytes = int.Parse(args[++i], CultureInfo.InvariantCulture) * 1024 }; break;
        case "--io-timeout-ms": settings = settings with { IoTimeout = TimeSpan.FromMilliseconds(int.Parse(args[++i], CultureInfo.InvariantCulture)) }; break;
        case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--bind": bind = IPAddress.Parse(args[++i]); break;
        default: positional.Add(args[i]); break;
    }
}
if (positional.Count == 0 || positional[0] is not ("verify" or "benchmark" or "hang"))
{
    Console.Error.WriteLine("usage: ring-peer verify|benchmark|hang [sizes] [--repeat N] [--fp16] [--segment-kb K] [--io-timeout-ms T]");
    return 1;
}

using var listener = new RingListener(bind);
Console.WriteLine($"LISTENING {listener.EndPoint.Port}");
string[] ring = (Console.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
if (ring.Length < 5 || ring[0] != "RING")
{
    Console.Error.WriteLine("expected 'RING <rank> <generation> <key-hex> <endpoint>...' on standard input");
    return 1;
}
int rank = int.Parse(ring[1], CultureInfo.InvariantCulture);
long generation = long.Parse(ring[2], CultureInfo.InvariantCulture);
byte[] key = Convert.FromHexString(ring[3]);
var endPoints = ring.Skip(4).Select(IPEndPoint.Parse).ToArray();

try
{
    using var allReduce = RingAllReduce.Form(listener, rank, endPoints, generation, key, settings);
    Console.WriteLine($"FORMED rank={rank} size={allReduce.Size}");
    switch (positional[0])
    {
        case "verify":
            foreach (int length in positional[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
                for (int round = 0; round < repeat; round++)
                    Console.WriteLine(Verify(allReduce, length, round));
            break;
        case "benchmark":
            foreach (var (megabytes, index) in positional[1].Split(',').Select((s, index) => (double.Parse(s, CultureInfo.InvariantCulture), index)))
                Console.WriteLine(Benchmark(allReduce, megabytes, repeat, index == 0 ? warmup : Math.Min(warmup, 3)));
            break;
        case "hang":
            Thread.Sleep(Timeout.Infinite);
            break;
    }
    return 0;
}
catch (RingPeerException error)
{
    Console.Error.WriteLine($"RING-ERROR {error.Message}");
    return 3;
}

// Small integers, so that every partial sum is exact even in half precision and the expected result is
// known in closed form: rank r holds (i % 7) + 3r - 1 + round at element i.
static string Verify(RingAllReduce ring, int length, int round)
{
    float[] values = new float[length];
    for (int i = 0; i < length; i++) values[i] = i % 7 + 3 * ring.Rank - 1 + round;
    var clock = Stopwatch.StartNew();
    ring.SumInPlace(values);
    double milliseconds = clock.Elapsed.TotalMilliseconds;
    int size = ring.Size;
    float rankTerms = 3f * size * (size - 1) / 2 - size + size * round;
    long mismatches = 0;
    int firstWrong = -1;
    for (int i = 0; i < length; i++)
    {
        if (values[i] == size * (i % 7) + rankTerms) continue;
        mismatches++;
        if (firstWrong < 0) firstWrong = i;
    }
    return $"VERIFIED length={length} round={round} mismatches={mismatches} first_wrong={firstWrong} ms={milliseconds.ToString("F3", CultureInfo.InvariantCulture)}";
}

static string Benchmark(RingAllReduce ring, double megabytes, int repeat, int warmup)
{
    float[] values = new float[(int)(megabytes * 1024 * 1024 / sizeof(float))];
    for (int i = 0; i < values.Length; i++) values[i] = i % 1000 * 1e-3f;
    // Warm-up: first-touch pages, TCP windows, and the JIT: methods start in quickly compiled (tier-0) code and
    // are recompiled optimised after 30 calls (and a pause), which for the vectorised FP16 conversions is a 10x difference.
    // Every rank runs the same count, since each call is a collective.
    // The pauses give the runtime the time it waits (100 ms) before recompiling a method called 30 times.
    for (int call = 0; call < warmup; call++)
    {
        ring.SumInPlace(values);
        Thread.Sleep(10);
    }
    var times = new double[repeat];
    for (int r = 0; r < repeat; r++)
    {
        var clock = Stopwatch.StartNew();
        ring.SumInPlace(values);
        times[r] = clock.Elapsed.TotalMilliseconds;
    }
    Array.Sort(times);
    return string.Create(CultureInfo.InvariantCulture,
        $"ALLREDUCE megabytes={megabytes} median_ms={times[repeat / 2]:F3} min_ms={times[0]:F3}");
}
