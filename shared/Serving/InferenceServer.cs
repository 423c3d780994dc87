using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;

namespace Recipes.Serving;

/// <summary>How the service listens and what it accepts.</summary>
public sealed record ServeSettings
{
    /// <summary>Loopback by default: serving to other machines is a decision (<c>--listen 0.0.0.0:8080</c>). Port 0 picks a free port.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 8080);

    /// <summary>When set, every request but the health probes and the page's static files needs this key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Larger bodies get 413 before they are read to the end.</summary>
    public long MaxBodyBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Images whose header declares more pixels get 413 before any pixel is decoded (decompression bombs).</summary>
    public long MaxImagePixels { get; init; } = 25_000_000;

    /// <summary>How long a stop waits for the requests in flight.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// While connections are open, a stop keeps listening at least this long after saying not ready: a request whose
    /// bytes were on the way when the signal came (sent, not yet parsed into a request) is answered, and a load
    /// balancer has time to see the readiness probe fail. Without open connections the stop waits only the
    /// <see cref="AcceptGrace"/>.
    /// </summary>
    public TimeSpan DrainGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// However idle the server looks, a stop keeps listening this long: a client's connection can be complete in the
    /// kernel (and its request sent) before Kestrel's accept loop has taken it, so no connection is counted yet, and
    /// closing the listener then resets it. On a busy machine that is the likeliest reason a request was still cut in CI
    /// after the drain grace was in place.
    /// </summary>
    public TimeSpan AcceptGrace { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// The HTTP service of one served model, on Kestrel:
/// <list type="bullet">
/// <item>the Open Inference Protocol (KServe v2): <c>GET /v2/health/live</c>, <c>GET /v2/health/ready</c>, <c>GET /v2</c>,
/// <c>GET /v2/models/{name}[/versions/{version}]</c>, <c>.../ready</c> and <c>POST .../infer</c>;</item>
/// <item><c>POST /predict</c>: an image (raw <c>image/jpeg</c> or <c>image/png</c> bytes, or the multipart field
/// <c>image</c>) or a user id, answered as the <see cref="ServedModel"/> says;</item>
/// <item><c>GET /metrics</c> (Prometheus), <c>GET /</c> (the web page) and <c>GET /ui/config</c> (what the page draws).</item>
/// </list>
/// It listens at once (live) and loads the model in the background; it is ready once the model answered a warm-up
/// request. Bad requests get a 4xx and one line of JSON, <c>{"error": "..."}</c>; a full queue 503; anything else a
/// 500 without a stack trace (the server log has the error). With an API key, requests other than the health probes
/// and the page's static files need <c>Authorization: Bearer KEY</c> or <c>X-API-Key: KEY</c>: probes must work
/// without secrets and the static page holds no data (it asks for the key when <c>/ui/config</c> answers 401).
/// <see cref="StopAsync"/> stops listening, lets the requests in flight finish, then disposes the model.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    public const string ServerName = "recipes-serving";

    static readonly JsonSerializerOptions AnswerJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower };
    static readonly string[] OpenPaths = ["/v2/health/live", "/v2/health/ready", "/", "/ui/app.js", "/ui/app.css"];
    static readonly string[] ImageContentTypes = ["image/jpeg", "image/png", "image/bmp", "image/gif", "image/webp"];

    readonly ServeSettings _settings;
    readonly TextWriter _log;
    readonly WebApplication _app;
    readonly SafeImageDecoder _decoder;
    readonly TaskCompletionSource<ServedModel> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Lock _modelLock = new();
    readonly byte[]? _apiKey;
    ServedModel? _model; // set once the model answered its warm-up request
    bool _stopped;
    int _inFlight; // requests between the first middleware's start and end
    int _openConnections; // TCP connections accepted and not yet closed (idle keep-alive ones included)
    volatile bool _draining; // stopping: not ready any more, the requests in flight finishing

