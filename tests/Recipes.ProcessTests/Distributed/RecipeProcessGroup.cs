using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Recipes.Tests.Distributed;

/// <summary>Built recipes running as concurrent named processes (a driver and its workers), with their output
/// collected as it comes. Disposing kills whichever of them still runs; it never touches other processes.</summary>
sealed class RecipeProcessGroup : IDisposable
{
    sealed record Running(Process Process, List<string> Lines);

    readonly Dictionary<string, Running> _running = [];

    public void Start(string name, string recipe, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        StartProgram(name, "dotnet", [Recipes.RecipeProcess.AssemblyOf(recipe), .. arguments], environment);

    /// <summary>Starts a recipe inside emulated host <paramref name="host"/> (its network namespace).</summary>
    public void StartIn(NetworkHosts hosts, int host, string name, string recipe, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        StartProgram(name, "ip", hosts.Exec(host, "dotnet", [Recipes.RecipeProcess.AssemblyOf(recipe), .. arguments]), environment);

    public bool HasExited(string name) => _running[name].Process.HasExited;

    public void StartProgram(string name, string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var process = new Process { StartInfo = start };
        var lines = new List<string>();
        DataReceivedEventHandler collect = (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _running[name] = new Running(process, lines);
    }

    public string Output(string name)
    {
        var lines = _running[name].Lines;
        lock (lines) return string.Join('\n', lines);
    }

    /// <summary>Waits until <paramref name="name"/> has printed <paramref name="text"/>; false if it exits or the limit passes first.</summary>
    public bool WaitForOutput(string name, string text, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (Output(name).Contains(text, StringComparison.Ordinal)) return true;
            if (_running[name].Process.HasExited) return Output(name).Contains(text, StringComparison.Ordinal);
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>The exit code, or fails the test if the process is still running at the limit.</summary>
    public int WaitForExit(string name, TimeSpan limit)
    {
        var process = _running[name].Process;
        if (!process.WaitForExit(limit))
            Assert.Fail($"{name} did not finish within {limit}:\n{Output(name)}");
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>SIGKILL, as a crash: no chance to leave the cluster or close anything.</summary>
    public void Kill(string name) => _running[name].Process.Kill();

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        foreach (var (_, running) in _running)
        {
            if (!running.Process.HasExited) running.Process.Kill(entireProcessTree: true);
            running.Process.WaitForExit();
            running.Process.Dispose();
        }
    }
}
