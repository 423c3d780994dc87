using System.CommandLine;
using Recipes.Runtime.Distributed.Cluster;
using Recipes.Runtime.Recipes;

namespace Recipes.Serving;

/// <summary>What <c>serve</c> was asked for: the model file, how to run it, and how to listen.</summary>
public sealed record ServeOptions
{
    /// <summary>The saved model to serve (<c>--model</c>, default <c>&lt;output&gt;/model.bin</c>).</summary>
    public required string ModelPath { get; init; }

    /// <summary>Model copies answering at once (<c>--copies</c>); null: the inference core's default for this machine.</summary>
    public int? Copies { get; init; }

    /// <summary>Most rows one forward pass joins (<c>--max-batch</c>); 1 turns dynamic batching off.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>How long a request may wait for others to join its batch (<c>--max-delay-ms</c>); null: the core's default.</summary>
    public TimeSpan? MaxDelay { get; init; }

    /// <summary>The engine that runs the model (<c>--backend torch|onnx</c>); null: the recipe's default (ONNX Runtime
    /// where the recipe can export its model, TorchSharp otherwise).</summary>
    public ServingBackend? Backend { get; init; }

    public required ServeSettings Server { get; init; }

    /// <summary>The recipe's common options (output folder, seed, ...), for loaders that need them.</summary>
    public required CommonOptions Common { get; init; }

    /// <summary>The whole parsed command line: a loader reads the recipe's own options that also apply to serving
    /// (object-detection's <c>--threshold</c>). Null when a program builds the options itself.</summary>
    public ParseResult? CommandLine { get; init; }
}

/// <summary>The engines a served model can run on: TorchSharp (the recipe's own network) or ONNX Runtime (its export).</summary>
public enum ServingBackend { Torch, Onnx }

/// <summary>
/// The <c>serve</c> subcommand a serving recipe adds to its command line with one call:
/// <c>ServeCommand.Add(cli, options =&gt; MyServing.Load(options))</c>. Only recipes that serve reference this package
/// (and so ASP.NET Core). The command listens at once, loads the model through the recipe's loader, says when it is
/// ready, and on Ctrl+C or SIGTERM lets the requests in flight finish and exits 0.
/// <code>
/// &lt;recipe&gt; serve --model M [--listen 127.0.0.1:8080] [--copies N] [--max-batch B] [--max-delay-ms D]
///                 [--backend torch|onnx] [--api-key-file F] [--max-body-mb 16]
/// </code>
/// </summary>
public static class ServeCommand
{
    public static Command Add(RecipeCommandLine cli, Func<ServeOptions, ServedModel> load)
    {
        ArgumentNullException.ThrowIfNull(cli);
        ArgumentNullException.ThrowIfNull(load);
        var model = new Option<string?>("--model") { Description = "Saved model to serve (default: <output>/model.bin)" };
        var listen = new Option<string>("--listen")
        {
            Description = "Address to listen on, host:port (default loopback 127.0.0.1:8080; 0.0.0.0:8080 serves other machines; port 0 picks a free port)",
            DefaultValueFactory = _ => "127.0.0.1:8080",
        };
        var copies = new Option<int?>("--copies") { Description = "Model copies answering at once (default: one per 4 cores, InferenceOptions.DefaultCopies)" };
        var maxBatch = new Option<int>("--max-batch") { Description = "Most requests joined into one forward pass (1: no dynamic batching)", DefaultValueFactory = _ => 32 };
        var maxDelay = new Option<double?>("--max-delay-ms") { Description = "How long a request may wait for others to join its batch, in milliseconds" };
        var backend = new Option<ServingBackend?>("--backend") { Description = "Engine: torch (TorchSharp) or onnx (ONNX Runtime, exported once beside the model); default: onnx where the recipe exports its model" };
        var apiKeyFile = new Option<string?>("--api-key-file") { Description = "File holding the API key requests must send (Authorization: Bearer KEY or X-API-Key: KEY)" };
        var maxBody = new Option<int>("--max-body-mb") { Description = "Largest request body accepted, in MiB (larger: 413)", DefaultValueFactory = _ => 16 };
        var command = new Command("serve", "Serve the saved model over HTTP: the Open Inference Protocol (/v2), /predict, /metrics and a web page at /")
        {
            model, listen, copies, maxBatch, maxDelay, backend, apiKeyFile, maxBody,
        };
        cli.Root.Subcommands.Add(command);
        cli.SetAction((parsed, options, cancellation) =>
        {
            var serve = new ServeOptions
            {
                ModelPath = Path.GetFullPath(parsed.GetValue(model) ?? Path.Combine(options.Output, "model.bin")),
                Copies = parsed.GetValue(copies) is int n ? (n >= 1 ? n : throw new ArgumentException("--copies must be at least 1")) : null,
                MaxBatch = parsed.GetValue(maxBatch) is int batch and >= 1 ? batch : throw new ArgumentException("--max-batch must be at least 1"),
                MaxDelay = parsed.GetValue(maxDelay) is double ms
                    ? (ms >= 0 && double.IsFinite(ms) ? TimeSpan.FromMilliseconds(ms) : throw new ArgumentException("--max-delay-ms must be 0 or more"))
                    : null,
                Backend = parsed.GetValue(backend),
                Server = new ServeSettings
                {
                    Listen = ClusterConfiguration.ParseEndPoint(parsed.GetValue(listen)!, "--listen"),
                    ApiKey = parsed.GetValue(apiKeyFile) is string file ? ReadApiKey(file) : null,
                    MaxBodyBytes = parsed.GetValue(maxBody) is int mb and >= 1 ? mb * 1024L * 1024 : throw new ArgumentException("--max-body-mb must be at least 1"),
                },
                Common = options,
                CommandLine = parsed,
            };
            // Only the serve command itself: a program that hosts InferenceServer decides on its own process's allocator.
            if (NativeAllocator.LimitRetainedMemory() is { } allocator) Console.Out.WriteLine(allocator);
            return Run(serve, load, Console.Out, cancellation);
        }, command);
        return command;
    }

    /// <summary>Serves until <paramref name="cancellation"/>, then drains and returns 0; a model that fails to load throws.</summary>
    public static int Run(ServeOptions serve, Func<ServeOptions, ServedModel> load, TextWriter log, CancellationToken cancellation)
    {
        var server = InferenceServer.StartAsync(serve.Server, () => load(serve), log).GetAwaiter().GetResult();
        try
        {
            log.WriteLine($"Listening on {server.Address} (loading {serve.ModelPath})");
            try
            {
                var served = server.Loaded.WaitAsync(cancellation).GetAwaiter().GetResult();
                var signature = served.Model.Signature;
                log.WriteLine($"Ready: model '{served.Name}' version {signature.Version} ({signature.Platform}); " +
                              $"try {server.Address}v2/models/{served.Name}, POST {server.Address}predict, the page {server.Address}, metrics {server.Address}metrics" +
                              (serve.Server.ApiKey is null ? "" : "; requests need the API key"));
                cancellation.WaitHandle.WaitOne();
            }
            catch (OperationCanceledException)
            {
            }
            log.WriteLine("Stopping: answering the requests in flight");
        }
        finally
        {
            server.StopAsync().GetAwaiter().GetResult();
        }
        log.WriteLine("Stopped");
        return 0;
    }

    static string ReadApiKey(string file)
    {
        if (!File.Exists(file)) throw new RecipeException($"{file}: no such API key file (--api-key-file)");
        string key = File.ReadAllText(file).Trim();
        if (key.Length < 8) throw new RecipeException($"{file}: the API key must have at least 8 characters");
        return key;
    }
}
