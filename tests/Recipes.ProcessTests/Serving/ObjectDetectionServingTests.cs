using System.Net;
using System.Text.Json;
using Recipes.ObjectDetection;
using Recipes.Serving;
using Recipes.Tests.Data;
using static Recipes.Tests.Serving.VisionServingKit;

namespace Recipes.Tests.Serving;

/// <summary>The object-detection recipe's tiniest run: 20 generated scenes, one epoch, trained once.</summary>
public sealed class TrainedObjectDetection() : TrainedRecipeModel("object-detection",
    ["--scenes", "20", "--epochs", "1", "--batch-size", "8", "--master", "local[2]"], TimeSpan.FromMinutes(10))
{
    /// <summary>A real photograph of the raccoon sample (a JPEG that is not square).</summary>
    public static string Photograph => SharedSampleData.Find(Path.Combine("raccoon", "images", "raccoon-1.jpg"));
}

/// <summary>
/// <c>object-detection serve</c> on the model the recipe saved: the boxes of the evaluation's decoding and
/// non-maximum suppression, as fractions of the upload, the same as the recipe's own detector gives in pixels.
/// </summary>
public sealed class ObjectDetectionServingTests(TrainedObjectDetection trained) : IClassFixture<TrainedObjectDetection>
{
    sealed record Box(string Label, double Score, double Left, double Top, double Right, double Bottom);

    static Box[] Boxes(JsonElement answer) =>
    [
        .. answer.GetProperty("boxes").EnumerateArray().Select(b => new Box(b.GetProperty("label").GetString()!, b.GetProperty("score").GetDouble(),
            b.GetProperty("left").GetDouble(), b.GetProperty("top").GetDouble(), b.GetProperty("right").GetDouble(), b.GetProperty("bottom").GetDouble())),
    ];

    [Fact]
    public async Task Serves_the_detectors_boxes_as_fractions_of_the_uploaded_image()
    {
        await using var server = await StartAsync(Options("object-detection", trained.ModelPath, ServingBackend.Torch), (options, log) => DetectionServing.Load(options, log), TextWriter.Null);
        using var client = Client(server.Address);
        // A one-epoch detector is unsure of everything: ask for every detection the decoding keeps (score >= 0.01).
        var (status, answer) = await PredictAsync(client, TrainedObjectDetection.Photograph, "?threshold=0");
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        var boxes = Boxes(answer);
        using var detector = SsdDetector.Load(trained.ModelPath);
        var classes = detector.Description.Classes;
        Assert.NotEmpty(boxes);
        Assert.All(boxes, box =>
        {
            Assert.Contains(box.Label, classes);
            Assert.InRange(box.Score, 0.01, 1);
            Assert.InRange(box.Left, 0, 1);
            Assert.InRange(box.Right, box.Left, 1);
            Assert.InRange(box.Top, 0, 1);
            Assert.InRange(box.Bottom, box.Top, 1);
        });
        Assert.Equal(boxes.Select(b => b.Score).OrderDescending(), boxes.Select(b => b.Score));

        // The recipe's own detector on the same file, in pixels: the same detections once divided by the image's size
        // (both TorchSharp, same decoding; 1e-4 for the thread split of the forward pass, which may also move a box
        // across the 0.01 floor or swap two whose scores are closer than that, so the comparison stops at a near tie).
        using var photo = await SixLabors.ImageSharp.Image.LoadAsync(TrainedObjectDetection.Photograph);
        var expected = detector.Detect(TrainedObjectDetection.Photograph);
        Assert.InRange(boxes.Length, expected.Count - 2, expected.Count + 2);
        for (int i = 0; i < Math.Min(5, boxes.Length); i++)
        {
            if (i + 1 < expected.Count && expected[i].Score - expected[i + 1].Score < 1e-3) break;
            var (box, detection) = (boxes[i], expected[i]);
            Assert.Equal(classes[detection.ClassIndex], box.Label);
            Assert.Equal(detection.Score, box.Score, 1e-4);
            Assert.Equal(detection.Box.Left / photo.Width, box.Left, 1e-3);
            Assert.Equal(detection.Box.Bottom / photo.Height, box.Bottom, 1e-3);
        }

        // The default threshold (0.5) keeps only confident boxes; a bad threshold is refused in one line.
        var (_, confident) = await PredictAsync(client, TrainedObjectDetection.Photograph);
        Assert.Equal(boxes.Count(b => b.Score >= 0.5), Boxes(confident).Length);
        var (refused, error) = await PredictAsync(client, TrainedObjectDetection.Photograph, "?threshold=lots");
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Contains("threshold", error.GetProperty("error").GetString());

        var (_, metadata) = await GetJsonAsync(client, "/v2/models/object-detection");
        Assert.Equal("object-detection", metadata.GetProperty("name").GetString());
        var size = detector.Network.ImageSize;
        Assert.Equal(new long[] { -1, 3, size, size }, Tensors(metadata, "inputs")["images"]);
        Assert.Equal(new long[] { -1, detector.Network.DefaultBoxes.Count, detector.Network.ValuesPerBox }, Tensors(metadata, "outputs")["detections"]);
    }

