using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Recipes.Mnist;
using Recipes.Runtime.Distributed.Cluster;
using Recipes.Runtime.Models;
using Recipes.Runtime.Training;
using Recipes.Tests.Recipes;

namespace Recipes.Tests.Distributed;

/// <summary>The mnist recipe in cluster mode: a driver and worker processes on 127.0.0.1, against the same
/// recipe run as local[1] in one process (shared by the tests through <see cref="LocalRun"/>).</summary>
public sealed class ClusterTrainingTests : IClassFixture<ClusterTrainingTests.LocalRun>
{
    static readonly TimeSpan JobLimit = TimeSpan.FromSeconds(150);
    const string Secret = "correct-horse-battery-staple";

    /// <summary>Small IDX files and the local[1] run every cluster run is compared with: 2 epochs of 12 steps.</summary>
    public sealed class LocalRun : IDisposable
    {
        public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"cluster-tests-{Guid.NewGuid():N}");
        public string Data => Path.Combine(Folder, "idx");
        public string Output => Path.Combine(Folder, "local");

        public LocalRun()
        {
            Directory.CreateDirectory(Data);
            IdxWriter.WriteDataset(GeneratedDigits.Create(1200, seed: 5), Path.Combine(Data, "train-images-idx3-ubyte"), Path.Combine(Data, "train-labels-idx1-ubyte"), gzip: false);
            IdxWriter.WriteDataset(GeneratedDigits.Create(400, seed: 6), Path.Combine(Data, "t10k-images-idx3-ubyte"), Path.Combine(Data, "t10k-labels-idx1-ubyte"), gzip: false);
            var run = RecipeProcess.Run("mnist", [.. JobOptions(this), "--master", "local[1]", "--output", Output], JobLimit);
            Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        }

