using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Recipes.Runtime.Recipes;
using Recipes.Serving;
using Recipes.Tests.Recipes;

namespace Recipes.Tests.Serving;

/// <summary>
/// A recipe trained once by its tiniest run (as a separate process, as a user would run it) into a temporary folder,
/// for the serving tests of that recipe to serve. The folder goes when the tests are done.
/// </summary>
public abstract class TrainedRecipeModel : IDisposable
{
    protected TrainedRecipeModel(string recipe, IReadOnlyList<string> arguments, TimeSpan limit)
    {
        Recipe = recipe;
        Folder = Path.Combine(Path.GetTempPath(), $"serve-{recipe}-{Guid.NewGuid():N}");
        Output = Path.Combine(Folder, "run");
        var run = RecipeProcess.Run(recipe, [.. arguments, "--output", Output, "--cache", Path.Combine(Folder, "cache")], limit);
        if (run.ExitCode != 0 || !File.Exists(ModelPath))
            throw new Xunit.Sdk.XunitException($"training {recipe} for the serving tests failed (exit {run.ExitCode}): {run.Output}{run.Errors}");
    }

    public string Recipe { get; }
    public string Folder { get; }
    public string Output { get; }
    public string ModelPath => Path.Combine(Output, "model.bin");

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>Serving a recipe's model in this process on 127.0.0.1 (a port the system picks), and calling it.</summary>
static class VisionServingKit
{
    public static ServeOptions Options(string recipe, string modelPath, ServingBackend? backend, int copies = 1, int maxBatch = 8) => new()
    {
        ModelPath = modelPath,
        Copies = copies,
        MaxBatch = maxBatch,
        Backend = backend,
        Server = new ServeSettings { Listen = new IPEndPoint(IPAddress.Loopback, 0) },
        Common = new CommonOptions
        {
            Recipe = recipe, Output = Path.GetDirectoryName(modelPath)!, Epochs = 1, BatchSize = 1, LearningRate = 0.001, Master = "local[1]", Seed = 1,
        },
    };

    /// <summary>Starts the service and waits (at most 3 minutes: an export and a warm-up on a busy 2-core machine) until it is ready.</summary>
    public static async Task<InferenceServer> StartAsync(ServeOptions options, Func<ServeOptions, TextWriter, ServedModel> load, TextWriter log)
    {
        var server = await InferenceServer.StartAsync(options.Server, () => load(options, log), log);
        try
        {
            await server.Loaded.WaitAsync(TimeSpan.FromMinutes(3));
        }
        catch
        {
            await server.StopAsync();
            throw;
        }
        return server;
    }

    /// <summary>A smooth colourful picture (gradients and a disc), written as PNG: an upload where no sample photograph is at hand.</summary>
    public static string WriteGeneratedPicture(string path, int width, int height)
    {
        using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                bool disc = Math.Pow(x - width / 2.0, 2) + Math.Pow(y - height / 2.0, 2) < Math.Pow(Math.Min(width, height) / 4.0, 2);
                image[x, y] = disc ? new(230, 200, 40) : new((byte)(255 * x / width), (byte)(255 * y / height), 128);
            }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, path);
        return path;
    }

    /// <summary>Where a browser test keeps its screenshot: a folder of the temporary directory that outlives the test's
    /// own (the trained model's folder goes with the fixture), so a person can look at the page as the test saw it.</summary>
    public static string ScreenshotPath(string file)
    {
        string folder = Path.Combine(Path.GetTempPath(), "recipes-serving-screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, file);
    }

    public static HttpClient Client(Uri address) => new() { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>POST /predict with the raw bytes of an image file; the status and the JSON body.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> PredictAsync(HttpClient client, string imagePath, string query = "")
    {
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(imagePath));
        content.Headers.ContentType = new MediaTypeHeaderValue(Path.GetExtension(imagePath).ToLowerInvariant() == ".png" ? "image/png" : "image/jpeg");
        using var response = await client.PostAsync("/predict" + query, content);
        return (response.StatusCode, await JsonBodyAsync(response));
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await JsonBodyAsync(response));
    }

    static async Task<JsonElement> JsonBodyAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"answered {(int)response.StatusCode} with a body that is not JSON: {text}");
        }
    }

    /// <summary>The answer's classes as (label, probability), in the answer's order.</summary>
    public static (string Label, double Probability)[] Classes(JsonElement answer) =>
        [.. answer.GetProperty("classes").EnumerateArray().Select(c => (c.GetProperty("label").GetString()!, c.GetProperty("probability").GetDouble()))];

    /// <summary>The model metadata of <c>GET /v2/models/{name}</c>: its inputs and outputs by name, with their shapes.</summary>
    public static Dictionary<string, long[]> Tensors(JsonElement metadata, string part) =>
        metadata.GetProperty(part).EnumerateArray().ToDictionary(
            t => t.GetProperty("name").GetString()!,
            t => t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());

    /// <summary>
    /// <c>&lt;recipe&gt; serve ... --listen 127.0.0.1:0</c> as its own process, as a user would start it: returns once it
    /// printed "Ready", with the address it printed. <see cref="ServeProcess.Stop"/> sends SIGTERM and waits for it to exit.
    /// </summary>
    public static ServeProcess StartProcess(string recipe, IEnumerable<string> arguments) => new(recipe, arguments);
}

