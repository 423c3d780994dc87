using System.Net;
using System.Text.RegularExpressions;
using Recipes.Runtime.Models;
using Recipes.Serving;
using Recipes.Tests.Models;
using Recipes.TransferLearning;
using static Recipes.Tests.Serving.VisionServingKit;

namespace Recipes.Tests.Serving;

/// <summary>The transfer-learning recipe's tiniest run (the cats-dogs sample where it is, else generated textures), trained once.</summary>
public sealed class TrainedTransferLearning() : TrainedRecipeModel("transfer-learning",
    [.. SamplePhotos.CatsDogsFolder is { } folder ? new[] { "--data", folder } : [], "--epochs", "1", "--batch-size", "8", "--max-samples", "16", "--master", "local[2]"],
    TimeSpan.FromMinutes(8))
{
    string? _picture;

    /// <summary>A picture to upload: the first test photograph of the sample, or where it is missing a generated one.</summary>
    public string Picture => _picture ??= SamplePhotos.CatsDogsFolder is { } folder
        ? Directory.EnumerateFiles(Path.Combine(folder, "test"), "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First()
        : VisionServingKit.WriteGeneratedPicture(Path.Combine(Folder, "picture.png"), 320, 240);
}

/// <summary>
/// <c>transfer-learning serve</c> on the model the recipe saved: the class probabilities of an uploaded photograph,
/// the model's metadata, the ONNX export kept beside the weights, ONNX Runtime agreeing with TorchSharp, and the
/// command itself run as a user would (ready line, curl-like calls, metrics, SIGTERM).
/// </summary>
public sealed class TransferLearningServingTests(TrainedTransferLearning trained) : IClassFixture<TrainedTransferLearning>
{
    [Fact]
    public async Task Serves_class_probabilities_of_an_uploaded_photograph_through_onnx_runtime_by_default()
    {
        File.Delete(Path.ChangeExtension(trained.ModelPath, ".onnx"));
        var log = new StringWriter();
        await using var server = await StartAsync(Options("transfer-learning", trained.ModelPath, backend: null), TransferLearningServing.Load, log);
        using var client = Client(server.Address);

        var (status, answer) = await PredictAsync(client, trained.Picture);
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        Assert.Equal("transfer-learning", answer.GetProperty("model").GetString());
        var classes = Classes(answer);
        var description = SavedModel<TransferModelDescription>.ReadDescription(trained.ModelPath);
        Assert.Equal(description.Classes.Order(), classes.Select(c => c.Label).Order());
        Assert.All(classes, c => Assert.InRange(c.Probability, 0, 1));
        Assert.Equal(1.0, classes.Sum(c => c.Probability), 1e-5); // one class per picture: a softmax
        Assert.True(classes[0].Probability >= classes[1].Probability, "most probable first");

        var (metaStatus, metadata) = await GetJsonAsync(client, "/v2/models/transfer-learning");
        Assert.Equal(HttpStatusCode.OK, metaStatus);
        Assert.Equal(OnnxRuntimeBackend.PlatformName, metadata.GetProperty("platform").GetString());
        Assert.Equal(new long[] { -1, 3, 224, 224 }, Tensors(metadata, "inputs")["images"]);
        Assert.Equal(new long[] { -1, description.Classes.Count }, Tensors(metadata, "outputs")["probabilities"]);
        Assert.Matches("^[0-9a-f]{12}$", metadata.GetProperty("versions")[0].GetString()!);

        // Exported once, beside the weights; a second start uses that file as it is.
        string onnx = Path.ChangeExtension(trained.ModelPath, ".onnx");
        Assert.True(File.Exists(onnx), log.ToString());
        Assert.Contains("exported", log.ToString());
        var exportedAt = File.GetLastWriteTimeUtc(onnx);
        var again = new StringWriter();
        await using (await StartAsync(Options("transfer-learning", trained.ModelPath, ServingBackend.Onnx), TransferLearningServing.Load, again))
            Assert.Contains("exported earlier", again.ToString());
        Assert.Equal(exportedAt, File.GetLastWriteTimeUtc(onnx));

        // A picture the preprocessing cannot use is the client's problem, said in one line.
        string panorama = Path.Combine(trained.Folder, "panorama.png");
        using (var wide = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(1700, 100)) await SixLabors.ImageSharp.ImageExtensions.SaveAsPngAsync(wide, panorama);
        var (refused, error) = await PredictAsync(client, panorama);
        Assert.True(refused == HttpStatusCode.BadRequest, error.ToString());
        Assert.Contains("1700x100", error.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Onnx_runtime_and_torchsharp_backends_give_the_same_probabilities()
    {
        await using var onnx = await StartAsync(Options("transfer-learning", trained.ModelPath, ServingBackend.Onnx), TransferLearningServing.Load, TextWriter.Null);
        await using var torch = await StartAsync(Options("transfer-learning", trained.ModelPath, ServingBackend.Torch), TransferLearningServing.Load, TextWriter.Null);
        using var onnxClient = Client(onnx.Address);
        using var torchClient = Client(torch.Address);
        var (_, torchMetadata) = await GetJsonAsync(torchClient, "/v2/models/transfer-learning");
        Assert.Equal("torchsharp", torchMetadata.GetProperty("platform").GetString());

        string[] pictures = SamplePhotos.CatsDogsFolder is { } folder
            ? [.. Directory.EnumerateFiles(Path.Combine(folder, "test"), "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(4)]
            : [trained.Picture];
        foreach (string picture in pictures)
        {
            var (_, fromOnnx) = await PredictAsync(onnxClient, picture);
            var (_, fromTorch) = await PredictAsync(torchClient, picture);
            var onnxProbabilities = Classes(fromOnnx).ToDictionary(c => c.Label, c => c.Probability);
            // 1e-4: the same float32 network on two engines (different kernels, summation orders), as the export test requires.
            foreach (var (label, probability) in Classes(fromTorch))
                Assert.True(Math.Abs(probability - onnxProbabilities[label]) <= 1e-4,
                    $"{Path.GetFileName(picture)} {label}: TorchSharp {probability}, ONNX Runtime {onnxProbabilities[label]}");
        }
    }

    [Fact]
    public async Task The_serve_command_answers_curl_like_calls_counts_them_in_metrics_and_stops_on_sigterm()
    {
        using var serve = StartProcess("transfer-learning", ["serve", "--model", trained.ModelPath, "--listen", "127.0.0.1:0", "--backend", "torch", "--copies", "1"]);
        var address = await serve.WaitReadyAsync(TimeSpan.FromMinutes(3));
        Assert.Equal("127.0.0.1", address.Host);
        using var client = Client(address);
        var (status, answer) = await PredictAsync(client, trained.Picture);
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        Assert.Equal(2, Classes(answer).Length);

        string metrics = await client.GetStringAsync("/metrics");
        Assert.Matches(new Regex("""recipes_serving_requests_total\{model="transfer-learning",endpoint="/predict",status="200"\} 1\b"""), metrics);

        Assert.Equal(0, serve.Stop());
        Assert.Contains("Stopped", serve.Output);
        Assert.Contains("torchsharp", serve.Output);
    }
}
