using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Recipes.Runtime.Distributed.Cluster;
using Spectre.Console;

namespace Recipes.Benchmarks;

/// <summary>
/// The mnist recipe's training samples/s with 2 worker processes in cluster mode (a driver and two workers on
/// 127.0.0.1, gradients summed over the TCP ring) next to local[2] in one process, on the same generated data,
/// global batch, seed and epochs. The figure is the median of the per-epoch samples/s the recipe prints, the
/// first epoch left out as warm-up (training steps only), with the epoch's length including validation, which the
/// workers share out too.
/// </summary>
static partial class ClusterTrainingBenchmark
{
    public static int Run(int epochs, int samples, int batchSize)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"cluster-benchmark-{Guid.NewGuid():N}");
        try
        {
            string[] job = ["--offline", "--cache", Path.Combine(folder, "cache"), "--max-samples", $"{samples}", "--epochs", $"{epochs}",
                "--batch-size", $"{batchSize}", "--seed", "1"];
            AnsiConsole.MarkupLine($"mnist training, {samples:N0} generated samples, global batch {batchSize}, median of epochs 2..{epochs}, {Environment.ProcessorCount} cores");
            var (local, localEpoch) = Medians(RunAll(folder, [("local", [.. job, "--master", "local[2]", "--output", Path.Combine(folder, "local")])], "local"));
            int port = FreePort();
            string join = $"127.0.0.1:{port}";
            var outputs = RunAll(folder,
            [
                ("driver", [.. job, "--master", "cluster[2]", "--cluster-listen", join, "--output", Path.Combine(folder, "cluster")]),
                ("worker-a", ["worker", "--join", join]),
                ("worker-b", ["worker", "--join", join]),
            ], "worker-a");
            var (cluster, clusterEpoch) = Medians(outputs);

            var table = new Table().AddColumn("configuration").AddColumn("training samples/s", c => c.RightAligned()).AddColumn("vs local[[2]]", c => c.RightAligned())
                .AddColumn("epoch incl. validation, s", c => c.RightAligned());
            table.AddRow("local[[2]], one process", local.ToString("N0", CultureInfo.InvariantCulture), "1.00", localEpoch.ToString("F2", CultureInfo.InvariantCulture));
            table.AddRow("cluster, 2 worker processes", cluster.ToString("N0", CultureInfo.InvariantCulture), (cluster / local).ToString("F2", CultureInfo.InvariantCulture),
                clusterEpoch.ToString("F2", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The same job across emulated hosts (<see cref="Recipes.Tests.Distributed.NetworkHosts"/>): the driver and two workers
    /// each in a network namespace of its own, every link at 1 Gbit/s, next to local[2] in one process; then again with
    /// one worker's link at 100 Mbit/s (a straggler: every synchronous step waits for its transfers). The hosts share
    /// this machine's cores, as the loopback run's processes do.
    /// </summary>
    public static int RunAcrossHosts(int epochs = 6, int samples = 20000, int batchSize = 512)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"cluster-hosts-benchmark-{Guid.NewGuid():N}");
        try
        {
            string[] job = ["--offline", "--cache", Path.Combine(folder, "cache"), "--max-samples", $"{samples}", "--epochs", $"{epochs}",
                "--batch-size", $"{batchSize}", "--seed", "1"];
            AnsiConsole.MarkupLine($"mnist training across emulated hosts, {samples:N0} generated samples, global batch {batchSize}, median of epochs 2..{epochs}, " +
                $"{Environment.ProcessorCount} cores shared by every host");
            var (local, localEpoch) = Medians(RunAll(folder, [("local", [.. job, "--master", "local[2]", "--output", Path.Combine(folder, "local")])], "local"));
            var table = new Table().AddColumn("configuration").AddColumn("training samples/s", c => c.RightAligned()).AddColumn("vs local[[2]]", c => c.RightAligned())
                .AddColumn("epoch incl. validation, s", c => c.RightAligned()).AddColumn("job, s", c => c.RightAligned());
            table.AddRow("local[[2]], one process", local.ToString("N0", CultureInfo.InvariantCulture), "1.00", localEpoch.ToString("F2", CultureInfo.InvariantCulture), "");
            var ringTimes = new List<string>();
            foreach (var (name, slowLink) in new[] { ("cluster, driver + 2 workers on 3 hosts at 1 Gbit/s", (string?)null), ("same, one worker's host at 100 Mbit/s (straggler)", "100mbit") })
            {
                using var hosts = new Recipes.Tests.Distributed.NetworkHosts(3, "1gbit");
                if (slowLink is not null) hosts.SetRate(2, slowLink);
                string join = $"{hosts.Address(0)}:2551";
                var clock = Stopwatch.StartNew();
                string driverOutput = "";
                var outputs = RunAll(folder,
                [
                    ("driver", [.. job, "--master", "cluster[2]", "--cluster-listen", join, "--output", Path.Combine(folder, $"cluster-{slowLink ?? "1gbit"}")]),
                    ("worker-a", ["worker", "--join", join, "--cluster-listen", $"{hosts.Address(1)}:0"]),
                    ("worker-b", ["worker", "--join", join, "--cluster-listen", $"{hosts.Address(2)}:0"]),
                ], "worker-a", name => hosts.Namespace(name switch { "driver" => 0, "worker-a" => 1, _ => 2 }), all => driverOutput = all["driver"]);
                double jobSeconds = clock.Elapsed.TotalSeconds;
                // The driver's account of the waiting: each worker's time in the ring's sums over the last epoch.
                var ringTime = Regex.Matches(driverOutput, @"epoch done; time in the ring's gradient sums[^:]*: (.*)$", RegexOptions.Multiline).LastOrDefault();
                if (ringTime is not null) ringTimes.Add($"{name}: last epoch, {ringTime.Groups[1].Value}");
                var (cluster, clusterEpoch) = Medians(outputs);
                table.AddRow(Markup.Escape(name), cluster.ToString("N0", CultureInfo.InvariantCulture), (cluster / local).ToString("F2", CultureInfo.InvariantCulture),
                    clusterEpoch.ToString("F2", CultureInfo.InvariantCulture), jobSeconds.ToString("F1", CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            foreach (string line in ringTimes) AnsiConsole.WriteLine(line);
            return 0;
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Runs the processes together until all exit (each inside the network namespace <paramref name="namespaceOf"/>
    /// names, if any); returns the output of <paramref name="measured"/>.</summary>
    static string RunAll(string folder, (string Name, string[] Arguments)[] runs, string measured, Func<string, string>? namespaceOf = null,
        Action<IReadOnlyDictionary<string, string>>? everyOutput = null)
    {
        Directory.CreateDirectory(folder);
        var started = new List<(string Name, Process Process, Task<string> Output, Task<string> Errors)>();
        // A throwaway secret for a job that lives only on loopback for the length of the benchmark.
        string secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        try
        {
            foreach (var (name, arguments) in runs)
            {
                var start = new ProcessStartInfo(namespaceOf is null ? "dotnet" : "ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                if (namespaceOf is not null)
                    foreach (string argument in new[] { "netns", "exec", namespaceOf(name), "dotnet" }) start.ArgumentList.Add(argument);
                start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mnist.dll"));
                foreach (string argument in arguments) start.ArgumentList.Add(argument);
                start.Environment[ClusterSecret.EnvironmentVariable] = secret;
                var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start mnist for {name}");
                started.Add((name, process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync()));
            }
            foreach (var run in started)
            {
                if (!run.Process.WaitForExit(TimeSpan.FromMinutes(10))) throw new TimeoutException($"mnist {run.Name} did not finish within 10 minutes");
                if (run.Process.ExitCode != 0)
                    throw new InvalidOperationException($"mnist {run.Name} exited with {run.Process.ExitCode}: {run.Output.Result}{run.Errors.Result}");
            }
            everyOutput?.Invoke(started.ToDictionary(r => r.Name, r => r.Output.Result));
            return started.Single(r => r.Name == measured).Output.Result;
        }
        finally
        {
            foreach (var run in started)
            {
                if (!run.Process.HasExited) run.Process.Kill(entireProcessTree: true);
                run.Process.Dispose();
            }
        }
    }

    /// <summary>The median training samples/s and the median epoch length (validation included) of the epochs after the first.</summary>
    static (double SamplesPerSecond, double EpochSeconds) Medians(string output)
    {
        var epochs = EpochLine().Matches(output).Skip(1).ToList();
        if (epochs.Count == 0) throw new InvalidOperationException($"no epoch after the first in the recipe's output:\n{output}");
        double Median(int group) => epochs.Select(m => double.Parse(m.Groups[group].Value.Replace(",", ""), CultureInfo.InvariantCulture)).Order().ElementAt(epochs.Count / 2);
        return (Median(1), Median(2));
    }

    static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^epoch \d+/\d+ .* ([\d,]+) samples/s\s+([\d.]+) s", RegexOptions.Multiline)]
    private static partial Regex EpochLine();
}
