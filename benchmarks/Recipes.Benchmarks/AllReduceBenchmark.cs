using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Recipes.RingPeer;
using Spectre.Console;

namespace Recipes.Benchmarks;

/// <summary>
/// The TCP ring allreduce between 2 and 3 processes on 127.0.0.1 at 1, 10 and 100 MB of float32, next to
/// the in-process sum of two arrays of the same size (what memory bandwidth allows: an allreduce must at
/// least read and write its buffer), and Open MPI's allreduce (the --master mpi backend) where mpirun is installed. Median time per allreduce after a warm-up; MB/s is buffer size over time.
/// </summary>
static partial class AllReduceBenchmark
{
    static readonly double[] Sizes = [1, 10, 100];

    public static int Run(int repeat, bool halfPrecision)
    {
        AnsiConsole.MarkupLine($"Allreduce of float32 buffers, median of {repeat} after a warm-up, {Environment.ProcessorCount} cores, loopback");
        var rows = new List<(string Name, double[] Milliseconds)> { ("in-process sum of two arrays", Sizes.Select(mb => InProcessSum(mb, repeat)).ToArray()) };
        foreach (int processes in new[] { 2, 3 })
        {
            rows.Add(($"TCP ring, {processes} processes", RingMedians(processes, repeat, halfPrecision: false)));
            if (halfPrecision) rows.Add(($"TCP ring FP16, {processes} processes", RingMedians(processes, repeat, halfPrecision: true)));
            if (MpirunFound) rows.Add(($"Open MPI (mpirun), {processes} processes", MpiMedians(processes, repeat)));
        }
        if (!MpirunFound) AnsiConsole.MarkupLine("(Open MPI rows left out: mpirun not found; apt-get install openmpi-bin)");

        var table = new Table().AddColumn("method");
        foreach (double mb in Sizes) table.AddColumn($"{mb:0} MB: ms", c => c.RightAligned()).AddColumn("MB/s", c => c.RightAligned());
        foreach (var (name, milliseconds) in rows)
        {
            var cells = new List<string> { name };
            for (int s = 0; s < Sizes.Length; s++)
            {
                cells.Add(milliseconds[s].ToString("F2", CultureInfo.InvariantCulture));
                cells.Add((Sizes[s] / (milliseconds[s] / 1000)).ToString("N0", CultureInfo.InvariantCulture));
            }
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        return 0;
    }

    static double InProcessSum(double megabytes, int repeat)
    {
        int length = (int)(megabytes * 1024 * 1024 / sizeof(float));
        float[] target = new float[length], source = new float[length];
        for (int i = 0; i < length; i++) { target[i] = i % 100; source[i] = i % 10; }
        AddInto(target, source);
        var times = new double[repeat];
        for (int r = 0; r < repeat; r++)
        {
            var clock = Stopwatch.StartNew();
            AddInto(target, source);
            times[r] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[repeat / 2];
    }

    static void AddInto(float[] target, float[] source)
    {
        var targetVectors = MemoryMarshal.Cast<float, Vector<float>>(target.AsSpan());
        var sourceVectors = MemoryMarshal.Cast<float, Vector<float>>(source.AsSpan());
        for (int v = 0; v < targetVectors.Length; v++) targetVectors[v] += sourceVectors[v];
        for (int i = targetVectors.Length * Vector<float>.Count; i < target.Length; i++) target[i] += source[i];
    }

    static double[] RingMedians(int processes, int repeat, bool halfPrecision)
    {
        var arguments = new List<string> { "benchmark", string.Join(',', Sizes.Select(s => s.ToString(CultureInfo.InvariantCulture))), "--repeat", repeat.ToString(CultureInfo.InvariantCulture) };
        if (halfPrecision) arguments.Add("--fp16");
        using var group = RingPeerGroup.Start(processes, _ => arguments);
        var outcomes = group.WaitForAll(TimeSpan.FromMinutes(5));
        var failed = outcomes.FirstOrDefault(o => o.ExitCode != 0);
        if (failed is not null) throw new InvalidOperationException($"ring-peer rank {failed.Rank} exited with {failed.ExitCode}: {failed.Errors}");
        // Every rank times the same collective; rank 0's figures stand for the ring.
        var medians = AllReduceLine().Matches(outcomes[0].Output).ToDictionary(
            m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        return Sizes.Select(s => medians[s]).ToArray();
    }

    static bool MpirunFound => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder, "mpirun")));

    /// <summary>The same sizes through <see cref="Recipes.Runtime.Distributed.Mpi.MpiProcessGroup"/> (MPI_Allreduce in
    /// place), each process started by mpirun running this program's <c>mpi-rank</c> command.</summary>
    static double[] MpiMedians(int processes, int repeat)
    {
        var start = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "--allow-run-as-root", "--oversubscribe", "-np", $"{processes}", "dotnet",
            Path.Combine(AppContext.BaseDirectory, "Recipes.Benchmarks.dll"), "mpi-rank", "--repeat", $"{repeat}" })
            start.ArgumentList.Add(argument);
        using var mpirun = Process.Start(start) ?? throw new InvalidOperationException("could not start mpirun");
        var output = mpirun.StandardOutput.ReadToEndAsync();
        var errors = mpirun.StandardError.ReadToEndAsync();
        if (!mpirun.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            mpirun.Kill(entireProcessTree: true);
            throw new TimeoutException("mpirun did not finish within 5 minutes");
        }
        if (mpirun.ExitCode != 0) throw new InvalidOperationException($"mpirun exited with {mpirun.ExitCode}: {output.Result}{errors.Result}");
        var medians = AllReduceLine().Matches(output.Result).ToDictionary(
            m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        return Sizes.Select(s => medians[s]).ToArray();
    }

    /// <summary>One rank of <see cref="MpiMedians"/>: times the allreduces; rank 0 prints a line per size.</summary>
    public static int RunMpiRank(int repeat, string sizes)
    {
        using var group = Recipes.Runtime.Distributed.Mpi.MpiProcessGroup.Start();
        foreach (var (megabytes, index) in sizes.Split(',').Select((s, index) => (double.Parse(s, CultureInfo.InvariantCulture), index)))
        {
            float[] values = new float[(int)(megabytes * 1024 * 1024 / sizeof(float))];
            for (int i = 0; i < values.Length; i++) values[i] = i % 1000 * 1e-3f;
            for (int call = 0; call < (index == 0 ? 50 : 3); call++) // warm-up, as the ring's (past tier-0 JIT on the first size)
            {
                group.SumInPlace(values);
                Thread.Sleep(10);
            }
            var times = new double[repeat];
            for (int r = 0; r < repeat; r++)
            {
                var clock = Stopwatch.StartNew();
                group.SumInPlace(values);
                times[r] = clock.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            if (group.Rank == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ALLREDUCE megabytes={megabytes} median_ms={times[repeat / 2]:F3}"));
        }
        return 0;
    }

    [GeneratedRegex(@"ALLREDUCE megabytes=([\d.]+) median_ms=([\d.]+)")]
    private static partial Regex AllReduceLine();
}
