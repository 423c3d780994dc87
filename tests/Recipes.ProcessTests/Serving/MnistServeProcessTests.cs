using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Recipes.Mnist;
using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using Recipes.Tests.Recipes;
using SixLabors.ImageSharp.Processing;
using TorchSharp;
using static Recipes.Tests.Serving.ServingTestKit;

namespace Recipes.Tests.Serving;

/// <summary>A recipe's <c>serve</c> running as its own process, as a user starts it; killed at the end if it is still there.</summary>
sealed partial class ServingProcess : IDisposable
{
    readonly Process _process;
    readonly List<string> _lines = [];
    readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServingProcess(string recipe, IEnumerable<string> arguments)
    {
        string assembly = Path.Combine(AppContext.BaseDirectory, $"{recipe}.dll");
        Assert.True(File.Exists(assembly), $"{assembly} was not built next to the tests");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, line) => Read(line.Data);
        _process.ErrorDataReceived += (_, line) => Read(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_lines) return string.Join('\n', _lines);
        }
    }

    void Read(string? line)
    {
        if (line is null) return;
        lock (_lines) _lines.Add(line);
        if (ListeningLine().Match(line) is { Success: true } match) _listening.TrySetResult(new Uri(match.Groups[1].Value));
        if (line.StartsWith("Ready:", StringComparison.Ordinal)) _ready.TrySetResult();
    }

    /// <summary>The address once the model is loaded and warmed up; fails with the process's output if it ends first.</summary>
    public async Task<Uri> WaitUntilReadyAsync(TimeSpan limit)
    {
        var exited = _process.WaitForExitAsync();
        var ready = Task.WhenAll(_listening.Task, _ready.Task);
        var first = await Task.WhenAny(ready, exited, Task.Delay(limit));
        Assert.True(first == ready, first == exited ? $"serve exited with {_process.ExitCode}: {Output}" : $"serve was not ready within {limit}: {Output}");
        return await _listening.Task;
    }

    /// <summary>SIGTERM, as docker stop, Kubernetes and systemd send it.</summary>
    public void Terminate() => Assert.Equal(0, Kill(_process.Id, 15));

    public int WaitForExit(TimeSpan limit)
    {
        Assert.True(_process.WaitForExit(limit), $"serve did not exit within {limit} of SIGTERM: {Output}");
        _process.WaitForExit(); // the output readers finish
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"^Listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}

/// <summary>A LeNet-5 trained briefly by the mnist recipe itself (a separate process), once for the tests of this class.</summary>
public sealed class TrainedMnistFixture : IDisposable
{
    public TrainedMnistFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), $"mnist-serve-{Guid.NewGuid():N}");
        var run = RecipeProcess.Run("mnist", ["--offline", "--epochs", "2", "--max-samples", "3000", "--batch-size", "128", "--master", "local[2]",
            "--output", Path.Combine(Folder, "trained"), "--cache", Path.Combine(Folder, "cache")]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
    }

    public string Folder { get; }
    public string ModelPath => Path.Combine(Folder, "trained", "model.bin");

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }
}

/// <summary>
/// <c>mnist serve</c> end to end: the recipe trains a small model, serves it from its own process, and answers /predict
/// for generated digits as the saved model does in this process (within 1e-4: another process with other thread counts,
/// so float sums may round differently; DESIGN.md 7); SIGTERM lets a request in flight finish and exits 0.
/// </summary>
public sealed class MnistServeProcessTests(TrainedMnistFixture trained) : IClassFixture<TrainedMnistFixture>
{
    const double Tolerance = 1e-4;

    string[] Serve(params string[] more) => ["serve", "--model", trained.ModelPath, "--listen", "127.0.0.1:0", "--copies", "1", .. more];

