using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Spectre.Console;

namespace Recipes.Benchmarks;

/// <summary>
/// The HTTP service under load, end to end: the real <c>transfer-learning serve</c> process on 127.0.0.1 (a free
/// port), and a load generator in this process (HttpClient, one connection pool) sending a real JPEG to
/// <c>POST /predict</c> back to back at concurrency 1, 8 and 32. Side by side in one run, each its own server process:
/// one copy without batching (the baseline), one single-threaded copy per core, one copy with dynamic batching, each on
/// ONNX Runtime and on TorchSharp (<c>--backend</c>). Every cell is bounded in requests and time; requests/s counts
/// answered requests over the cell's wall time; latency is from sending to the whole answer read. Any answer other
/// than a 200 with the model's classes is an error. The server's resident memory (VmRSS) is read once it is ready
/// and warmed up by one request per caller, and again after its last cell.
/// </summary>
static class ServingLoadBenchmark
{
    sealed record Configuration(string Name, string Backend, string[] Arguments);

    sealed record Cell(string Backend, string Configuration, int Concurrency, int Completed, int Errors, double Seconds, double[] LatenciesMs, string? FirstError);

    static readonly int[] Concurrencies = [1, 8, 32];

    public static int Run(string? modelPath, string folder, int requestsPerCell, double secondsPerCell)
    {
        int cores = Environment.ProcessorCount;
        string work = Path.Combine(Path.GetTempPath(), $"serving-load-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            modelPath = modelPath is null ? Train(folder, work) : Path.GetFullPath(modelPath);
            if (!File.Exists(modelPath)) throw new FileNotFoundException($"{modelPath}: no saved transfer-learning model (omit --model to train a quick one)");
            string picture = Picture(folder, work);
            byte[] jpeg = File.ReadAllBytes(picture);
            AnsiConsole.MarkupLine(Markup.Escape($"transfer-learning serve, model {modelPath}, picture {picture} ({jpeg.Length:N0} bytes), {cores} cores, " +
                                                 $"up to {requestsPerCell:N0} requests or {secondsPerCell} s per cell; load average before: {LoadAverage()}"));
            var configurations = new List<Configuration>();
            foreach (string backend in new[] { "onnx", "torch" })
            {
                configurations.Add(new($"1 copy, no batching", backend, ["--copies", "1", "--max-batch", "1"]));
                configurations.Add(new($"{cores} copies, no batching", backend, ["--copies", $"{cores}", "--max-batch", "1"]));
                configurations.Add(new("1 copy, dynamic batching (max 32, 2 ms)", backend, ["--copies", "1", "--max-batch", "32", "--max-delay-ms", "2"]));
            }

            var cells = new List<Cell>();
            var memory = new List<(string Backend, string Configuration, long Before, long After, int Requests)>();
            foreach (var configuration in configurations)
            {
                using var server = StartServer(modelPath, configuration);
                using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
                {
                    BaseAddress = server.Address,
                    Timeout = TimeSpan.FromSeconds(60),
                };
                // Untimed warm-up: one request per caller of the largest concurrency, so every copy has run once.
                Task.WaitAll([.. Enumerable.Range(0, Concurrencies.Max()).Select(_ => SendAsync(client, jpeg))]);
                long before = server.ResidentBytes();
                int sent = 0;
                foreach (int concurrency in Concurrencies)
                {
                    var cell = Measure(client, jpeg, concurrency, requestsPerCell, TimeSpan.FromSeconds(secondsPerCell)) with
                    {
                        Backend = configuration.Backend, Configuration = configuration.Name,
                    };
                    cells.Add(cell);
                    sent += cell.Completed + cell.Errors;
                    AnsiConsole.MarkupLine(Markup.Escape($"  {configuration.Backend}, {configuration.Name}, concurrency {concurrency}: {cell.Completed / cell.Seconds:F1} requests/s, {cell.Errors} errors" +
                                                         (cell.FirstError is null ? "" : $" (first: {cell.FirstError})")));
                    // A 500 says only that the server's log has the cause: show the log's error lines with the cell.
                    if (cell.Errors > 0)
                        foreach (string line in server.Output.Split('\n').Where(l => l.StartsWith("error", StringComparison.Ordinal)).Distinct().Take(5))
                            AnsiConsole.MarkupLine(Markup.Escape($"    server: {line.TrimEnd()}"));
                }
                memory.Add((configuration.Backend, configuration.Name, before, server.ResidentBytes(), sent));
                int exit = server.Stop();
                if (exit != 0) AnsiConsole.MarkupLine(Markup.Escape($"  the server exited with {exit} after SIGTERM: {server.Output}"));
            }

            var table = new Table().AddColumns("backend", "configuration", "concurrency", "requests", "errors", "requests/s", "p50 ms", "p95 ms", "p99 ms");
            foreach (var cell in cells)
            {
                Array.Sort(cell.LatenciesMs);
                table.AddRow(cell.Backend, Markup.Escape(cell.Configuration), Text(cell.Concurrency), Text(cell.Completed), Text(cell.Errors),
                    Text(cell.Completed / cell.Seconds, "F1"), Text(Percentile(cell.LatenciesMs, 0.50), "F1"), Text(Percentile(cell.LatenciesMs, 0.95), "F1"),
                    Text(Percentile(cell.LatenciesMs, 0.99), "F1"));
            }
            AnsiConsole.Write(table);
            var rss = new Table().AddColumns("backend", "configuration", "requests", "server RSS before (MB)", "after (MB)", "change (MB)");
            foreach (var (backend, configuration, before, after, requests) in memory)
                rss.AddRow(backend, Markup.Escape(configuration), Text(requests), Text(before / 1048576.0, "F0"), Text(after / 1048576.0, "F0"), Text((after - before) / 1048576.0, "+0;-0;0"));
            AnsiConsole.Write(rss);
            AnsiConsole.MarkupLine($"Load average after: {LoadAverage()}.");
            return cells.Sum(c => c.Errors) == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The recipe's quick run (1 epoch, 16 pictures) on the sample folder, or generated textures where it is missing.</summary>
    static string Train(string folder, string work)
    {
        string output = Path.Combine(work, "model");
        var arguments = new List<string> { "--epochs", "1", "--batch-size", "8", "--max-samples", "16", "--output", output };
        if (Directory.Exists(folder)) arguments.InsertRange(0, ["--data", folder]);
        AnsiConsole.MarkupLine(Markup.Escape($"Training a quick transfer-learning model: transfer-learning {string.Join(' ', arguments)}"));
        using var process = Process.Start(StartInfo(arguments, redirect: false)) ?? throw new InvalidOperationException("could not start transfer-learning");
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("training the quick transfer-learning model took over 15 minutes");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"training the quick transfer-learning model failed (exit {process.ExitCode})");
        return Path.Combine(output, "model.bin");
    }

    /// <summary>The first JPEG of the folder (in name order), else a generated one: a real JPEG either way.</summary>
    static string Picture(string folder, string work)
    {
        if (Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).FirstOrDefault() is { } found)
            return found;
        string path = Path.Combine(work, "picture.jpg");
        using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(400, 300);
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                image[x, y] = new((byte)(255 * x / image.Width), (byte)(255 * y / image.Height), (byte)((x ^ y) & 255));
        SixLabors.ImageSharp.ImageExtensions.SaveAsJpeg(image, path);
        return path;
    }