sealed class ServeProcess : IDisposable
{
    readonly Process _process;
    readonly System.Text.StringBuilder _output = new();
    readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Uri? _listening;

    public ServeProcess(string recipe, IEnumerable<string> arguments)
    {
        string assembly = Path.Combine(AppContext.BaseDirectory, $"{recipe}.dll");
        Assert.True(File.Exists(assembly), $"{assembly} was not built next to the tests");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, line) => OnLine(line.Data);
        _process.ErrorDataReceived += (_, line) => OnLine(line.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        const string listening = "Listening on ";
        if (line.StartsWith(listening, StringComparison.Ordinal)) _listening = new Uri(line[listening.Length..].Split(' ')[0]);
        if (line.StartsWith("Ready:", StringComparison.Ordinal) && _listening is not null) _ready.TrySetResult(_listening);
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public async Task<Uri> WaitReadyAsync(TimeSpan limit)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_ready.Task, exited, Task.Delay(limit));
        if (first == _ready.Task) return _ready.Task.Result;
        throw new Xunit.Sdk.XunitException(first == exited
            ? $"serve exited with {_process.ExitCode} before it was ready: {Output}"
            : $"serve was not ready within {limit}: {Output}");
    }

    /// <summary>SIGTERM, as a service manager stops it; the exit code once it drained and stopped (at most a minute).</summary>
    public int Stop()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill.WaitForExit();
        if (!_process.WaitForExit(TimeSpan.FromMinutes(1)))
            throw new Xunit.Sdk.XunitException($"serve did not stop within a minute of SIGTERM: {Output}");
        _process.WaitForExit(); // the output events are flushed
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}

/// <summary>The serving page in headless chromium: upload a picture as a user would, wait for the drawn answer.</summary>
sealed class ServingPageInBrowser : IAsyncDisposable
{
    readonly PuppeteerSharp.IBrowser _browser;

    ServingPageInBrowser(PuppeteerSharp.IBrowser browser, PuppeteerSharp.IPage page)
    {
        _browser = browser;
        Page = page;
    }

    public PuppeteerSharp.IPage Page { get; }

    /// <summary>Opens the page at <paramref name="address"/> and waits until it has read the model's description.</summary>
    public static async Task<ServingPageInBrowser> OpenAsync(Uri address)
    {
        var browser = await PuppeteerSharp.Puppeteer.LaunchAsync(new PuppeteerSharp.LaunchOptions
        {
            Headless = true,
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            // No sandbox: test machines and containers often run as root, where chromium's sandbox refuses to start.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            Timeout = 120_000,
        });
        try
        {
            var page = await browser.NewPageAsync();
            await page.SetViewportAsync(new PuppeteerSharp.ViewPortOptions { Width = 900, Height = 1000 });
            await page.GoToAsync(address.ToString(), new PuppeteerSharp.NavigationOptions { Timeout = 60_000 });
            await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'Ready.'", new PuppeteerSharp.WaitForFunctionOptions { Timeout = 60_000 });
            return new ServingPageInBrowser(browser, page);
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Chooses <paramref name="picture"/> in the file input and waits (up to 2 minutes) until the answer is drawn.</summary>
    public async Task UploadAsync(string picture)
    {
        var input = await Page.QuerySelectorAsync("#file") ?? throw new Xunit.Sdk.XunitException("the page has no file input #file");
        await input.UploadFileAsync(picture);
        await Page.WaitForFunctionAsync("() => ['Done.'].includes(document.getElementById('status').textContent) || document.getElementById('status').classList.contains('error')",
            new PuppeteerSharp.WaitForFunctionOptions { Timeout = 120_000 });
        string status = await Page.EvaluateExpressionAsync<string>("document.getElementById('status').textContent");
        Assert.True(status == "Done.", $"the page says: {status}");
    }

    /// <summary>Pixels of the overlay canvas that something was drawn on (alpha above 0), and the canvas's size.</summary>
    public Task<int[]> OverlayPixelsDrawnAsync() => Page.EvaluateExpressionAsync<int[]>(
        """
        (() => {
          const canvas = document.getElementById('overlay');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let drawn = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
          return [drawn, canvas.width, canvas.height];
        })()
        """);

    public Task ScreenshotAsync(string path) => Page.ScreenshotAsync(path, new PuppeteerSharp.ScreenshotOptions { FullPage = false });

    public async ValueTask DisposeAsync()
    {
        await Page.DisposeAsync();
        await _browser.DisposeAsync();
    }
}