    InferenceServer(ServeSettings settings, TextWriter log)
    {
        _settings = settings;
        _log = TextWriter.Synchronized(log);
        _apiKey = settings.ApiKey is { } key ? Encoding.UTF8.GetBytes(key) : null;
        _decoder = new SafeImageDecoder(new ImageDecodingLimits { MaxPixels = settings.MaxImagePixels, MaxFileBytes = settings.MaxBodyBytes });
        Metrics = new ServingMetrics();
        Metrics.TrackRequestsInFlight(() => Volatile.Read(ref _inFlight));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = Environments.Production, ApplicationName = ServerName });
        builder.Logging.ClearProviders(); // errors are logged here, one line each; the framework's logs would repeat them
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>(); // the recipe host owns Ctrl+C and SIGTERM
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = settings.DrainTimeout);
        builder.Services.Configure<FormOptions>(options =>
        {
            options.MultipartBodyLengthLimit = settings.MaxBodyBytes;
            options.ValueCountLimit = 16;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(settings.Listen, listen => listen.Use(next => async connection =>
            {
                Interlocked.Increment(ref _openConnections);
                try
                {
                    await next(connection);
                }
                finally
                {
                    Interlocked.Decrement(ref _openConnections);
                }
            }));
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = settings.MaxBodyBytes;
        });
        _app = builder.Build();
        _app.UseRouting();
        _app.Use(MeasureAsync);
        _app.Use(AnswerErrorsAsync);
        _app.Use(CheckApiKeyAsync);
        MapEndpoints(_app);
    }

    /// <summary>Starts listening and loads the model in the background; <see cref="Loaded"/> says when it is ready.</summary>
    public static async Task<InferenceServer> StartAsync(ServeSettings settings, Func<ServedModel> load, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(load);
        var server = new InferenceServer(settings, log ?? TextWriter.Null);
        await server._app.StartAsync();
        string address = server._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.Address = new Uri(address.EndsWith('/') ? address : address + "/");
        _ = Task.Run(() => server.LoadAndWarmUp(load));
        return server;
    }

    /// <summary>The address bound, e.g. <c>http://127.0.0.1:8080/</c> (the real port when 0 was asked for).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Completes with the model once it is loaded and warmed up; faults with the loading error.</summary>
    public Task<ServedModel> Loaded => _loaded.Task;

    public ServingMetrics Metrics { get; }

    void LoadAndWarmUp(Func<ServedModel> load)
    {
        ServedModel? served = null;
        try
        {
            served = load();
            // One request through the whole path (queue, a model copy, the outputs) before saying ready.
            served.Model.InferAsync(WarmUpInputs(served.Model.Signature)).GetAwaiter().GetResult();
            Metrics.TrackQueue(served.Name, () => served.Model.QueueLength);
            // Batch sizes show whether dynamic batching joins requests; counted from here on, without the warm-up.
            if (served.Model is InferenceModel batching)
                batching.BatchRan += (rows, elapsed) => Metrics.ObserveBatch(served.Name, rows, elapsed);
            lock (_modelLock)
            {
                if (_stopped)
                {
                    served.Dispose();
                    _loaded.TrySetCanceled();
                    return;
                }
                _model = served;
            }
            _loaded.TrySetResult(served);
        }
        catch (Exception error)
        {
            served?.Dispose();
            _loaded.TrySetException(error);
        }
    }

    /// <summary>Zeros of every input's shape, batch 1: what a warm-up needs and every model accepts.</summary>
    static IReadOnlyList<NamedTensor> WarmUpInputs(ModelSignature signature) =>
    [
        .. signature.Inputs.Select(spec =>
        {
            long[] shape = [.. spec.Shape.Select(size => size < 0 ? 1 : size)];
            long count = shape.Aggregate(1L, (product, size) => product * size);
            return spec.Datatype == TensorDatatype.FP32 ? new NamedTensor(spec.Name, shape, Floats: new float[count]) : new NamedTensor(spec.Name, shape, Longs: new long[count]);
        }),
    ];

    /// <summary>
    /// Says not ready, keeps listening for the accept grace (and while connections are open for the drain grace), then
    /// until the requests in flight are answered (up to the drain timeout), then stops listening and disposes the model.
    /// Waiting before Kestrel's own stop matters: Kestrel's shutdown cancels the pending reads of every connection and
    /// closing the listener resets the connections not yet accepted, so a request whose body is still arriving, or
    /// whose first bytes are sent but not yet parsed (no middleware has seen it, so it is not counted in flight), is cut
    /// off; the first two were seen in CI under load, the third is inferred from a later failure there. The readiness probe turning false first is
    /// also what a load balancer needs to stop sending new requests.
    /// </summary>
    public async Task StopAsync()
    {
        lock (_modelLock)
        {
            if (_stopped) return;
            _stopped = true;
        }
        _draining = true;
        var drainStarted = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(drainStarted) < _settings.DrainTimeout)
        {
            var elapsed = Stopwatch.GetElapsedTime(drainStarted);
            bool inGrace = elapsed < _settings.AcceptGrace || (Volatile.Read(ref _openConnections) > 0 && elapsed < _settings.DrainGrace);
            if (!inGrace && Volatile.Read(ref _inFlight) == 0) break;
            await Task.Delay(20);
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        lock (_modelLock)
        {
            _model?.Dispose();
            _model = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    void MapEndpoints(WebApplication app)
    {
        app.MapGet("/v2/health/live", context => WriteJsonAsync(context, StatusCodes.Status200OK, json => WriteFlag(json, "live", true)));
        // The protocol: 200 means ready, a 4xx not (yet).
        app.MapGet("/v2/health/ready", context =>
        {
            bool ready = Volatile.Read(ref _model) is not null && !_draining;
            return WriteJsonAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest, json => WriteFlag(json, "ready", ready));
        });
        app.MapGet("/v2", context => WriteJsonAsync(context, StatusCodes.Status200OK, json => OpenInferenceProtocol.WriteServerMetadata(json, ServerName, ServerVersion)));
        foreach (string model in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            app.MapGet(model, context => WriteJsonAsync(context, StatusCodes.Status200OK, json => OpenInferenceProtocol.WriteModelMetadata(json, RequestedModel(context).Model.Signature)));
            app.MapGet(model + "/ready", ModelReadyAsync);
            app.MapPost(model + "/infer", InferAsync);
        }
        app.MapPost("/predict", PredictAsync);
        app.MapMetrics("/metrics", Metrics.Registry);
        app.MapGet("/", context => WritePageFileAsync(context, "index.html", "text/html; charset=utf-8"));
        app.MapGet("/ui/app.js", context => WritePageFileAsync(context, "app.js", "text/javascript; charset=utf-8"));
        app.MapGet("/ui/app.css", context => WritePageFileAsync(context, "app.css", "text/css; charset=utf-8"));
        app.MapGet("/ui/config", PageConfigAsync);
        app.MapGet("/images/{id}", StoredImageAsync);
        app.MapFallback(context => throw new HttpProblem(StatusCodes.Status404NotFound, $"no endpoint {context.Request.Method} {context.Request.Path}"));
    }

    static void WriteFlag(Utf8JsonWriter json, string name, bool value)
    {
        json.WriteStartObject();
        json.WriteBoolean(name, value);
        json.WriteEndObject();
    }

    static string ServerVersion { get; } =
        typeof(InferenceServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    /// <summary>The loaded model, or 503 while it loads.</summary>
    ServedModel ReadyModel() =>
        Volatile.Read(ref _model) ?? throw new HttpProblem(StatusCodes.Status503ServiceUnavailable, "the model is still loading; see /v2/health/ready");

    /// <summary>The model the URL names (and its version, when given), or 404.</summary>
    ServedModel RequestedModel(HttpContext context)
    {
        var served = ReadyModel();
        string name = (string)context.GetRouteValue("name")!;
        if (name != served.Name) throw new HttpProblem(StatusCodes.Status404NotFound, $"unknown model '{name}'; this server serves '{served.Name}'");
        if (context.GetRouteValue("version") is string version && version != served.Model.Signature.Version)
            throw new HttpProblem(StatusCodes.Status404NotFound, $"model '{name}' has no version '{version}' (it has '{served.Model.Signature.Version}')");
        return served;
    }

    Task ModelReadyAsync(HttpContext context)
    {
        string name = (string)context.GetRouteValue("name")!;
        if (Volatile.Read(ref _model) is null)
            return WriteJsonAsync(context, StatusCodes.Status400BadRequest, json => WriteModelReady(json, name, false));
        RequestedModel(context); // 404 for a model this server does not serve
        return WriteJsonAsync(context, StatusCodes.Status200OK, json => WriteModelReady(json, name, true));
    }

    static void WriteModelReady(Utf8JsonWriter json, string name, bool ready)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteBoolean("ready", ready);
        json.WriteEndObject();
    }

    async Task InferAsync(HttpContext context)
    {
        var served = RequestedModel(context);
        string? contentType = context.Request.ContentType;
        if (contentType is not null && !MediaTypeIs(contentType, "application/json"))
            throw new HttpProblem(StatusCodes.Status415UnsupportedMediaType, $"Content-Type '{contentType}' is not accepted here: send application/json");
        byte[] body = await ReadBodyAsync(context);
        var signature = served.Model.Signature;
        var request = OpenInferenceProtocol.ReadRequest(body, signature);
        var outputs = await served.Model.InferAsync(request.Inputs, context.RequestAborted);
        await WriteJsonAsync(context, StatusCodes.Status200OK, json => OpenInferenceProtocol.WriteResponse(json, signature, request, outputs));
    }

    async Task PredictAsync(HttpContext context)
    {
        var served = ReadyModel();
        var parameters = context.Request.Query.Where(pair => pair.Key != "user").ToDictionary(pair => pair.Key, pair => pair.Value.ToString());
        using var request = served.Input == PredictInputKind.Image
            ? new PredictRequest(await ReadImageAsync(context), null, parameters)
            : new PredictRequest(null, await ReadUserAsync(context), parameters);
        var inputs = served.ToModelInputs(request);
        var outputs = await served.Model.InferAsync(inputs, context.RequestAborted);
        object answer = served.ToAnswer(request, outputs);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(answer, answer.GetType(), AnswerJson);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, context.RequestAborted);
    }

    /// <summary>The uploaded image, decoded only after its header passed the checks.</summary>
    async Task<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>> ReadImageAsync(HttpContext context)
    {
        string? contentType = context.Request.ContentType;
        byte[] encoded;
        if (contentType is not null && context.Request.HasFormContentType && MediaTypeIs(contentType, "multipart/form-data"))
        {
            CheckDeclaredLength(context);
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var file = form.Files.GetFile("image")
                       ?? throw new InvalidInputException("the multipart form has no file field 'image'");
            using var stream = file.OpenReadStream();
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, context.RequestAborted);
            encoded = copy.ToArray();
        }
        else if (contentType is not null && ImageContentTypes.Any(type => MediaTypeIs(contentType, type)))
        {
            encoded = await ReadBodyAsync(context);
        }
        else
        {
            throw new HttpProblem(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type '{contentType ?? "(none)"}' is not accepted: send image/jpeg or image/png bytes, or multipart/form-data with a file field 'image'");
        }
        if (encoded.Length == 0) throw new InvalidInputException("the image is empty");
        var header = _decoder.ReadHeader(encoded, "the uploaded image");
        long pixels = (long)header.Width * header.Height;
        if (pixels > _settings.MaxImagePixels)
            throw new HttpProblem(StatusCodes.Status413PayloadTooLarge,
                $"the uploaded {header.Format} declares {header.Width}x{header.Height} = {pixels:N0} pixels, over the limit of {_settings.MaxImagePixels:N0}; not decoded");
        return _decoder.DecodeImage(encoded, "the uploaded image");
    }

    /// <summary>The user id of <c>?user=ID</c>, a form field <c>user</c>, or a JSON body <c>{"user": ID}</c>.</summary>
    async Task<long> ReadUserAsync(HttpContext context)
    {
        string? text = context.Request.Query["user"].FirstOrDefault();
        if (text is null && context.Request.HasFormContentType)
            text = (await context.Request.ReadFormAsync(context.RequestAborted))["user"].FirstOrDefault();
        else if (text is null && context.Request.ContentType is { } type && MediaTypeIs(type, "application/json"))
        {
            byte[] body = await ReadBodyAsync(context);
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("user", out var user))
                    text = user.ValueKind == JsonValueKind.Number ? user.GetRawText() : user.GetString();
            }
            catch (Exception error) when (error is JsonException or InvalidOperationException)
            {
                throw new InvalidInputException($"malformed JSON: {error.Message.Split('\n')[0]}");
            }
        }
        if (text is null) throw new InvalidInputException("this model takes a user id: ?user=ID, a form field 'user' or {\"user\": ID}");
        return long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long id)
            ? id
            : throw new InvalidInputException($"user id '{text}' is not an integer");
    }

    void CheckDeclaredLength(HttpContext context)
    {
        if (context.Request.ContentLength is long length && length > _settings.MaxBodyBytes)
            throw new HttpProblem(StatusCodes.Status413PayloadTooLarge, $"the body has {length:N0} bytes, over the limit of {_settings.MaxBodyBytes:N0}");
    }

    /// <summary>The whole body, refused with 413 as soon as it passes the limit (declared or not).</summary>
    async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        CheckDeclaredLength(context);
        using var body = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (body.Length + read > _settings.MaxBodyBytes)
                    throw new HttpProblem(StatusCodes.Status413PayloadTooLarge, $"the body is over the limit of {_settings.MaxBodyBytes:N0} bytes");
                body.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return body.ToArray();
    }

    async Task PageConfigAsync(HttpContext context)
    {
        var served = ReadyModel();
        var config = new
        {
            Model = served.Name,
            Version = served.Model.Signature.Version,
            Kind = JsonNamingPolicy.SnakeCaseLower.ConvertName(served.Kind.ToString()),
            Input = JsonNamingPolicy.SnakeCaseLower.ConvertName(served.Input.ToString()),
            Page = served.PageSettings,
        };
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(config, AnswerJson), context.RequestAborted);
    }

    /// <summary>A stored image the model's answers link to (image-similarity's neighbours), by the id the model gave.</summary>
    async Task StoredImageAsync(HttpContext context)
    {
        string id = (string)context.GetRouteValue("id")!;
        var image = ReadyModel().FindStoredImage(id) ?? throw new HttpProblem(StatusCodes.Status404NotFound, $"no stored image '{id}'");
        context.Response.ContentType = image.ContentType;
        context.Response.Headers.CacheControl = "private, max-age=3600";
        await context.Response.Body.WriteAsync(image.Content, context.RequestAborted);
    }

    static async Task WritePageFileAsync(HttpContext context, string file, string contentType)
    {
        byte[] content = PageFiles.Get(file);
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.Body.WriteAsync(content, context.RequestAborted);
    }

    /// <summary>Writes the JSON to a buffer first, so a failure while writing still gets a clean error answer.</summary>
    static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer)) write(json);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    static bool MediaTypeIs(string contentType, string mediaType) =>
        contentType.Split(';', 2)[0].Trim().Equals(mediaType, StringComparison.OrdinalIgnoreCase);

    async Task MeasureAsync(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _inFlight);
        try
        {
            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            // Labels come from a fixed set (route patterns, the served name), never from the raw URL: clients cannot
            // grow the metrics without bound.
            string endpoint = context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern } && !pattern.Contains("**", StringComparison.Ordinal) ? pattern : "other";
            string? served = Volatile.Read(ref _model)?.Name;
            string model = context.GetRouteValue("name") is string name ? (name == served ? name : "unknown")
                : endpoint == "/predict" ? served ?? "" : "";
            Metrics.ObserveRequest(model, endpoint, context.Response.StatusCode, Stopwatch.GetElapsedTime(start));
        }
    }

    async Task AnswerErrorsAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            context.Response.StatusCode = 499; // the client went away: nobody to answer (nginx's code, for the metrics)
        }
        catch (Exception error)
        {
            var (status, message) = error switch
            {
                HttpProblem problem => (problem.Status, problem.Message),
                InvalidInputException => (StatusCodes.Status400BadRequest, error.Message),
                NotFoundException => (StatusCodes.Status404NotFound, error.Message),
                DataFileException file => (StatusCodes.Status400BadRequest, file.Message),
                ServiceBusyException => (StatusCodes.Status503ServiceUnavailable, error.Message),
                // Kestrel's own refusals: a body over the limit (413), a malformed request (400).
                Microsoft.AspNetCore.Http.BadHttpRequestException bad => (bad.StatusCode, FirstLine(bad.Message)),
                InvalidDataException => (StatusCodes.Status400BadRequest, $"malformed request body: {FirstLine(error.Message)}"),
                _ => (StatusCodes.Status500InternalServerError, "internal error (the server's log has it)"),
            };
            if (status == StatusCodes.Status500InternalServerError)
                _log.WriteLine($"error: {context.Request.Method} {context.Request.Path}: {error.GetType().Name}: {FirstLine(error.Message)}");
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }
            context.Response.Clear();
            if (error is ServiceBusyException) context.Response.Headers.RetryAfter = "1";
            if (status == StatusCodes.Status401Unauthorized) context.Response.Headers.WWWAuthenticate = "Bearer";
            await WriteJsonAsync(context, status, json =>
            {
                json.WriteStartObject();
                json.WriteString("error", FirstLine(message));
                json.WriteEndObject();
            });
        }
    }

    Task CheckApiKeyAsync(HttpContext context, RequestDelegate next)
    {
        if (_apiKey is null || OpenPaths.Contains(context.Request.Path.Value)) return next(context);
        string? given = context.Request.Headers["X-API-Key"].FirstOrDefault();
        string? authorization = context.Request.Headers.Authorization.FirstOrDefault();
        if (given is null && authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            given = authorization["Bearer ".Length..].Trim();
        // Compared in constant time: the time to refuse says nothing about how much of the key was right.
        if (given is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _apiKey))
            throw new HttpProblem(StatusCodes.Status401Unauthorized, "missing or wrong API key: send Authorization: Bearer KEY or X-API-Key: KEY");
        return next(context);
    }

    static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>A request the service refuses with this status and message.</summary>
    sealed class HttpProblem(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    /// <summary>The host's lifetime without signal handling: the recipe host turns Ctrl+C and SIGTERM into a stop.</summary>
    sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>The web page's files, embedded in this assembly (no CDN: the page works offline).</summary>
static class PageFiles
{
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Cache = new();

    public static byte[] Get(string file) => Cache.GetOrAdd(file, name =>
    {
        using var stream = typeof(PageFiles).Assembly.GetManifestResourceStream($"page/{name}")
                           ?? throw new InvalidOperationException($"the page file {name} is not embedded in Recipes.Serving");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });
}