    static ProcessStartInfo StartInfo(IEnumerable<string> arguments, bool redirect)
    {
        string assembly = Path.Combine(AppContext.BaseDirectory, "transfer-learning.dll");
        if (!File.Exists(assembly)) throw new FileNotFoundException($"{assembly} was not built next to the benchmark");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = redirect, RedirectStandardError = redirect };
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }

    static ServerProcess StartServer(string modelPath, Configuration configuration)
    {
        var arguments = new List<string> { "serve", "--model", modelPath, "--listen", "127.0.0.1:0", "--backend", configuration.Backend };
        arguments.AddRange(configuration.Arguments);
        AnsiConsole.MarkupLine(Markup.Escape($"transfer-learning {string.Join(' ', arguments)}"));
        return new ServerProcess(StartInfo(arguments, redirect: true), TimeSpan.FromMinutes(5));
    }

    static async Task<string?> SendAsync(HttpClient client, byte[] jpeg)
    {
        using var content = new ByteArrayContent(jpeg);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await client.PostAsync("/predict", content);
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) return $"HTTP {(int)response.StatusCode}: {body}";
        using var answer = JsonDocument.Parse(body);
        return answer.RootElement.TryGetProperty("classes", out var classes) && classes.GetArrayLength() > 0 ? null : $"no classes in {body}";
    }

    static Cell Measure(HttpClient client, byte[] jpeg, int concurrency, int requests, TimeSpan budget)
    {
        var latencies = new double[requests];
        int next = -1, completed = 0, errors = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                int index = Interlocked.Increment(ref next);
                if (index >= requests || clock.Elapsed > budget) return;
                long started = Stopwatch.GetTimestamp();
                string? error;
                try
                {
                    error = await SendAsync(client, jpeg);
                }
                catch (Exception failure) when (failure is HttpRequestException or TaskCanceledException or JsonException)
                {
                    error = $"{failure.GetType().Name}: {failure.Message}";
                }
                if (error is null)
                {
                    latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    Interlocked.Increment(ref completed);
                }
                else
                {
                    latencies[index] = double.NaN;
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, error, null);
                }
            }
        })).ToArray();
        Task.WaitAll(callers);
        double seconds = clock.Elapsed.TotalSeconds;
        var measured = latencies.Take(Math.Min(requests, next)).Where(l => l > 0).ToArray();
        return new Cell("", "", concurrency, completed, errors, seconds, measured, firstError);
    }

    static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];

    static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    static string Text(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    static string Text(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A <c>serve</c> process: started, ready once it printed "Ready:", stopped by SIGTERM.</summary>
    sealed class ServerProcess : IDisposable
    {
        readonly Process _process;
        readonly System.Text.StringBuilder _output = new();
        readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Uri? _listening;

        public ServerProcess(ProcessStartInfo start, TimeSpan readyWithin)
        {
            _process = new Process { StartInfo = start };
            _process.OutputDataReceived += (_, line) => OnLine(line.Data);
            _process.ErrorDataReceived += (_, line) => OnLine(line.Data);
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            var exited = _process.WaitForExitAsync();
            var first = Task.WhenAny(_ready.Task, exited, Task.Delay(readyWithin)).GetAwaiter().GetResult();
            if (first != _ready.Task)
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
                throw new InvalidOperationException(first == exited ? $"serve exited with {_process.ExitCode} before it was ready: {Output}" : $"serve was not ready within {readyWithin}: {Output}");
            }
            Address = _ready.Task.Result;
        }

        public Uri Address { get; }

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        void OnLine(string? line)
        {
            if (line is null) return;
            lock (_output) _output.AppendLine(line);
            const string listening = "Listening on ";
            if (line.StartsWith(listening, StringComparison.Ordinal)) _listening = new Uri(line[listening.Length..].Split(' ')[0]);
            if (line.StartsWith("Ready:", StringComparison.Ordinal) && _listening is not null) _ready.TrySetResult(_listening);
        }

        /// <summary>The server's resident set (VmRSS of /proc/PID/status), in bytes.</summary>
        public long ResidentBytes()
        {
            string status = $"/proc/{_process.Id}/status";
            if (!File.Exists(status)) return 0;
            string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }

        /// <summary>SIGTERM, then its exit code (it drains and exits 0); killed if it has not stopped within a minute.</summary>
        public int Stop()
        {
            if (_process.HasExited) return _process.ExitCode;
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
            if (!_process.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
                return -1;
            }
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited) Stop();
            _process.Dispose();
        }
    }
}
