using System.Runtime.InteropServices;
using Recipes.Runtime.Data;
using Spectre.Console;

namespace Recipes.Runtime.Recipes;

/// <summary>
/// Runs a recipe's body: validates the common options, turns Ctrl+C and SIGTERM into a cancellation the
/// trainer honours (it checkpoints and stops), and turns expected failures (bad data files, bad options) into one
/// red line and exit code 1 instead of a stack trace, unless <c>--verbose</c>.
/// </summary>
public static class RecipeHost
{
    public const int ExitInterrupted = 130;

    public static int Run(CommonOptions options, Func<CancellationToken, int> body)
    {
        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancellation.IsCancellationRequested) return; // a second Ctrl+C ends the process at once
            e.Cancel = true;
            cancellation.Cancel();
            AnsiConsole.MarkupLine("[yellow]Ctrl+C: stopping (training finishes its step and saves a checkpoint; serving answers the requests in flight). Press again to quit now[/]");
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM is how docker stop, Kubernetes and systemd ask a process to end: it gets the same treatment as the
        // first Ctrl+C (a checkpoint and exit code 130); a second SIGTERM, or the SIGKILL that follows a grace
        // period, ends the process at once.
        using var onTerminate = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            if (cancellation.IsCancellationRequested) return;
            signal.Cancel = true;
            cancellation.Cancel();
            AnsiConsole.MarkupLine("[yellow]SIGTERM: stopping (training finishes its step and saves a checkpoint; serving answers the requests in flight). A second SIGTERM quits now[/]");
        });
        try
        {
            Validate(options);
            return body(cancellation.Token);
        }
        catch (Exception error) when (IsUserFacing(error) && !options.Verbose)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            return 1;
        }
        catch (Exception error) when (IsUserFacing(error))
        {
            Console.Error.WriteLine($"error: {error}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    static bool IsUserFacing(Exception error) =>
        error is DataFileException or ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException
            or RecipeException or Training.TrainingDivergedException;

    static void Validate(CommonOptions options)
    {
        if (options.Epochs < 1) throw new ArgumentException("--epochs must be at least 1");
        if (options.BatchSize < 1) throw new ArgumentException("--batch-size must be at least 1");
        if (options.LearningRate <= 0 || double.IsNaN(options.LearningRate)) throw new ArgumentException("--learning-rate must be positive");
        if (options.MaxSamples is < 1) throw new ArgumentException("--max-samples must be at least 1");
        if (options.Data is not null && !File.Exists(options.Data) && !Directory.Exists(options.Data))
            throw new DataFileException(options.Data, "no such file or folder (--data)");
        if (ClusterMaster.LooksLikeCluster(options.Master) && !options.IsClusterDriver)
            throw new ArgumentException($"--master '{options.Master}': a cluster driver needs at least 1 worker (accepted: {Distributed.LocalMaster.AcceptedForms})");
        _ = options.LocalMaster; // throws a clear ArgumentException for a bad --master, naming every accepted form
        if (options.LocalMaster.Replicas > options.BatchSize)
            throw new ArgumentException($"--batch-size {options.BatchSize} is smaller than the {options.LocalMaster.Replicas} replicas of --master {options.Master}");
    }
}

/// <summary>A failure a user can fix (a missing model file, an impossible option combination).</summary>
public sealed class RecipeException(string message) : Exception(message);
