using System.Net;
using System.Text.Json;
using Recipes.Mnist;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Recipes.Tests.Serving;

/// <summary>
/// A real TorchSharp LeNet-5 (seeded weights, not trained) behind <see cref="IInferenceModel"/>, one forward pass at a
/// time: what the HTTP tests need from a model without depending on the inference core's batching. It can be made
/// to report a full queue (<see cref="Busy"/>) or to hold requests until released (<see cref="Hold"/>).
/// </summary>
sealed class TorchTestModel : IInferenceModel
{
    public const string InputName = "image";
    public const string OutputName = "probabilities";

    readonly LeNet5 _network;
    readonly SemaphoreSlim _oneAtATime = new(1, 1);
    int _waiting;
    int _calls;

    public TorchTestModel(string name, int seed = 3)
    {
        torch.manual_seed(seed);
        _network = new LeNet5(10);
        _network.eval();
        Signature = new ModelSignature(name, "1", "torchsharp",
            [new TensorSpec(InputName, TensorDatatype.FP32, [-1, 1, 28, 28])],
            [new TensorSpec(OutputName, TensorDatatype.FP32, [-1, 10])]);
    }

    public ModelSignature Signature { get; }
    public int QueueLength => Volatile.Read(ref _waiting);
    public int Calls => Volatile.Read(ref _calls);
    public bool Busy { get; set; }

    /// <summary>While not null, requests wait for it to complete before they run.</summary>
    public TaskCompletionSource? Hold { get; set; }

    public async Task<IReadOnlyList<NamedTensor>> InferAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellation = default)
    {
        if (Busy) throw new ServiceBusyException("the queue is full (test model)");
        Interlocked.Increment(ref _waiting);
        try
        {
            if (Hold is { } hold) await hold.Task.WaitAsync(cancellation);
            await _oneAtATime.WaitAsync(cancellation);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        try
        {
            Interlocked.Increment(ref _calls);
            var input = inputs.Single(tensor => tensor.Name == InputName);
            return [Forward(input.Floats!, input.Shape)];
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Softmax of LeNet-5's logits, computed directly: what the service must give back.</summary>
    public NamedTensor Forward(float[] pixels, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var probabilities = torch.nn.functional.softmax(_network.forward(torch.tensor(pixels, shape)), 1);
        return new NamedTensor(OutputName, probabilities.shape, Floats: probabilities.data<float>().ToArray());
    }

    public void Dispose()
    {
        _network.Dispose();
        _oneAtATime.Dispose();
    }
}

/// <summary>Images, preprocessing and HTTP helpers the serving tests share.</summary>
static class ServingTestKit
{
    public static readonly string[] DigitLabels = [.. MnistDataSets.DigitNames];

    /// <summary>An image resized to 28x28 grey, scaled to [0, 1] and standardised with MNIST's mean and std.</summary>
    public static float[] Preprocess(Image<Rgb24> image)
    {
        var frame = Resize.FromDecoded(image, 28, 28);
        var grey = new float[28 * 28];
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                grey[y * 28 + x] = (float)(((frame[x, y, 0] + frame[x, y, 1] + frame[x, y, 2]) / (3 * 255.0) - 0.1307) / 0.3081);
        return grey;
    }

    public static ImageClassifierServing Classifier(TorchTestModel model) =>
        new(model.Signature.Name, model, DigitLabels, Preprocess, TorchTestModel.OutputName);

    /// <summary>A generated handwritten digit (white on black, as MNIST) as a grey 28x28 image.</summary>
    public static Image<Rgb24> Digit(int digit, int seed = 1)
    {
        byte[] grey = GeneratedDigits.Render(digit, seed);
        var image = new Image<Rgb24>(28, 28);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                image[x, y] = new Rgb24(grey[y * 28 + x], grey[y * 28 + x], grey[y * 28 + x]);
        return image;
    }

    public static byte[] Png(Image<Rgb24> image)
    {
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }

    public static byte[] Jpeg(Image<Rgb24> image)
    {
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }

    /// <summary>What the service computes for these encoded bytes: decode, preprocess, run the model directly.</summary>
    public static float[] ExpectedProbabilities(TorchTestModel model, byte[] encoded)
    {
        using var image = SafeImageDecoder.Default.DecodeImage(encoded, "test image");
        return model.Forward(Preprocess(image), [1, 1, 28, 28]).Floats!;
    }

    /// <summary>
    /// A client that, as curl does, asks <c>Expect: 100-continue</c> before sending a large body (see
    /// <see cref="SendAsync"/>) and waits for the server's go-ahead as long as a test may take under load.
    /// </summary>
    public static HttpClient Client(Uri address) =>
        new(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Bodies from this size on are sent only after the server said 100 Continue.</summary>
    public const long ExpectContinueFromBytes = 64 * 1024;

    public static HttpContent ImageContent(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        return content;
    }

    public static HttpContent JsonContent(string json) => new StringContent(json, System.Text.Encoding.UTF8, "application/json");

    /// <summary>The status and the parsed JSON body (every answer of the service is JSON).</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        // A body over the limit is refused with 413 from its declared length, before it is read. Sent without
        // asking first, the client may still be writing when the server answers and closes: it then sees a broken
        // pipe instead of the 413 (seen in CI). HTTP's answer is to ask first, so the refusal comes before the body.
        if (request.Content?.Headers.ContentLength >= ExpectContinueFromBytes) request.Headers.ExpectContinue = true;
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} with a body that is not JSON: {text}");
        }
        return (response.StatusCode, body);
    }

    public static Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient client, string path) =>
        SendAsync(client, new HttpRequestMessage(HttpMethod.Get, path));

    public static Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient client, string path, HttpContent content) =>
        SendAsync(client, new HttpRequestMessage(HttpMethod.Post, path) { Content = content });

    /// <summary>A 4xx answer is one line of JSON, <c>{"error": "..."}</c>, naming the problem and holding no stack trace.</summary>
    public static void AssertClientError(HttpStatusCode expected, (HttpStatusCode Status, JsonElement Body) answer, string mentions)
    {
        Assert.True(expected == answer.Status, $"expected {(int)expected}, got {(int)answer.Status}: {answer.Body}");
        Assert.Equal(JsonValueKind.Object, answer.Body.ValueKind);
        string error = answer.Body.GetProperty("error").GetString()!;
        Assert.Single(answer.Body.EnumerateObject());
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotMatch(@"\bat [\w.`<>]+\(", error); // no stack frame ("at Namespace.Type.Method(")
        Assert.Contains(mentions, error, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A JSON request of one flat 28x28 input.</summary>
    public static string InferJson(float[] pixels, string? id = null, int batch = 1, string datatype = "FP32", string shape = "[1, 1, 28, 28]") =>
        $$"""{{{(id is null ? "" : $"\"id\": \"{id}\", ")}}"inputs": [{"name": "image", "shape": {{shape.Replace("[1,", $"[{batch},", StringComparison.Ordinal)}}, "datatype": "{{datatype}}", "data": [{{string.Join(", ", Enumerable.Repeat(pixels, batch).SelectMany(p => p).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}]}]}""";

    public static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(value => value.GetSingle())];

    public static long[] Longs(JsonElement array) => [.. array.EnumerateArray().Select(value => value.GetInt64())];
}
