using Recipes.Mnist;
using Recipes.Runtime.IO;

namespace Recipes.Tests.Recipes;

/// <summary>Mistakes a user makes on the command line of any recipe (here the mnist one, run as its own process):
/// each ends in one line that says what is wrong and exit code 1, never a stack trace.</summary>
public sealed class RecipeCommandLineErrorsTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"recipe-errors-{Guid.NewGuid():N}");

    public RecipeCommandLineErrorsTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    static string OneErrorLine(RecipeProcess.Outcome run)
    {
        Assert.True(run.ExitCode == 1, $"exit code {run.ExitCode}: {run.Output}{run.Errors}");
        string error = run.Errors.Trim();
        Assert.True(error.Split('\n').Length == 1, error);
        Assert.StartsWith("error: ", error);
        Assert.DoesNotContain("   at ", run.Errors); // no stack trace without --verbose
        Assert.DoesNotContain("Unhandled", run.Errors);
        return error;
    }

    [Theory]
    [InlineData("cluster[0]", "at least 1 worker")]
    [InlineData("spark://host:7077", "not understood")]
    [InlineData("local[0]", "at least 1")]
    public void A_wrong_master_is_answered_with_every_form_master_accepts(string master, string reason)
    {
        string error = OneErrorLine(RecipeProcess.Run("mnist", ["--offline", "--master", master, "--output", Path.Combine(_folder, "out")]));
        Assert.Contains(master, error);
        Assert.Contains(reason, error);
        foreach (string form in new[] { "local[*]", "local[N]", "cluster[N]", "mpi" }) Assert.Contains(form, error);
    }

    [Fact]
    public void An_output_folder_that_cannot_be_made_is_named_with_the_reason_before_any_training()
    {
        string file = Path.Combine(_folder, "a-file");
        File.WriteAllText(file, "not a folder");
        string underFile = OneErrorLine(RecipeProcess.Run("mnist", ["--offline", "--output", Path.Combine(file, "results")]));
        Assert.Contains("cannot create the output folder", underFile);
        Assert.Contains($"'{file}' is a file", underFile);

        string isFile = OneErrorLine(RecipeProcess.Run("mnist", ["--offline", "--output", file]));
        Assert.Contains("is a file, not a folder", isFile);

        if (!Directory.Exists("/proc/self")) return; // the kernel's /proc exists on Linux only
        var proc = RecipeProcess.Run("mnist", ["--offline", "--output", "/proc/recipes-output"]);
        string procError = OneErrorLine(proc);
        Assert.Contains("'/proc/recipes-output'", procError);
        Assert.Contains("cannot create the output folder", procError);
        Assert.Contains("'/proc' is on a kernel file system (proc)", procError);
        Assert.DoesNotContain("Could not find file", procError);
        Assert.DoesNotContain("Data:", proc.Output); // refused before reading (or generating) any data
    }

    [Fact]
    public void The_output_check_leaves_a_writable_folder_as_it_found_it()
    {
        string folder = Path.Combine(_folder, "new", "nested");
        OutputFolder.EnsureWritable(folder);
        Assert.True(Directory.Exists(folder));
        Assert.Empty(Directory.GetFileSystemEntries(folder)); // the probe file is gone
    }

    [Fact]
    public void A_diverging_run_ends_in_one_line_and_exit_code_1()
    {
        var run = RecipeProcess.Run("mnist", ["--offline", "--max-samples", "512", "--epochs", "1", "--batch-size", "128", "--master", "local[1]",
            "--learning-rate", "1e30", "--output", Path.Combine(_folder, "diverged"), "--cache", Path.Combine(_folder, "cache")]);
        string error = OneErrorLine(run);
        Assert.Contains("training diverged", error);
        Assert.Contains("lower it", error);
    }

    [Fact]
    public void Resume_refuses_other_data_of_the_same_size_and_says_when_the_run_is_already_finished()
    {
        string first = WriteIdx("first", seed: 5), other = WriteIdx("other", seed: 7);
        string output = Path.Combine(_folder, "resumed");
        string[] common = ["--epochs", "1", "--batch-size", "100", "--master", "local[1]", "--output", output, "--cache", Path.Combine(_folder, "cache")];
        var trained = RecipeProcess.Run("mnist", [.. common, "--data", first]);
        Assert.True(trained.ExitCode == 0, trained.Output + trained.Errors);

        // Same seed, batch and sample count, other images and labels: refused, naming both.
        string error = OneErrorLine(RecipeProcess.Run("mnist", [.. common[2..], "--epochs", "2", "--data", other, "--resume"]));
        Assert.Contains("other data", error);
        Assert.Contains(first, error);
        Assert.Contains(other, error);

        var finished = RecipeProcess.Run("mnist", [.. common, "--data", first, "--resume"]);
        Assert.True(finished.ExitCode == 0, finished.Output + finished.Errors);
        Assert.Contains("Nothing to train: the checkpoint's run already completed 1 epoch (--epochs 1)", finished.Output);
        Assert.DoesNotContain("2/1", finished.Output);
    }

    string WriteIdx(string name, int seed)
    {
        string folder = Path.Combine(_folder, name);
        Directory.CreateDirectory(folder);
        IdxWriter.WriteDataset(GeneratedDigits.Create(600, seed), Path.Combine(folder, "train-images-idx3-ubyte"), Path.Combine(folder, "train-labels-idx1-ubyte"), gzip: false);
        IdxWriter.WriteDataset(GeneratedDigits.Create(200, seed + 1), Path.Combine(folder, "t10k-images-idx3-ubyte"), Path.Combine(folder, "t10k-labels-idx1-ubyte"), gzip: false);
        return folder;
    }
}
