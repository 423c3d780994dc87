using System.Net;
using Recipes.Runtime.Distributed.Cluster;

namespace Recipes.Tests.Distributed;

/// <summary>How a cluster job ends, at the level of the driver/worker protocol: the real driver and two real workers
/// (three Akka systems on 127.0.0.1 in this process) running a job that is a plain function, so which worker ends how
/// is decided by the test rather than by timing.</summary>
public sealed class ClusterJobEndTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"cluster-job-end-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_worker_whose_job_throws_fails_the_job_instead_of_passing_for_a_lost_worker()
    {
        // Seen under load: one object-detection worker's data generation threw; it left the cluster without a word,
        // the driver took that for a lost worker, and the job ended with exit code 0 on the other worker alone.
        Directory.CreateDirectory(_folder);
        string secretFile = Path.Combine(_folder, "secret");
        File.WriteAllText(secretFile, "cluster-job-end-secret");
        var secret = ClusterSecret.Load(secretFile);
        var driverEndPoint = new IPEndPoint(IPAddress.Loopback, RecipeProcessGroup.FreePort());
        var driverText = new StringWriter();
        var driverLog = TextWriter.Synchronized(driverText);
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var driver = Task.Factory.StartNew(() => ClusterDriver.Run(new ClusterDriverSettings
        {
            Listen = driverEndPoint,
            Workers = 2,
            Secret = secret,
            JobArguments = index => ["--worker", index.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        }, driverLog, limit.Token), TaskCreationOptions.LongRunning);

        // Worker 1's job throws as a crashing data generator does (not an exit code: an exception out of the job);
        // worker 0's job ends well.
        Task<int> Worker() => Task.Factory.StartNew(() => ClusterWorker.Run(
            new ClusterWorkerSettings { Driver = driverEndPoint, Secret = secret, Cores = 1, JobTimeout = TimeSpan.FromMinutes(1) },
            (arguments, _) => arguments[1] == "1" ? throw new AggregateException(new IOException("the scenes vanished")) : 0,
            _ => Path.Combine(_folder, "unused"), TextWriter.Null, limit.Token), TaskCreationOptions.LongRunning);
        var workers = new[] { Worker(), Worker() };

        int driverExit = await driver.WaitAsync(TimeSpan.FromMinutes(2));
        var ends = await Task.WhenAll(workers.Select(w => w.ContinueWith(t => t.IsFaulted ? -1 : t.Result, TaskScheduler.Default)))
            .WaitAsync(TimeSpan.FromMinutes(2));

        string log;
        lock (driverLog) log = driverText.ToString(); // the synchronized writer locks itself
        Assert.True(driverExit == 1, $"the driver should fail the job:\n{log}");
        Assert.Contains("finished with exit code 1", log);
        Assert.Contains("a worker failed; the job failed", log);
        Assert.DoesNotContain(": lost worker", log);
        Assert.Contains(-1, ends); // the failing worker's own exception still ends its process as before
    }
}
