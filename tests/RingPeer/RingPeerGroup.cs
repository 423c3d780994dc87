using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Recipes.RingPeer;

/// <summary>
/// Starts N ring-peer processes on 127.0.0.1, tells each the ring (every member's port, a fresh key), and
/// collects what they print. It ends only the processes it started.
/// </summary>
public sealed class RingPeerGroup : IDisposable
{
    public sealed record Outcome(int Rank, int ExitCode, string Output, string Errors);

    readonly Process[] _processes;
    readonly List<string>[] _outputs;
    readonly Task<string>[] _errors;

    RingPeerGroup(Process[] processes, List<string>[] outputs, Task<string>[] errors)
    {
        _processes = processes;
        _outputs = outputs;
        _errors = errors;
    }

    /// <summary>Starts <paramref name="size"/> peers with <paramref name="argumentsOfRank"/> and forms their ring. With
    /// <paramref name="hostOf"/>, rank r runs inside network namespace hostOf(r).Namespace (through <c>ip netns exec</c>)
    /// and its ring listener binds hostOf(r).Address; otherwise all run here on 127.0.0.1.</summary>
    public static RingPeerGroup Start(int size, Func<int, IEnumerable<string>> argumentsOfRank, TimeSpan? startLimit = null,
        Func<int, (string Namespace, string Address)>? hostOf = null)
    {
        string assembly = Path.Combine(AppContext.BaseDirectory, "ring-peer.dll");
        if (!File.Exists(assembly)) throw new FileNotFoundException($"{assembly}: ring-peer was not built next to this program");
        var processes = new Process[size];
        var outputs = Enumerable.Range(0, size).Select(_ => new List<string>()).ToArray();
        var errors = new Task<string>[size];
        var ports = new int[size];
        var group = new RingPeerGroup(processes, outputs, errors);
        try
        {
            for (int rank = 0; rank < size; rank++)
            {
                var start = new ProcessStartInfo(hostOf is null ? "dotnet" : "ip")
                {
                    RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                };
                if (hostOf is not null)
                    foreach (string argument in new[] { "netns", "exec", hostOf(rank).Namespace, "dotnet" }) start.ArgumentList.Add(argument);
                start.ArgumentList.Add(assembly);
                foreach (string argument in argumentsOfRank(rank)) start.ArgumentList.Add(argument);
                if (hostOf is not null)
                {
                    start.ArgumentList.Add("--bind");
                    start.ArgumentList.Add(hostOf(rank).Address);
                }
                processes[rank] = Process.Start(start)!;
                var lines = outputs[rank];
                processes[rank].OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
                processes[rank].BeginOutputReadLine();
                errors[rank] = processes[rank].StandardError.ReadToEndAsync();
            }
            var deadline = DateTime.UtcNow + (startLimit ?? TimeSpan.FromSeconds(60));
            for (int rank = 0; rank < size; rank++)
            {
                if (!group.WaitForLine(rank, "LISTENING ", Remaining(deadline)))
                    throw new TimeoutException($"ring-peer rank {rank} did not report its port: {(processes[rank].HasExited ? errors[rank].Result : "still silent")}");
                lock (outputs[rank]) ports[rank] = int.Parse(outputs[rank].First(l => l.StartsWith("LISTENING ", StringComparison.Ordinal))["LISTENING ".Length..], CultureInfo.InvariantCulture);
            }
            string key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            string endPoints = string.Join(' ', ports.Select((port, rank) => $"{(hostOf is null ? "127.0.0.1" : hostOf(rank).Address)}:{port}"));
            for (int rank = 0; rank < size; rank++)
            {
                processes[rank].StandardInput.WriteLine($"RING {rank} 1 {key} {endPoints}");
                processes[rank].StandardInput.Flush();
            }
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    static TimeSpan Remaining(DateTime deadline) => TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks));

    /// <summary>Waits until peer <paramref name="rank"/> prints a line starting with <paramref name="prefix"/>.</summary>
    public bool WaitForLine(int rank, string prefix, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            lock (_outputs[rank])
                if (_outputs[rank].Any(line => line.StartsWith(prefix, StringComparison.Ordinal))) return true;
            if (_processes[rank].HasExited) return false;
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Kills one peer (SIGKILL), as a crash would.</summary>
    public void Kill(int rank) => _processes[rank].Kill();

    /// <summary>Waits for every peer to exit; one still running at the limit is killed and reported with exit code -1.</summary>
    public IReadOnlyList<Outcome> WaitForAll(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        return Enumerable.Range(0, _processes.Length).Select(rank => WaitFor(rank, Remaining(deadline))).ToArray();
    }

    /// <summary>Waits for one peer to exit; if it is still running at the limit it is killed and reported with exit code -1.</summary>
    public Outcome WaitFor(int rank, TimeSpan limit)
    {
        var process = _processes[rank];
        bool exited = process.WaitForExit(limit);
        if (!exited) process.Kill();
        process.WaitForExit(); // also drains the redirected output
        string output;
        lock (_outputs[rank]) output = string.Join('\n', _outputs[rank]);
        return new Outcome(rank, exited ? process.ExitCode : -1, output, _errors[rank].Result);
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            if (process is null) continue;
            try
            {
                if (!process.HasExited) process.Kill();
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // never started
            }
            process.Dispose();
        }
    }
}
