using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Recipes.Tests.Distributed;

/// <summary>
/// Emulated hosts on one machine: N Linux network namespaces, each with its own address and a single link
/// (a veth pair) to a bridge, with the link's bandwidth limited by a token bucket (<c>tc ... tbf</c>) in both
/// directions. Processes run inside a host with <c>ip netns exec</c>; a host's link can be cut and restored.
///
/// The bridge lives in a namespace of its own (the "switch"), so nothing at all is added to the machine's
/// own network: every interface, address and route made here exists only inside namespaces this object
/// created, and deleting those namespaces removes every one of them. The private subnet therefore cannot
/// collide with the machine's networks; it still differs per instance so that logs of parallel runs are
/// not confused. Dispose always deletes the namespaces (also when a test failed, and at process exit);
/// a new instance first deletes namespaces with this prefix left behind by processes that no longer run.
/// Needs root, <c>ip</c> and <c>tc</c> (iproute2): <see cref="WhyUnavailable"/> says what is missing.
/// </summary>
public sealed class NetworkHosts : IDisposable
{
    /// <summary>Every namespace made here starts with this, then the creating process's id.</summary>
    public const string Prefix = "rcpns";
    static readonly TimeSpan CommandLimit = TimeSpan.FromSeconds(20);
    static int _instances;

    readonly string _name;
    readonly List<string> _namespaces = [];
    readonly string[] _rates;
    bool _disposed;

    /// <param name="hosts">How many hosts (namespaces with one address each).</param>
    /// <param name="rate">Each host link's rate in tc's units ("1gbit", "100mbit").</param>
    public NetworkHosts(int hosts, string rate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hosts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hosts, 200);
        RemoveStale();
        int instance = Interlocked.Increment(ref _instances);
        _name = $"{Prefix}{Environment.ProcessId}x{instance}";
        Subnet = $"10.{100 + instance % 100}.{Environment.ProcessId % 250}";
        _rates = Enumerable.Repeat(rate, hosts).ToArray();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        try
        {
            Make(Switch);
            Ip("-n", Switch, "link", "set", "lo", "up");
            Ip("-n", Switch, "link", "add", "br0", "type", "bridge");
            Ip("-n", Switch, "link", "set", "br0", "up");
            for (int host = 0; host < hosts; host++)
            {
                string ns = Namespace(host);
                Make(ns);
                Ip("-n", Switch, "link", "add", Port(host), "type", "veth", "peer", "name", "eth0", "netns", ns);
                Ip("-n", Switch, "link", "set", Port(host), "master", "br0", "up");
                Ip("-n", ns, "addr", "add", $"{Address(host)}/24", "dev", "eth0");
                Ip("-n", ns, "link", "set", "eth0", "up");
                Ip("-n", ns, "link", "set", "lo", "up");
                SetRate(host, rate);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Count => _rates.Length;
    /// <summary>The first three octets of the hosts' /24 (host i is .i+1).</summary>
    public string Subnet { get; }
    string Switch => $"{_name}-sw";
    static string Port(int host) => $"h{host}";

    public string Namespace(int host) => $"{_name}-h{host}";
    public IPAddress Address(int host) => IPAddress.Parse($"{Subnet}.{host + 1}");
    public string Rate(int host) => _rates[host];

    /// <summary>Limits host <paramref name="host"/>'s link to <paramref name="rate"/> both ways: its own interface's
    /// egress (what it sends) and the switch port's egress (what it receives).</summary>
    public void SetRate(int host, string rate)
    {
        string burst = $"{Math.Max(64 * 1024, BitsPerSecond(rate) / 8 / 500)}b"; // 2 ms of the rate: enough to reach it at 10 Gbit/s
        Tc(Namespace(host), "eth0", rate, burst);
        Tc(Switch, Port(host), rate, burst);
        _rates[host] = rate;
    }

    static void Tc(string ns, string device, string rate, string burst) =>
        Run("tc", "-n", ns, "qdisc", "replace", "dev", device, "root", "tbf", "rate", rate, "burst", burst, "latency", "50ms");

    /// <summary>Cuts (or restores) host <paramref name="host"/>'s cable at the switch: its processes live on, but
    /// nothing reaches them or leaves them; no connection is closed, the others see only silence.</summary>
    public void SetLink(int host, bool up) => Ip("-n", Switch, "link", "set", Port(host), up ? "up" : "down");

    /// <summary>The command line that runs <paramref name="program"/> inside host <paramref name="host"/>
    /// (ip execs it in place, so the process id is the program's).</summary>
    public string[] Exec(int host, string program, IEnumerable<string> arguments) => ["netns", "exec", Namespace(host), program, .. arguments];

    /// <summary>The TCP addresses listened on inside host <paramref name="host"/> (from ss), e.g. "10.100.7.1:2551"; an IPv6
    /// socket bound to an IPv4-mapped address (as Akka's is) is written as that IPv4 address.</summary>
    public IReadOnlyList<string> ListeningAddresses(int host)
    {
        string output = Run("ip", "netns", "exec", Namespace(host), "ss", "-Hltn");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 4).Select(fields => Regex.Replace(fields[3], @"^\[::ffff:([0-9.]+)\]", "$1")).ToList();
    }

    public static long BitsPerSecond(string rate)
    {
        string text = rate.Trim().ToLowerInvariant();
        (string suffix, long factor)[] units = [("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1_000), ("bit", 1)];
        foreach (var (suffix, factor) in units)
            if (text.EndsWith(suffix, StringComparison.Ordinal))
                return (long)(double.Parse(text[..^suffix.Length], CultureInfo.InvariantCulture) * factor);
        throw new ArgumentException($"rate '{rate}' is not in tc's units (e.g. 1gbit, 100mbit)");
    }

    void Make(string ns)
    {
        Ip("netns", "add", ns);
        _namespaces.Add(ns);
    }

    static void Ip(params string[] arguments) => Run("ip", arguments);

    static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandLimit))
        {
            process.Kill();
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within {CommandLimit.TotalSeconds:0} s");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {errors.Result.Trim()}");
        return output.Result;
    }