    [Fact]
    public async Task Serve_answers_predict_for_digits_as_the_saved_model_does()
    {
        using var serve = new ServingProcess("mnist", Serve());
        var address = await serve.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));
        using var client = Client(address);

        using var loaded = SavedModel<MnistModelDescription>.Load(trained.ModelPath, description => new LeNet5(description.ClassCount));
        var (saved, info) = loaded;
        saved.eval();
        int right = 0;
        const int digits = 20;
        for (int i = 0; i < digits; i++)
        {
            int label = i % 10;
            using var digit = Digit(label, seed: 1000 + i);
            byte[] png = Png(digit);
            var (status, answer) = await PostAsync(client, "/predict?top=10", ImageContent(png, "image/png"));
            Assert.True(status == HttpStatusCode.OK, answer.ToString());
            Assert.Equal("mnist", answer.GetProperty("model").GetString());
            double[] expected = Probabilities(saved, png, info);
            foreach (var score in answer.GetProperty("classes").EnumerateArray())
                Assert.InRange(score.GetProperty("probability").GetDouble(), expected[score.GetProperty("index").GetInt32()] - Tolerance, expected[score.GetProperty("index").GetInt32()] + Tolerance);
            if (answer.GetProperty("classes")[0].GetProperty("label").GetString() == $"{label}") right++;

            // The same digit drawn dark on light (as on paper) is inverted back: the same answer.
            using var onPaper = digit.Clone(context => context.Invert());
            var (paperStatus, paperAnswer) = await PostAsync(client, "/predict", ImageContent(Jpeg(onPaper), "image/jpeg"));
            Assert.Equal(HttpStatusCode.OK, paperStatus);
            Assert.Equal(answer.GetProperty("classes")[0].GetProperty("label").GetString(), paperAnswer.GetProperty("classes")[0].GetProperty("label").GetString());
        }
        // Two short epochs on 3,000 generated digits reach about 0.9 test accuracy (MnistRecipeTests asks 0.5).
        Assert.True(right >= digits / 2, $"{right} of {digits} generated digits classified right: the served preprocessing does not match training");

        var metadata = await GetAsync(client, "/v2/models/mnist");
        Assert.Equal([-1L, 1, 28, 28], Longs(metadata.Body.GetProperty("inputs")[0].GetProperty("shape")));
        string metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("recipes_serving_requests_total{model=\"mnist\",endpoint=\"/predict\",status=\"200\"} 40", metrics);
        Assert.Contains("recipes_serving_batch_size_count{model=\"mnist\"}", metrics);

        // The serve command tuned glibc's allocator for a long-running server (NativeAllocator) and said so.
        if (OperatingSystem.IsLinux()) Assert.Contains("Native memory: glibc malloc", serve.Output);
    }

    [Fact]
    public async Task Sigterm_answers_the_request_in_flight_and_exits_0()
    {
        using var serve = new ServingProcess("mnist", Serve());
        var address = await serve.WaitUntilReadyAsync(TimeSpan.FromMinutes(2));
        using var client = Client(address);
        using var digit = Digit(4);
        var body = new TrickledContent(Png(digit));

        // The request is under way (headers and half the image sent, and the server answering it) when the signal
        // comes; the rest of the image follows after it. The server's own gauge says when it has the request: the
        // client having sent bytes does not (they may still wait in the kernel for Kestrel's accept loop).
        var inFlight = client.PostAsync("/predict", body);
        await body.HalfSent.Task.WaitAsync(TimeSpan.FromMinutes(1));
        await WaitForRequestsInFlightAsync(address, expected: 2, TimeSpan.FromMinutes(1)); // the POST and the scrape itself
        serve.Terminate();
        await Task.Delay(500);
        body.SendTheRest.SetResult();
        using var answer = await inFlight.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(answer.StatusCode == HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        Assert.Equal(0, serve.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Contains("Stopped", serve.Output);
    }

    [Fact]
    public void A_missing_model_file_ends_serve_with_one_clear_line()
    {
        var run = RecipeProcess.Run("mnist", ["serve", "--model", Path.Combine(trained.Folder, "nothing.bin"), "--listen", "127.0.0.1:0"], TimeSpan.FromMinutes(2));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no saved model", run.Errors);
        Assert.DoesNotContain("   at ", run.Errors);
    }

    static async Task WaitForRequestsInFlightAsync(Uri address, int expected, TimeSpan timeout)
    {
        using var scraper = Client(address);
        var deadline = DateTime.UtcNow + timeout;
        string line = "";
        while (DateTime.UtcNow < deadline)
        {
            string metrics = await scraper.GetStringAsync("/metrics");
            line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("recipes_serving_requests_in_flight ", StringComparison.Ordinal)) ?? "(no gauge)";
            if (line == $"recipes_serving_requests_in_flight {expected}") return;
            await Task.Delay(20);
        }
        throw new TimeoutException($"the server never had {expected} requests in flight; last: {line}");
    }

    static double[] Probabilities(LeNet5 model, byte[] encoded, MnistModelDescription info)
    {
        using var image = SafeImageDecoder.Default.DecodeImage(encoded, "digit");
        float[] pixels = MnistServing.Preprocess(image, info.Mean, info.Std);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var probabilities = torch.nn.functional.softmax(model.forward(torch.tensor(pixels, [1, 1, 28, 28])), 1);
        return [.. probabilities.data<float>().ToArray().Select(p => (double)p)];
    }

    /// <summary>A body sent in two halves: the second only when the test says so.</summary>
    sealed class TrickledContent : HttpContent
    {
        readonly byte[] _bytes;

        public TrickledContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
        }

        public TaskCompletionSource HalfSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource SendTheRest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            int half = _bytes.Length / 2;
            await stream.WriteAsync(_bytes.AsMemory(0, half));
            await stream.FlushAsync();
            HalfSent.TrySetResult();
            await SendTheRest.Task.WaitAsync(TimeSpan.FromMinutes(1));
            await stream.WriteAsync(_bytes.AsMemory(half));
        }

        // A declared length, as browsers and curl send uploads (with a chunked body the client saw the connection end).
        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }
}
