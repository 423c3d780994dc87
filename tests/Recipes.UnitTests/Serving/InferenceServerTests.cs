using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Recipes.Serving;
using Recipes.Tests.Vision;
using static Recipes.Tests.Serving.ServingTestKit;

namespace Recipes.Tests.Serving;

/// <summary>One real Kestrel service on 127.0.0.1 (a port the system picks) serving a real LeNet-5, shared by the tests.</summary>
public sealed class ServedDigitsFixture : IAsyncLifetime
{
    public const string ModelName = "digits";
    public const long MaxBodyBytes = 1024 * 1024;

    internal TorchTestModel Model { get; } = new(ModelName);
    public InferenceServer Server { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await InferenceServer.StartAsync(
            new ServeSettings { Listen = new IPEndPoint(IPAddress.Loopback, 0), MaxBodyBytes = MaxBodyBytes, MaxImagePixels = 4_000_000 },
            () => Classifier(Model));
        await Server.Loaded.WaitAsync(TimeSpan.FromMinutes(1));
        Client = ServingTestKit.Client(Server.Address);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.StopAsync();
    }
}

/// <summary>
/// The Open Inference Protocol (KServe v2) and <c>/predict</c> against a real Kestrel: the JSON shapes the protocol
/// specifies, answers that agree with the model run directly, and every kind of bad input refused with its 4xx and a
/// one-line JSON error, after which the service still answers. Probabilities are compared within 1e-5: the same
/// model in the same process, but the service may run on another thread (and so another intra-op split).
/// </summary>
public sealed class InferenceServerTests(ServedDigitsFixture served) : IClassFixture<ServedDigitsFixture>
{
    const string Model = ServedDigitsFixture.ModelName;
    const float Tolerance = 1e-5f;
    readonly HttpClient _client = served.Client;

