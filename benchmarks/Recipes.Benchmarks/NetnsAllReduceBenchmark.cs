using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Recipes.RingPeer;
using Recipes.Tests.Distributed;
using Spectre.Console;

namespace Recipes.Benchmarks;

/// <summary>
/// The TCP ring allreduce between 2 and 3 emulated hosts (network namespaces on a bridge, each host's link limited by
/// tbf to 1 or 10 Gbit/s, see <see cref="NetworkHosts"/>), plain and FP16, next to the link's limit: a ring sends and
/// receives 2(N-1)/N of the buffer on every link, so at best it takes 2(N-1)/N x bytes / bandwidth (FP16 sends half the
/// bytes). Open MPI over the same links where mpirun can start ranks in the namespaces. Then the mnist cluster job across
/// hosts at 1 Gbit/s next to local[2], and with one host at 100 Mbit/s (a straggler). Needs root and iproute2.
/// </summary>
static partial class NetnsAllReduceBenchmark
{
    static readonly double[] Sizes = [10, 100];

    public static int Run(int repeat, bool training)
    {
        if (NetworkHosts.WhyUnavailable() is string why)
        {
            AnsiConsole.MarkupLine($"[red]cannot emulate hosts here:[/] {Markup.Escape(why)}");
            return 1;
        }
        AnsiConsole.MarkupLine($"Ring allreduce across emulated hosts (network namespaces, tbf-limited links), median of {repeat} after a warm-up, " +
            $"{Environment.ProcessorCount} cores shared by every host (noisy: other work on the machine)");
        var table = new Table().AddColumn("link").AddColumn("hosts").AddColumn("method");
        foreach (double mb in Sizes) table.AddColumn($"{mb:0} MB: ms", c => c.RightAligned()).AddColumn("x limit", c => c.RightAligned());
        bool mpiWorks = MpirunFound;
        string? mpiProblem = mpiWorks ? null : "mpirun not found (apt-get install openmpi-bin)";
        foreach (string rate in new[] { "1gbit", "10gbit" })
        {
            foreach (int hosts in new[] { 2, 3 })
            {
                double bitsPerSecond = NetworkHosts.BitsPerSecond(rate);
                double[] limit = Sizes.Select(mb => 2.0 * (hosts - 1) / hosts * mb * 1024 * 1024 * 8 / bitsPerSecond * 1000).ToArray();
                AddRow(table, rate, hosts, "link limit 2(N-1)/N x size / bandwidth", limit, limit);
                using var network = new NetworkHosts(hosts, rate);
                AddRow(table, rate, hosts, "TCP ring", RingMedians(network, repeat, halfPrecision: false), limit);
                AddRow(table, rate, hosts, "TCP ring FP16 (limit: half the bytes)", RingMedians(network, repeat, halfPrecision: true), limit.Select(l => l / 2).ToArray());
                if (mpiWorks)
                {
                    try
                    {
                        AddRow(table, rate, hosts, "Open MPI (btl tcp over the hosts' links)", MpiMedians(network, repeat), limit);
                    }
                    catch (Exception error) when (error is InvalidOperationException or TimeoutException or KeyNotFoundException)
                    {
                        mpiWorks = false;
                        mpiProblem = error.Message.Split('\n')[0];
                    }
                }
            }
        }
        AnsiConsole.Write(table);
        if (mpiProblem is not null) AnsiConsole.MarkupLine($"(Open MPI rows left out: {Markup.Escape(mpiProblem)})");
        return training ? ClusterAcrossHosts() : 0;
    }

    static void AddRow(Table table, string rate, int hosts, string method, double[] milliseconds, double[] limit)
    {
        var cells = new List<string> { rate, $"{hosts}", method };
        for (int s = 0; s < Sizes.Length; s++)
        {
            cells.Add(milliseconds[s].ToString("F1", CultureInfo.InvariantCulture));
            cells.Add((milliseconds[s] / limit[s]).ToString("F2", CultureInfo.InvariantCulture));
        }
        table.AddRow(cells.ToArray());
    }

