using System.Text.Json;
using Recipes.Runtime.Distributed;

namespace Recipes.Tests.Distributed;

/// <summary>A distributed job's result taken from one process's folder into the job's folder (the MPI rank 0 copy;
/// the cluster driver receives the same files over the network and rewrites metrics.json the same way).</summary>
public sealed class JobResultFolderTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"job-result-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void The_result_files_are_copied_without_checkpoints_and_metrics_name_the_copies()
    {
        string job = Path.Combine(_folder, "out"), process = Path.Combine(job, "workers", "0");
        Directory.CreateDirectory(Path.Combine(process, "checkpoint"));
        Directory.CreateDirectory(Path.Combine(process, "summary"));
        File.WriteAllBytes(Path.Combine(process, "model.bin"), [1, 2, 3]);
        File.WriteAllText(Path.Combine(process, "summary", "history.csv"), "epoch,loss\n");
        File.WriteAllBytes(Path.Combine(process, "checkpoint", "latest.ckpt"), [9]);
        File.WriteAllBytes(Path.Combine(process, "checkpoint", "best.bin"), [9]);
        File.WriteAllText(Path.Combine(process, ".model.bin.123.tmp"), "half written");
        string model = Path.Combine(process, "model.bin");
        File.WriteAllText(Path.Combine(process, "metrics.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["recipe"] = "mnist", ["master"] = "local[1]", ["model"] = model, ["charts"] = new[] { Path.Combine(process, "summary") },
            ["note"] = process + "-not-inside", ["metrics"] = new Dictionary<string, double> { ["test_accuracy"] = 0.9 },
        }));

        Assert.Equal(["metrics.json", "model.bin", "summary/history.csv"], JobResultFolder.Files(process));
        Assert.Equal(3, JobResultFolder.CopyInto(process, job, "mpi", 0));

        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(job, "model.bin")));
        Assert.True(File.Exists(Path.Combine(job, "summary", "history.csv")));
        Assert.False(Directory.Exists(Path.Combine(job, "checkpoint")));
        Assert.Empty(Directory.GetFiles(job, ".*"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(job, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal(Path.Combine(job, "model.bin"), root.GetProperty("model").GetString());
        Assert.Equal(Path.Combine(job, "summary"), root.GetProperty("charts")[0].GetString());
        Assert.Equal(process + "-not-inside", root.GetProperty("note").GetString()); // a sibling path is not inside the folder
        Assert.Equal("mpi", root.GetProperty("master").GetString());
        Assert.Equal(0, root.GetProperty("cluster").GetProperty("results_from_worker").GetInt32());
        Assert.Equal(0.9, root.GetProperty("metrics").GetProperty("test_accuracy").GetDouble());
    }
}
