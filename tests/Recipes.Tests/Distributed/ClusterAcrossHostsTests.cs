using System.Globalization;
using System.Text.RegularExpressions;
using Recipes.Runtime.Distributed.Cluster;

namespace Recipes.Tests.Distributed;

/// <summary>
/// The mnist cluster job across emulated hosts (<see cref="NetworkHosts"/>): the driver and each worker in a network
/// namespace of its own, on a bridge, every host link limited to 1 Gbit/s. Unlike 127.0.0.1, a link here can be cut
/// while the processes on both sides live on, which closes no connection: the others see only silence.
/// </summary>
[Collection(nameof(ClusterAcrossHostsTests))] // one at a time: each starts several processes on the machine's cores
public sealed class ClusterAcrossHostsTests : IClassFixture<ClusterTrainingTests.LocalRun>
{
    static readonly TimeSpan JobLimit = TimeSpan.FromSeconds(150);
    const int DriverPort = 2551;
    static readonly Dictionary<string, string> GoodSecret = new() { [ClusterSecret.EnvironmentVariable] = "correct-horse-battery-staple" };

    readonly ClusterTrainingTests.LocalRun _local;

    public ClusterAcrossHostsTests(ClusterTrainingTests.LocalRun local) => _local = local;

    void StartDriver(RecipeProcessGroup processes, NetworkHosts hosts, int workers, string output, int epochs, params string[] extra) =>
        processes.StartIn(hosts, 0, "driver", "mnist",
            ["--data", _local.Data, "--epochs", $"{epochs}", "--batch-size", "100", "--seed", "3", "--cache", Path.Combine(_local.Folder, "cache"),
             "--master", $"cluster[{workers}]", "--cluster-listen", $"{hosts.Address(0)}:{DriverPort}", "--output", output, .. extra], GoodSecret);

    static void StartWorker(RecipeProcessGroup processes, NetworkHosts hosts, int host, string name, IReadOnlyDictionary<string, string> environment) =>
        processes.StartIn(hosts, host, name, "mnist", ["worker", "--join", $"{hosts.Address(0)}:{DriverPort}", "--cluster-listen", $"{hosts.Address(host)}:0"], environment);

    [NetnsFact]
    public void Driver_and_two_workers_on_three_hosts_reach_the_weights_of_local_1_listen_only_where_told_and_refuse_a_wrong_secret()
    {
        string output = Path.Combine(_local.Folder, "hosts");
        using var hosts = new NetworkHosts(4, "1gbit"); // driver, two workers, an intruder
        using var processes = new RecipeProcessGroup();
        StartDriver(processes, hosts, 2, output, epochs: 2);
        Assert.True(processes.WaitForOutput("driver", "driver: listening at", JobLimit), processes.Output("driver"));
        // The driver's host has a loopback and its own address: the driver listens on the one it was told, nothing else.
        Assert.Equal([$"{hosts.Address(0)}:{DriverPort}"], hosts.ListeningAddresses(0));

        StartWorker(processes, hosts, 3, "intruder", new Dictionary<string, string> { [ClusterSecret.EnvironmentVariable] = "not-the-secret" });
        Assert.Equal(1, processes.WaitForExit("intruder", JobLimit));
        Assert.Contains("error: cluster: the driver refused this worker: wrong secret", processes.Output("intruder"));
        Assert.Matches($@"refused worker \S+ at akka\.tcp://recipes@{Regex.Escape(hosts.Address(3).ToString())}:\d+: wrong secret", processes.Output("driver"));

        StartWorker(processes, hosts, 1, "w0", GoodSecret);
        // The job waits for the second worker, so the first is surely still listening: its cluster node and its ring
        // listener, both on its own host's address only.
        Assert.True(processes.WaitForOutput("w0", "ring listener at", JobLimit), processes.Output("w0"));
        var listening = hosts.ListeningAddresses(1);
        Assert.Equal(2, listening.Count);
        Assert.All(listening, address => Assert.StartsWith($"{hosts.Address(1)}:", address));
        StartWorker(processes, hosts, 2, "w1", GoodSecret);

        Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver") + "\n---\n" + processes.Output("w0"));
        Assert.Contains("the job finished", processes.Output("driver"));
        Assert.Matches($@"worker \d \(\S+, {Regex.Escape(hosts.Address(2).ToString())}:\d+\) joined, ring at {Regex.Escape(hosts.Address(2).ToString())}:\d+", processes.Output("driver"));

        // Across the hosts the job trains as in one process (the sums differ only in float rounding order).
        float[] expected = ClusterTrainingTests.Weights(_local.Output);
        foreach (string worker in new[] { "0", "1" })
        {
            double difference = ClusterTrainingTests.MaxDifference(expected, ClusterTrainingTests.Weights(Path.Combine(output, "workers", worker)));
            Assert.True(difference < 2e-4, $"worker {worker}: max weight difference to local[1] {difference}");
        }
        ClusterJobResult.AssertDriverHoldsTheResult(output, "mnist", workers: 2);
        Assert.Equal(ClusterTrainingTests.Accuracy(_local.Output), ClusterTrainingTests.Accuracy(output), 3);
    }

    static TimeSpan LoggedAt(string log, string pattern)
    {
        var match = Regex.Match(log, @"driver (\d\d:\d\d:\d\d\.\d{3}): " + pattern);
        Assert.True(match.Success, $"no '{pattern}' in the driver's log:\n{log}");
        return TimeSpan.ParseExact(match.Groups[1].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
    }

    /// <summary>Prints a measured time (timings on shared CI cores are noisy: the bound asserted is generous).</summary>
    static void Report(string what, TimeSpan time) => Console.WriteLine($"{what}: {time.TotalSeconds:F1} s");
}