    [Fact]
    public async Task Onnx_runtime_serves_the_same_boxes_as_torchsharp()
    {
        await using var onnx = await StartAsync(Options("object-detection", trained.ModelPath, backend: null), (options, log) => DetectionServing.Load(options, log), TextWriter.Null);
        await using var torch = await StartAsync(Options("object-detection", trained.ModelPath, ServingBackend.Torch), (options, log) => DetectionServing.Load(options, log), TextWriter.Null);
        using var onnxClient = Client(onnx.Address);
        using var torchClient = Client(torch.Address);
        var (_, onnxMetadata) = await GetJsonAsync(onnxClient, "/v2/models/object-detection");
        Assert.Equal(OnnxRuntimeBackend.PlatformName, onnxMetadata.GetProperty("platform").GetString());
        var (_, fromOnnx) = await PredictAsync(onnxClient, TrainedObjectDetection.Photograph, "?threshold=0.05");
        var (_, fromTorch) = await PredictAsync(torchClient, TrainedObjectDetection.Photograph, "?threshold=0.05");
        // Compared where the ranking is clear: the engines' scores differ by ~1e-5, so boxes whose scores are closer
        // than that (or near the threshold) may swap places or cross it; the leading boxes may not.
        var onnxBoxes = Boxes(fromOnnx);
        var torchBoxes = Boxes(fromTorch);
        Assert.InRange(onnxBoxes.Length, torchBoxes.Length - 2, torchBoxes.Length + 2);
        for (int i = 0; i < Math.Min(3, torchBoxes.Length); i++)
        {
            if (i + 1 < torchBoxes.Length && torchBoxes[i].Score - torchBoxes[i + 1].Score < 1e-3) break;
            Assert.Equal(torchBoxes[i].Label, onnxBoxes[i].Label);
            Assert.Equal(torchBoxes[i].Score, onnxBoxes[i].Score, 1e-4);
            Assert.Equal(torchBoxes[i].Left, onnxBoxes[i].Left, 1e-3);
            Assert.Equal(torchBoxes[i].Top, onnxBoxes[i].Top, 1e-3);
        }
    }

    [ChromiumFact]
    public async Task The_page_draws_the_boxes_with_their_labels()
    {
        // A one-epoch detector is unsure: answer from 0.05 so the page has boxes to draw.
        await using var server = await StartAsync(Options("object-detection", trained.ModelPath, backend: null),
            (options, log) => DetectionServing.Load(options, log, threshold: 0.05), TextWriter.Null);
        using var client = Client(server.Address);
        var (_, answer) = await PredictAsync(client, TrainedObjectDetection.Photograph);
        var boxes = Boxes(answer);
        Assert.NotEmpty(boxes);

        await using var browser = await ServingPageInBrowser.OpenAsync(server.Address);
        await browser.UploadAsync(TrainedObjectDetection.Photograph);
        string screenshot = ScreenshotPath("object-detection-page.png");
        await browser.ScreenshotAsync(screenshot);

        // One table row per box with its label, and the boxes' outlines and labels drawn on the overlay.
        string[] labels = await browser.Page.EvaluateExpressionAsync<string[]>(
            "[...document.querySelectorAll('#result table tr')].slice(1).map(row => row.cells[0].textContent)");
        Assert.Equal(boxes.Select(b => b.Label), labels);
        int[] overlay = await browser.OverlayPixelsDrawnAsync();
        Assert.True(overlay[0] > 100, $"{overlay[0]} pixels drawn on the {overlay[1]}x{overlay[2]} overlay (screenshot {screenshot})");
    }
}