    [Fact]
    public async Task Health_and_server_metadata_follow_the_protocol()
    {
        var live = await GetAsync(_client, "/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.True(live.Body.GetProperty("live").GetBoolean());
        var ready = await GetAsync(_client, "/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.True(ready.Body.GetProperty("ready").GetBoolean());

        var server = await GetAsync(_client, "/v2");
        Assert.Equal(HttpStatusCode.OK, server.Status);
        Assert.Equal(InferenceServer.ServerName, server.Body.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(server.Body.GetProperty("version").GetString()));
        Assert.Equal(JsonValueKind.Array, server.Body.GetProperty("extensions").ValueKind);
    }

    [Fact]
    public async Task Model_metadata_and_readiness_describe_the_served_model()
    {
        foreach (string path in new[] { $"/v2/models/{Model}", $"/v2/models/{Model}/versions/1" })
        {
            var (status, body) = await GetAsync(_client, path);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(Model, body.GetProperty("name").GetString());
            Assert.Equal(["1"], body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
            Assert.Equal("torchsharp", body.GetProperty("platform").GetString());
            var input = Assert.Single(body.GetProperty("inputs").EnumerateArray());
            Assert.Equal("image", input.GetProperty("name").GetString());
            Assert.Equal("FP32", input.GetProperty("datatype").GetString());
            Assert.Equal([-1L, 1, 28, 28], Longs(input.GetProperty("shape")));
            var output = Assert.Single(body.GetProperty("outputs").EnumerateArray());
            Assert.Equal("probabilities", output.GetProperty("name").GetString());
            Assert.Equal([-1L, 10], Longs(output.GetProperty("shape")));
        }

        var ready = await GetAsync(_client, $"/v2/models/{Model}/ready");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(Model, ready.Body.GetProperty("name").GetString());
        Assert.True(ready.Body.GetProperty("ready").GetBoolean());

        AssertClientError(HttpStatusCode.NotFound, await GetAsync(_client, "/v2/models/resnet"), "unknown model 'resnet'");
        AssertClientError(HttpStatusCode.NotFound, await GetAsync(_client, "/v2/models/resnet/ready"), "unknown model");
        AssertClientError(HttpStatusCode.NotFound, await GetAsync(_client, $"/v2/models/{Model}/versions/7"), "no version '7'");
        AssertClientError(HttpStatusCode.NotFound, await GetAsync(_client, "/v3/anything"), "no endpoint");
    }

    [Fact]
    public async Task Infer_answers_the_models_probabilities_for_flat_and_nested_data()
    {
        using var digit = Digit(3);
        float[] pixels = Preprocess(digit);
        float[] expected = served.Model.Forward(pixels, [1, 1, 28, 28]).Floats!;

        var flat = await PostAsync(_client, $"/v2/models/{Model}/infer", JsonContent(InferJson(pixels, id: "request-42")));
        Assert.True(flat.Status == HttpStatusCode.OK, flat.Body.ToString());
        Assert.Equal(Model, flat.Body.GetProperty("model_name").GetString());
        Assert.Equal("1", flat.Body.GetProperty("model_version").GetString());
        Assert.Equal("request-42", flat.Body.GetProperty("id").GetString());
        var output = Assert.Single(flat.Body.GetProperty("outputs").EnumerateArray());
        Assert.Equal("probabilities", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([1L, 10], Longs(output.GetProperty("shape")));
        float[] answered = Floats(output.GetProperty("data"));
        Assert.Equal(10, answered.Length);
        for (int i = 0; i < 10; i++) Assert.InRange(answered[i], expected[i] - Tolerance, expected[i] + Tolerance);
        Assert.InRange(answered.Sum(), 1 - 1e-4f, 1 + 1e-4f);

        // The same values nested as [1][1][28][28] (row-major), through the versioned path, asking for the output by name.
        string nestedData = JsonSerializer.Serialize(new[] { new[] { Enumerable.Range(0, 28).Select(row => pixels.Skip(row * 28).Take(28).ToArray()).ToArray() } });
        string nested = $$"""{"inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": {{nestedData}}}], "outputs": [{"name": "probabilities"}]}""";
        var fromNested = await PostAsync(_client, $"/v2/models/{Model}/versions/1/infer", JsonContent(nested));
        Assert.True(fromNested.Status == HttpStatusCode.OK, fromNested.Body.ToString());
        Assert.False(fromNested.Body.TryGetProperty("id", out _));
        float[] nestedAnswer = Floats(Assert.Single(fromNested.Body.GetProperty("outputs").EnumerateArray()).GetProperty("data"));
        for (int i = 0; i < 10; i++) Assert.InRange(nestedAnswer[i], expected[i] - Tolerance, expected[i] + Tolerance);

        // A batch of two rows gives two rows back.
        var batch = await PostAsync(_client, $"/v2/models/{Model}/infer", JsonContent(InferJson(pixels, batch: 2)));
        Assert.True(batch.Status == HttpStatusCode.OK, batch.Body.ToString());
        var rows = Assert.Single(batch.Body.GetProperty("outputs").EnumerateArray());
        Assert.Equal([2L, 10], Longs(rows.GetProperty("shape")));
        Assert.Equal(20, rows.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Bad_infer_requests_get_a_4xx_and_the_service_keeps_answering()
    {
        float[] pixels = new float[28 * 28];
        string infer = $"/v2/models/{Model}/infer";
        var cases = new (HttpContent Content, HttpStatusCode Status, string Mentions)[]
        {
            (JsonContent(InferJson(pixels, shape: "[1, 1, 28, 27]")), HttpStatusCode.BadRequest, "shape"),
            (JsonContent(InferJson(pixels, datatype: "INT64")), HttpStatusCode.BadRequest, "the model takes FP32"),
            (JsonContent(InferJson(pixels[..100])), HttpStatusCode.BadRequest, "needs 784"),
            (JsonContent("""{"inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": ["#"""), HttpStatusCode.BadRequest, "malformed JSON"),
            (JsonContent("""{"inputs": [{"name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": ["a"]}]}"""), HttpStatusCode.BadRequest, "numbers"),
            (JsonContent("""{"inputs": []}"""), HttpStatusCode.BadRequest, "inputs"),
            (JsonContent("""[1, 2, 3]"""), HttpStatusCode.BadRequest, "JSON object"),
            (JsonContent("""{"inputs": [{"name": "pixels", "shape": [1], "datatype": "FP32", "data": [1]}]}"""), HttpStatusCode.BadRequest, "unknown input 'pixels'"),
            (JsonContent("""{"inputs": [{"name": "image", "shape": [0, 1, 28, 28], "datatype": "FP32", "data": []}]}"""), HttpStatusCode.BadRequest, "batch"),
            (JsonContent(InferJson(pixels).Replace("]}]}", "]}], \"outputs\": [{\"name\": \"logits\"}]}", StringComparison.Ordinal)), HttpStatusCode.BadRequest, "unknown output 'logits'"),
            (new StringContent("image=1", System.Text.Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType, "application/json"),
            // Over the body limit of 1 MiB: refused with 413 before it is read to the end.
            (JsonContent("{\"inputs\": [" + new string(' ', (int)ServedDigitsFixture.MaxBodyBytes) + "]}"), HttpStatusCode.RequestEntityTooLarge, "limit"),
        };
        foreach (var (content, status, mentions) in cases)
        {
            AssertClientError(status, await PostAsync(_client, infer, content), mentions);
            var good = await PostAsync(_client, infer, JsonContent(InferJson(pixels)));
            Assert.Equal(HttpStatusCode.OK, good.Status);
        }
        AssertClientError(HttpStatusCode.NotFound, await PostAsync(_client, "/v2/models/lenet/infer", JsonContent(InferJson(pixels))), "unknown model 'lenet'");
    }

    [Fact]
    public async Task Predict_takes_png_jpeg_and_multipart_and_answers_the_top_classes()
    {
        using var digit = Digit(7, seed: 4);
        byte[] png = Png(digit), jpeg = Jpeg(digit);
        var uploads = new (string What, byte[] Bytes, HttpContent Content)[]
        {
            ("PNG", png, ImageContent(png, "image/png")),
            ("JPEG", jpeg, ImageContent(jpeg, "image/jpeg")),
            ("multipart", png, Multipart(png, "digit.png", "image/png")),
        };
        foreach (var (what, bytes, content) in uploads)
        {
            var (status, body) = await PostAsync(_client, "/predict", content);
            Assert.True(status == HttpStatusCode.OK, $"{what}: {body}");
            Assert.Equal(Model, body.GetProperty("model").GetString());
            var classes = body.GetProperty("classes").EnumerateArray().ToList();
            Assert.Equal(5, classes.Count);
            float[] expected = ExpectedProbabilities(served.Model, bytes);
            int best = Array.IndexOf(expected, expected.Max());
            Assert.Equal(best, classes[0].GetProperty("index").GetInt32());
            Assert.Equal(DigitLabels[best], classes[0].GetProperty("label").GetString());
            foreach (var score in classes)
            {
                float probability = expected[score.GetProperty("index").GetInt32()];
                Assert.InRange(score.GetProperty("probability").GetDouble(), probability - Tolerance, probability + Tolerance);
            }
            var probabilities = classes.Select(c => c.GetProperty("probability").GetDouble()).ToList();
            Assert.Equal(probabilities.OrderByDescending(p => p), probabilities);
        }

        var top2 = await PostAsync(_client, "/predict?top=2", ImageContent(png, "image/png"));
        Assert.Equal(2, top2.Body.GetProperty("classes").GetArrayLength());
    }

    [Fact]
    public async Task Bad_images_get_a_4xx_and_the_service_keeps_answering()
    {
        using var digit = Digit(1);
        byte[] png = Png(digit);
        var cases = new (HttpContent Content, HttpStatusCode Status, string Mentions)[]
        {
            (new StringContent("a digit", System.Text.Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType, "image/jpeg or image/png"),
            (new ByteArrayContent(png), HttpStatusCode.UnsupportedMediaType, "(none)"),
            (ImageContent("not an image at all"u8.ToArray(), "image/png"), HttpStatusCode.BadRequest, "not a recognised image"),
            (ImageContent(png[..(png.Length / 2)], "image/png"), HttpStatusCode.BadRequest, "truncated"),
            (ImageContent([], "image/png"), HttpStatusCode.BadRequest, "empty"),
            (ImageContent(TestFrames.PngDeclaring(100_000, 100_000), "image/png"), HttpStatusCode.RequestEntityTooLarge, "100000x100000"),
            (ImageContent(new byte[ServedDigitsFixture.MaxBodyBytes + 1], "image/png"), HttpStatusCode.RequestEntityTooLarge, "limit"),
            (Multipart(png, "digit.png", "image/png", field: "picture"), HttpStatusCode.BadRequest, "field 'image'"),
            (Multipart(png[..(png.Length / 2)], "digit.png", "image/png"), HttpStatusCode.BadRequest, "truncated"),
        };
        foreach (var (content, status, mentions) in cases)
        {
            AssertClientError(status, await PostAsync(_client, "/predict", content), mentions);
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(_client, "/predict", ImageContent(png, "image/png"))).Status);
        }
        AssertClientError(HttpStatusCode.BadRequest, await PostAsync(_client, "/predict?top=0", ImageContent(png, "image/png")), "'top'");
    }

    [Fact]
    public async Task Metrics_count_requests_per_model_endpoint_and_status()
    {
        using var digit = Digit(5);
        byte[] png = Png(digit);
        double okBefore = Scrape(await MetricsText(), "recipes_serving_requests_total", "/predict", "200");
        double refusedBefore = Scrape(await MetricsText(), "recipes_serving_requests_total", "/predict", "415");
        for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await PostAsync(_client, "/predict", ImageContent(png, "image/png"))).Status);
        await PostAsync(_client, "/predict", new StringContent("x"));

        string text = await MetricsText();
        Assert.Equal(okBefore + 3, Scrape(text, "recipes_serving_requests_total", "/predict", "200"));
        Assert.Equal(refusedBefore + 1, Scrape(text, "recipes_serving_requests_total", "/predict", "415"));
        Assert.True(Scrape(text, "recipes_serving_request_duration_seconds_count", "/predict", "200") >= 3);
        Assert.Contains("recipes_serving_request_duration_seconds_bucket{model=\"digits\",endpoint=\"/predict\",status=\"200\",le=\"", text);
        Assert.Contains($"recipes_serving_queue_length{{model=\"{Model}\"}} 0", text);
        Assert.Contains("\nrecipes_serving_requests_in_flight 1\n", text); // the scrape itself; the answered ones are done
        Assert.Contains("process_working_set_bytes", text);
    }

    [Fact]
    public async Task The_page_and_its_config_are_served()
    {
        using var page = await _client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("id=\"file\"", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal)); // nothing from elsewhere
        using var script = await _client.GetAsync("/ui/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("renderers", await script.Content.ReadAsStringAsync());

        var (status, config) = await GetAsync(_client, "/ui/config");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Model, config.GetProperty("model").GetString());
        Assert.Equal("classes", config.GetProperty("kind").GetString());
        Assert.Equal("image", config.GetProperty("input").GetString());
        Assert.Equal(10, config.GetProperty("page").GetProperty("labels").GetArrayLength());
    }

    async Task<string> MetricsText()
    {
        using var response = await _client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of one series of the Prometheus text, 0 when it is not there yet.</summary>
    static double Scrape(string text, string metric, string endpoint, string status)
    {
        string prefix = $"{metric}{{model=\"{Model}\",endpoint=\"{endpoint}\",status=\"{status}\"}} ";
        string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static MultipartFormDataContent Multipart(byte[] bytes, string fileName, string contentType, string field = "image")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return new MultipartFormDataContent { { file, field, fileName } };
    }
}