    /// <summary>Namespaces with this prefix whose creating process is gone (a test host killed mid-test).</summary>
    static void RemoveStale()
    {
        foreach (string ns in Run("ip", "netns", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')[0]))
        {
            if (!ns.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            string digits = new(ns[Prefix.Length..].TakeWhile(char.IsAsciiDigit).ToArray());
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || Directory.Exists($"/proc/{pid}")) continue;
            try { Run("ip", "netns", "del", ns); }
            catch (InvalidOperationException) { /* another run removed it first */ }
        }
    }

    static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root") return $"network namespaces need root (running as {Environment.UserName})";
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':');
        foreach (string tool in new[] { "ip", "tc", "ss" })
            if (!path.Any(folder => File.Exists(Path.Combine(folder, tool)))) return $"'{tool}' not found: install iproute2";
        try
        {
            using var probe = new NetworkHosts(1, "1gbit");
        }
        catch (Exception error) when (error is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            return $"cannot make network namespaces with a bridge and tbf here: {error.Message}";
        }
        return null;
    });

    /// <summary>Null where namespaces, veth, bridges and tbf work; otherwise why not.</summary>
    public static string? WhyUnavailable() => Unavailable.Value;

    void OnProcessExit(object? sender, EventArgs e) => Dispose();

    public void Dispose()
    {
        lock (_namespaces)
        {
            if (_disposed) return;
            _disposed = true;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        // Hosts first: deleting a host's namespace deletes its veth pair, then the switch with the bridge.
        foreach (string ns in Enumerable.Reverse(_namespaces))
        {
            try { Run("ip", "netns", "del", ns); }
            catch (Exception error) when (error is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"warning: could not delete network namespace {ns}: {error.Message}");
            }
        }
    }
}