        public void Dispose()
        {
            if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        }
    }

    readonly LocalRun _local;

    public ClusterTrainingTests(LocalRun local) => _local = local;

    internal static string[] JobOptions(LocalRun run) =>
        ["--data", run.Data, "--epochs", "2", "--batch-size", "100", "--seed", "3", "--cache", Path.Combine(run.Folder, "cache")];

    internal static float[] Weights(string output)
    {
        using var model = SavedModel<MnistModelDescription>.Load(Path.Combine(output, "model.bin"), description => new LeNet5(description.ClassCount)).Model;
        return model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
    }

    internal static double Accuracy(string output)
    {
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        return metrics.RootElement.GetProperty("metrics").GetProperty("test_accuracy").GetDouble();
    }

    internal static double MaxDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }

    static readonly Dictionary<string, string> GoodSecret = new() { [ClusterSecret.EnvironmentVariable] = Secret };

    void StartDriver(RecipeProcessGroup processes, int workers, int port, string output, params string[] extra) =>
        processes.Start("driver", "mnist", [.. JobOptions(_local), "--master", $"cluster[{workers}]", "--cluster-listen", $"127.0.0.1:{port}", "--output", output, .. extra], GoodSecret);

    [Fact]
    public void Two_worker_processes_reach_the_weights_of_local_1_and_a_worker_with_the_wrong_secret_is_refused()
    {
        int port = RecipeProcessGroup.FreePort();
        string output = Path.Combine(_local.Folder, "two-workers");
        using var processes = new RecipeProcessGroup();
        StartDriver(processes, 2, port, output);

        processes.Start("intruder", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], new Dictionary<string, string> { [ClusterSecret.EnvironmentVariable] = "not-the-secret" });
        Assert.Equal(1, processes.WaitForExit("intruder", JobLimit));
        Assert.Contains("error: cluster: the driver refused this worker: wrong secret", processes.Output("intruder"));

        processes.Start("worker-a", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        processes.Start("worker-b", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver"));
        string driverLog = processes.Output("driver");
        Assert.Matches(@"refused worker \S+ at akka\.tcp://recipes@127\.0\.0\.1:\d+: wrong secret", driverLog);
        Assert.Contains("the job finished", driverLog);
        // Two workers on one machine share its cores rather than both using all of them.
        int share = Math.Max(1, Environment.ProcessorCount / 2);
        Assert.Matches($@"rank 0 = worker \d \({share} cores?\), rank 1 = worker \d \({share} cores?\)", driverLog);
        Assert.Contains($"local[1] ({share} intra-op thread", processes.Output("worker-a"));

        float[] expected = Weights(_local.Output);
        foreach (string worker in new[] { "0", "1" })
        {
            string folder = Path.Combine(output, "workers", worker);
            double difference = MaxDifference(expected, Weights(folder));
            Assert.True(difference < 2e-4, $"worker {worker}: max weight difference to local[1] {difference}");
            Assert.Equal(Accuracy(_local.Output), Accuracy(folder), 3);
        }
        Assert.Equal(Weights(Path.Combine(output, "workers", "0")), Weights(Path.Combine(output, "workers", "1")));

        // The job's result is where a local run writes it: metrics.json, model, charts, in the driver's --output.
        ClusterJobResult.AssertDriverHoldsTheResult(output, "mnist", workers: 2);
        Assert.Equal(Weights(Path.Combine(output, "workers", "0")), Weights(output));
        Assert.Equal(Accuracy(_local.Output), Accuracy(output), 3);
        foreach (string file in new[] { "model.bin", "training.png", "predictions.png" }) Assert.True(File.Exists(Path.Combine(output, file)), file);
    }

    [Fact]
    public void With_half_precision_gradients_two_workers_stay_identical_and_train_as_well_as_local_1()
    {
        int port = RecipeProcessGroup.FreePort();
        string output = Path.Combine(_local.Folder, "fp16");
        using var processes = new RecipeProcessGroup();
        StartDriver(processes, 2, port, output, "--fp16-gradients");
        processes.Start("w0", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        processes.Start("w1", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver"));
        Assert.Contains("formed with 2 workers (half-precision gradients)", processes.Output("driver"));

        // Both workers received the same rounded sums, so they hold the same model; the rounding changed the
        // weights a little (so it was applied) but not what the model learned.
        float[] first = Weights(Path.Combine(output, "workers", "0"));
        Assert.Equal(first, Weights(Path.Combine(output, "workers", "1")));
        double difference = MaxDifference(Weights(_local.Output), first);
        Assert.InRange(difference, 1e-7, 0.05);
        Assert.True(Math.Abs(Accuracy(Path.Combine(output, "workers", "0")) - Accuracy(_local.Output)) <= 0.02,
            $"accuracy {Accuracy(Path.Combine(output, "workers", "0"))} with FP16 gradients vs {Accuracy(_local.Output)}");
    }

    [MpiFact]
    public void Two_processes_under_mpirun_reach_the_weights_of_local_1()
    {
        string output = Path.Combine(_local.Folder, "mpi");
        using var processes = new RecipeProcessGroup();
        processes.StartProgram("mpirun", "mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "2", "dotnet", Path.Combine(AppContext.BaseDirectory, "mnist.dll"),
            .. JobOptions(_local), "--master", "mpi", "--output", output]);
        Assert.True(processes.WaitForExit("mpirun", JobLimit) == 0, processes.Output("mpirun"));
        Assert.Contains("mpi: rank 0 of 2", processes.Output("mpirun"));
        Assert.Contains("mpi: rank 1 of 2", processes.Output("mpirun"));

        float[] expected = Weights(_local.Output);
        foreach (string rank in new[] { "0", "1" })
        {
            double difference = MaxDifference(expected, Weights(Path.Combine(output, "workers", rank)));
            Assert.True(difference < 2e-4, $"rank {rank}: max weight difference to local[1] {difference}");
        }
        Assert.Equal(Weights(Path.Combine(output, "workers", "0")), Weights(Path.Combine(output, "workers", "1")));
        Assert.Equal(Accuracy(_local.Output), Accuracy(Path.Combine(output, "workers", "0")), 3);
    }

    // Two workers: the one left trains alone (no quorum to lose, the driver decides); three: two go on together.
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void When_a_worker_is_killed_mid_epoch_the_others_re_form_the_ring_and_finish_the_same_training(int workers)
    {
        int port = RecipeProcessGroup.FreePort();
        string output = Path.Combine(_local.Folder, $"elastic-{workers}");
        using var processes = new RecipeProcessGroup();
        StartDriver(processes, workers, port, output, "--log-samples");
        foreach (int worker in Enumerable.Range(0, workers)) processes.Start($"w{worker}", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);

        // The end of epoch 1 as seen by one worker: kill another one during epoch 2.
        Assert.True(processes.WaitForOutput("w0", "epoch 1/2", JobLimit), processes.Output("w0"));
        processes.Kill("w1");
        var killedAt = DateTime.Now.TimeOfDay; // the driver logs local clock times
        Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver"));

        string driverLog = processes.Output("driver");
        Assert.Matches(@"lost worker \d \(", driverLog);
        Assert.Matches($@"step \d+: ring generation 2 formed with {workers - 1} workers?", driverLog);
        var survivors = Directory.GetDirectories(Path.Combine(output, "workers")).Where(folder => File.Exists(Path.Combine(folder, "metrics.json"))).ToList();
        Assert.Equal(workers - 1, survivors.Count);

        // The survivors took exactly the steps of the uninterrupted run, every batch in full: same weights, same accuracy.
        float[] expected = Weights(_local.Output);
        foreach (string folder in survivors)
        {
            double difference = MaxDifference(expected, Weights(folder));
            Assert.True(difference < 2e-4, $"{folder}: max weight difference to the uninterrupted run {difference}\n{driverLog}");
            Assert.True(Math.Abs(Accuracy(folder) - Accuracy(_local.Output)) <= 0.01, $"{folder}: accuracy {Accuracy(folder)} vs {Accuracy(_local.Output)}");
        }

        // The driver's record of the job, as data and as a picture.
        using (var timeline = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "cluster.json"))))
        {
            var events = timeline.RootElement.EnumerateArray().Select(e => (Kind: e.GetProperty("Kind").GetString(), Workers: e.GetProperty("Workers").EnumerateArray().Select(w => w.GetInt32()).ToArray())).ToList();
            Assert.Equal([workers, workers - 1], events.Where(e => e.Kind == "ring").Select(e => e.Workers.Length));
            int lostWorker = Assert.Single(events, e => e.Kind == "lost").Workers.Single();
            Assert.DoesNotContain(lostWorker, events.Last(e => e.Kind == "ring").Workers);
            Assert.Equal(workers - 1, events.Count(e => e.Kind == "finished"));
        }
        byte[] png = File.ReadAllBytes(Path.Combine(output, "cluster-timeline.png"));
        Assert.True(png.Length > 10_000 && png.AsSpan(1, 3).SequenceEqual("PNG"u8), "cluster-timeline.png is not a real chart");

        AssertEverySampleOfEveryStepUsedOnce(Directory.GetDirectories(Path.Combine(output, "workers")), survivors, steps: 24, samples: 1200, batch: 100, seed: 3);

        var lost = Regex.Match(driverLog, @"driver (\d\d:\d\d:\d\d\.\d{3}): step \d+: lost worker");
        var formed = Regex.Match(driverLog, @"driver (\d\d:\d\d:\d\d\.\d{3}): step \d+: ring generation 2 formed");
        if (lost.Success && formed.Success)
        {
            TimeSpan At(Match match) => TimeSpan.ParseExact(match.Groups[1].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
            Console.WriteLine($"worker killed; declared lost after {(At(lost) - killedAt).TotalMilliseconds:F0} ms; " +
                $"training resumed on the new ring {(At(formed) - killedAt).TotalMilliseconds:F0} ms after the kill");
        }
    }

    [Fact]
    public void A_worker_that_joins_a_running_job_enters_the_ring_at_an_epoch_boundary_and_ends_with_the_weights_of_the_others()
    {
        // 1200 samples in batches of 100; enough epochs that the newcomer, started once the job runs, is
        // admitted at a boundary before the end even on busy cores.
        const int epochs = 10, stepsPerEpoch = 12;
        int port = RecipeProcessGroup.FreePort();
        string output = Path.Combine(_local.Folder, "late-joiner");
        using var processes = new RecipeProcessGroup();
        processes.Start("driver", "mnist", ["--data", _local.Data, "--epochs", $"{epochs}", "--batch-size", "100", "--seed", "3",
            "--cache", Path.Combine(_local.Folder, "cache"), "--master", "cluster[2]", "--cluster-listen", $"127.0.0.1:{port}", "--output", output], GoodSecret);
        processes.Start("w0", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        processes.Start("w1", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        Assert.True(processes.WaitForOutput("driver", "ring generation 1 formed", JobLimit), processes.Output("driver"));
        processes.Start("late", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);

        Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver") + "\n---\n" + processes.Output("w0") + "\n---\n" + processes.Output("late"));
        Assert.Equal(0, processes.WaitForExit("late", JobLimit));
        string driverLog = processes.Output("driver");
        Assert.Contains("worker 2 (", driverLog);
        Assert.Contains("joined the running job", driverLog);
        var formed = Regex.Match(driverLog, @"step (\d+): ring generation 2 formed with 3 workers: rank 0 = worker \d \(1 core\), rank 1 = worker \d \(1 core\), rank 2 = worker 2 \(1 core\)");
        Assert.True(formed.Success, driverLog);
        long joinStep = long.Parse(formed.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(joinStep % stepsPerEpoch == 0 && joinStep >= stepsPerEpoch && joinStep < epochs * stepsPerEpoch,
            $"joined after step {joinStep}, not at an epoch boundary before the end\n{driverLog}");

        // The newcomer resumed where the members stood and trained the remaining epochs with them.
        string late = processes.Output("late");
        int firstEpoch = (int)(joinStep / stepsPerEpoch) + 1;
        Assert.Contains($"Resuming at epoch {firstEpoch}/{epochs}", late);
        Assert.Contains($"epoch {epochs}/{epochs}", late);

        // Everyone took the same steps from the same state: identical weights on all three.
        float[] first = Weights(Path.Combine(output, "workers", "0"));
        Assert.Equal(first, Weights(Path.Combine(output, "workers", "1")));
        Assert.Equal(first, Weights(Path.Combine(output, "workers", "2")));
        Assert.Equal(Accuracy(Path.Combine(output, "workers", "0")), Accuracy(Path.Combine(output, "workers", "2")), 6);
    }

    [Fact]
    public void When_the_driver_is_killed_the_workers_keep_their_last_step_and_a_restarted_driver_resumes_the_job_without_losing_it()
    {
        // 20 epochs of 12 steps: long enough that the workers are still training when they notice the driver is gone.
        const int epochs = 20, totalSteps = epochs * 12;
        string[] job = ["--data", _local.Data, "--epochs", $"{epochs}", "--batch-size", "100", "--seed", "3", "--cache", Path.Combine(_local.Folder, "cache")];
        void RunCluster(RecipeProcessGroup processes, string output, int port, bool resume)
        {
            processes.Start("driver", "mnist", [.. job, "--master", "cluster[2]", "--cluster-listen", $"127.0.0.1:{port}", "--output", output, .. (resume ? new[] { "--resume" } : [])], GoodSecret);
            processes.Start("w0", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
            processes.Start("w1", "mnist", ["worker", "--join", $"127.0.0.1:{port}"], GoodSecret);
        }

        // The reference: the same job, never interrupted.
        string reference = Path.Combine(_local.Folder, "driver-reference");
        using (var processes = new RecipeProcessGroup())
        {
            RunCluster(processes, reference, RecipeProcessGroup.FreePort(), resume: false);
            Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver"));
        }

        string output = Path.Combine(_local.Folder, "driver-lost");
        var stoppedAt = new List<long>();
        using (var processes = new RecipeProcessGroup())
        {
            RunCluster(processes, output, RecipeProcessGroup.FreePort(), resume: false);
            Assert.True(processes.WaitForOutput("w0", $"epoch 2/{epochs} ", JobLimit), processes.Output("w0"));
            processes.Kill("driver");
            var killed = DateTime.UtcNow;
            foreach (string worker in new[] { "w0", "w1" })
            {
                Assert.Equal(1, processes.WaitForExit(worker, TimeSpan.FromSeconds(60)));
                string log = processes.Output(worker);
                Assert.Contains("lost the driver at 127.0.0.1:", log);
                var saved = Regex.Match(log, @"saved a checkpoint after step (\d+): start the job again with --resume");
                Assert.True(saved.Success, log);
                stoppedAt.Add(long.Parse(saved.Groups[1].Value, CultureInfo.InvariantCulture));
            }
            Console.WriteLine($"workers stopped {(DateTime.UtcNow - killed).TotalSeconds:F1} s after the driver was killed, at steps {string.Join(", ", stoppedAt)}");
        }
        Assert.All(stoppedAt, step => Assert.InRange(step, 24, totalSteps - 1));
        Assert.True(stoppedAt.Max() - stoppedAt.Min() <= 1, $"the workers stopped {stoppedAt.Max() - stoppedAt.Min()} steps apart");

        // One machine lost its disk: that worker has no checkpoint and must take the other's state.
        Directory.Delete(Path.Combine(output, "workers", "1", "checkpoint"), recursive: true);
        using (var processes = new RecipeProcessGroup())
        {
            RunCluster(processes, output, RecipeProcessGroup.FreePort(), resume: true);
            Assert.True(processes.WaitForExit("driver", JobLimit) == 0, processes.Output("driver") + "\n---\n" + processes.Output("w0") + "\n---\n" + processes.Output("w1"));
            string workers = processes.Output("w0") + "\n" + processes.Output("w1");
            Assert.Matches(@"took the training state after step \d+ from rank \d", workers);
            Assert.Contains($"epoch {epochs}/{epochs}", workers);
        }

        // No step was lost or taken twice: the resumed job ends exactly where the uninterrupted one did.
        float[] expected = Weights(Path.Combine(reference, "workers", "0"));
        foreach (string worker in new[] { "0", "1" })
        {
            double difference = MaxDifference(expected, Weights(Path.Combine(output, "workers", worker)));
            Assert.True(difference <= 1e-6, $"worker {worker}: max weight difference to the uninterrupted job {difference}");
        }
    }

    sealed record StepShare(string Worker, long Step, int Rank, int Size, int[] Samples);

    /// <summary>From the workers' samples.tsv: for every step, the shares the survivors used (all under one group
    /// size) together with the killed worker's share of the same step cover the step's batch exactly once. The
    /// killed worker's line may be missing for the one step it completed its part of without living to log it: the
    /// survivors summed its contribution then, so exactly its share is allowed to be absent, once.</summary>
    internal static void AssertEverySampleOfEveryStepUsedOnce(string[] workerFolders, List<string> survivors, int steps, int samples, int batch, int seed)
    {
        var shares = new List<StepShare>();
        foreach (string folder in workerFolders)
        {
            string text = File.ReadAllText(Path.Combine(folder, "samples.tsv"));
            // A killed worker's last line may be cut short: only whole lines count.
            foreach (string line in text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] fields = line.Split('\t');
                shares.Add(new StepShare(folder, long.Parse(fields[0], CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture),
                    int.Parse(fields[3], CultureInfo.InvariantCulture), fields[4].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture)).ToArray()));
            }
        }
        string killed = workerFolders.Single(f => !survivors.Contains(f));
        int stepsPerEpoch = samples / batch, missingShareAllowed = 1;
        for (long step = 1; step <= steps; step++)
        {
            int epoch = (int)((step - 1) / stepsPerEpoch), first = (int)((step - 1) % stepsPerEpoch) * batch;
            int[] expected = Trainer.EpochOrder(samples, seed, epoch)[first..(first + batch)];
            var survivorShares = shares.Where(s => s.Step == step && survivors.Contains(s.Worker)).ToList();
            Assert.Equal(survivors.Count, survivorShares.Select(s => s.Worker).Distinct().Count());
            int size = Assert.Single(survivorShares.Select(s => s.Size).Distinct());
            var used = shares.Where(s => s.Step == step && s.Size == size).ToList();
            Assert.Equal(used.Count, used.Select(s => s.Rank).Distinct().Count()); // no place taken twice
            int[] union = used.SelectMany(s => s.Samples).ToArray();
            Assert.Equal(union.Length, union.Distinct().Count());                  // no sample taken twice
            Assert.Empty(union.Except(expected));                                   // nothing from outside the batch
            int[] missing = expected.Except(union).ToArray();
            if (missing.Length == 0) continue;
            // Only the killed worker's share may be unlogged, in the group it belonged to, for one step.
            Assert.True(missingShareAllowed-- > 0, $"step {step}: {missing.Length} samples of the batch were never used");
            int killedRank = shares.Where(s => s.Worker == killed && s.Size == size).Select(s => s.Rank).Distinct().Single();
            var (offset, end) = Trainer.ShareOf(batch, killedRank, size);
            Assert.Equal(expected[offset..end].Order(), missing.Order());
        }
    }
}

/// <summary>A test that needs Open MPI's mpirun: reported as skipped, with the way to install it, where it is missing.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        bool found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder, "mpirun")));
        if (!found) Skip = "mpirun not found: install Open MPI (apt-get install openmpi-bin) to run the MPI backend's test";
    }
}