    static double[] RingMedians(NetworkHosts network, int repeat, bool halfPrecision)
    {
        // A small first size warms the JIT (50 calls), so the timed sizes need only a few untimed calls each.
        var arguments = new List<string> { "benchmark", "1," + string.Join(',', Sizes.Select(s => s.ToString(CultureInfo.InvariantCulture))), "--repeat", $"{repeat}" };
        if (halfPrecision) arguments.Add("--fp16");
        using var group = RingPeerGroup.Start(network.Count, _ => arguments, hostOf: rank => (network.Namespace(rank), network.Address(rank).ToString()));
        var outcomes = group.WaitForAll(TimeSpan.FromMinutes(5));
        var failed = outcomes.FirstOrDefault(o => o.ExitCode != 0);
        if (failed is not null) throw new InvalidOperationException($"ring-peer rank {failed.Rank} exited with {failed.ExitCode}: {failed.Errors}");
        var medians = AllReduceLine().Matches(outcomes[0].Output).ToDictionary(
            m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        return Sizes.Select(s => medians[s]).ToArray();
    }

    static bool MpirunFound => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder, "mpirun")));

    /// <summary>Open MPI's allreduce with each rank in its own namespace: mpirun's MPMD form starts rank r as
    /// <c>ip netns exec host-r dotnet ... mpi-rank</c>; ranks would use shared memory between processes it believes share a
    /// machine, so only the TCP transport is allowed, over the hosts' eth0.</summary>
    /// <remarks>Open MPI 4 with PMIx; the MCA parameters may differ in other versions.</remarks>
    static double[] MpiMedians(NetworkHosts network, int repeat)
    {
        // mpirun runs in host 0: its PMIx server, which every rank must reach, then listens on that host's eth0 (remote
        // connections allowed) rather than on a loopback the other namespaces cannot see.
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["PMIX_MCA_ptl_tcp_remote_connections"] = "1";
        start.Environment["PMIX_MCA_ptl_tcp_if_include"] = "eth0";
        var arguments = new List<string> { "netns", "exec", network.Namespace(0), "mpirun",
            "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "eth0", "--mca", "oob_tcp_if_include", "eth0" };
        for (int rank = 0; rank < network.Count; rank++)
        {
            if (rank > 0) arguments.Add(":");
            arguments.AddRange(["-np", "1", "ip", "netns", "exec", network.Namespace(rank), "dotnet",
                Path.Combine(AppContext.BaseDirectory, "Recipes.Benchmarks.dll"), "mpi-rank", "--repeat", $"{repeat}", "--sizes", "1,10,100"]);
        }
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var mpirun = Process.Start(start) ?? throw new InvalidOperationException("could not start mpirun");
        var output = mpirun.StandardOutput.ReadToEndAsync();
        var errors = mpirun.StandardError.ReadToEndAsync();
        if (!mpirun.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            mpirun.Kill(entireProcessTree: true);
            throw new TimeoutException("mpirun across the namespaces did not finish within 3 minutes");
        }
        if (mpirun.ExitCode != 0) throw new InvalidOperationException($"mpirun across the namespaces exited with {mpirun.ExitCode}: {errors.Result}{output.Result}");
        var medians = AllReduceLine().Matches(output.Result).ToDictionary(
            m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        return Sizes.Select(s => medians[s]).ToArray();
    }

    [GeneratedRegex(@"ALLREDUCE megabytes=([\d.]+) median_ms=([\d.]+)")]
    private static partial Regex AllReduceLine();

    static int ClusterAcrossHosts() => ClusterTrainingBenchmark.RunAcrossHosts();

    /// <summary>Only the mnist job across hosts (beside local[2], and with a straggler).</summary>
    public static int RunTraining()
    {
        if (NetworkHosts.WhyUnavailable() is string why)
        {
            AnsiConsole.MarkupLine($"[red]cannot emulate hosts here:[/] {Markup.Escape(why)}");
            return 1;
        }
        return ClusterAcrossHosts();
    }
}
