using System.Net;
using Recipes.Runtime.Models;
using Recipes.Serving;
using Recipes.Tests.Data;
using Recipes.Xray;
using static Recipes.Tests.Serving.VisionServingKit;

namespace Recipes.Tests.Serving;

/// <summary>The xray recipe's tiniest run: 40 generated phantom radiographs, one epoch, trained once.</summary>
public sealed class TrainedXray() : TrainedRecipeModel("xray",
    ["--phantoms", "40", "--epochs", "1", "--batch-size", "8", "--master", "local[2]"], TimeSpan.FromMinutes(8))
{
    /// <summary>A real radiograph of the NIH starter sample (1024x1024 PNG).</summary>
    public static string Radiograph => SharedSampleData.Find(Path.Combine("chestxray14-starter", "images", "00000075_000.png"));
}

/// <summary>
/// <c>xray serve</c> on the model the recipe saved: 14 independent probabilities and the heatmap of the top finding
/// over the uploaded film, as <c>xray predict</c> computes them; ONNX Runtime agreeing with TorchSharp; the metadata.
/// </summary>
public sealed class XrayServingTests(TrainedXray trained) : IClassFixture<TrainedXray>
{
    [Fact]
    public async Task Serves_the_findings_and_the_heatmap_of_the_top_one_as_xray_predict_computes_them()
    {
        await using var server = await StartAsync(Options("xray", trained.ModelPath, backend: null), XrayServing.Load, TextWriter.Null);
        using var client = Client(server.Address);
        var (status, answer) = await PredictAsync(client, TrainedXray.Radiograph);
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        var classes = Classes(answer);
        Assert.Equal(ChestXrayFindings.Names.Order(), classes.Select(c => c.Label).Order());
        Assert.All(classes, c => Assert.InRange(c.Probability, 0, 1));
        Assert.Equal(classes.Select(c => c.Probability).OrderDescending(), classes.Select(c => c.Probability));

        // What `xray predict` computes for the same file, in TorchSharp: 1e-4 between the engines (float32 kernels
        // that sum in different orders), as the export test requires.
        var (network, description) = SavedModel<ChestXrayModelDescription>.Load(trained.ModelPath, ChestXrayArchitectures.CreateForSavedModel);
        using (network)
        {
            var expected = XrayCommands.PredictOne(network, TrainedXray.Radiograph, XrayCommands.EvaluationPictures(1), description.Findings);
            foreach (var (label, probability) in classes)
                Assert.True(Math.Abs(probability - expected.Probabilities[ChestXrayFindings.IndexOf(label)]) <= 1e-4, $"{label}: served {probability}, predict {expected.Probabilities[ChestXrayFindings.IndexOf(label)]}");

            // The heatmap covers the whole square film; the 16-pixel border (of 256) the centre crop cut off was not seen.
            int width = answer.GetProperty("width").GetInt32(), height = answer.GetProperty("height").GetInt32();
            Assert.Equal((XrayServing.HeatmapCells, XrayServing.HeatmapCells), (width, height));
            float[] heat = [.. answer.GetProperty("heat").EnumerateArray().Select(v => v.GetSingle())];
            Assert.Equal(width * height, heat.Length);
            Assert.All(heat, v => Assert.InRange(v, 0f, 1f));
            Assert.Equal(0f, heat[0]);
            Assert.Equal(0f, heat[^1]);
            // Stretched so the map's own maximum is 1; the cells sample it between its 7x7 values, so the hottest cell
            // is within what 3.5 frame pixels in x and y allow (3.5/32 of the range per axis) of 1.
            Assert.InRange(heat.Max(), 0.75f, 1f);

            // Where predict's map of the top finding peaks, mapped back onto the film, the served heatmap is near its
            // top too (0.75: the cell centre is up to 3.5 frame pixels from the peak in x and in y, over which the
            // bilinear map falls by at most 3.5/32 of its range per axis).
            Assert.Equal(classes[0].Label, answer.GetProperty("finding").GetString());
            AssertHotWherePredictPeaks(expected.Maps.Single(m => m.Finding == classes[0].Label), width, heat);

            // ?finding= asks for another finding's map (any case): the least probable one's, here.
            string least = classes[^1].Label;
            var (otherStatus, other) = await PredictAsync(client, TrainedXray.Radiograph, $"?finding={least.ToUpperInvariant()}");
            Assert.True(otherStatus == HttpStatusCode.OK, other.ToString());
            Assert.Equal(least, other.GetProperty("finding").GetString());
            AssertHotWherePredictPeaks(expected.Maps.Single(m => m.Finding == least), width, [.. other.GetProperty("heat").EnumerateArray().Select(v => v.GetSingle())]);
        }
        var (unknownStatus, unknown) = await PredictAsync(client, TrainedXray.Radiograph, "?finding=Fracture");
        Assert.Equal(HttpStatusCode.BadRequest, unknownStatus);
        Assert.Contains("parameter 'finding' must be one of Atelectasis", unknown.GetProperty("error").GetString());

        var (_, metadata) = await GetJsonAsync(client, "/v2/models/xray");
        Assert.Equal("xray", metadata.GetProperty("name").GetString());
        var outputs = Tensors(metadata, "outputs");
        Assert.Equal(new long[] { -1, 14 }, outputs["probabilities"]);
        Assert.Equal(new long[] { -1, 14, 7, 7 }, outputs["class_activation_maps"]); // 224 / 32 cells a side
        Assert.Equal(new long[] { -1, 3, 224, 224 }, Tensors(metadata, "inputs")["images"]);
    }

    /// <summary>
    /// Where predict's map peaks, mapped back onto the 256-pixel film (the centre crop starts 16 pixels in), the served
    /// heatmap is near its top too (0.75: the cell centre is up to 3.5 frame pixels from the peak in x and in y, over
    /// which the bilinear map falls by at most 3.5/32 of its range per axis).
    /// </summary>
    static void AssertHotWherePredictPeaks(ActivationMap map, int width, float[] heat)
    {
        int height = heat.Length / width;
        var (peakX, peakY) = map.Peak;
        int cellX = (int)((16 + peakX + 0.5) / 256 * width), cellY = (int)((16 + peakY + 0.5) / 256 * height);
        Assert.True(heat[cellY * width + cellX] >= 0.75f, $"served heat {heat[cellY * width + cellX]} at predict's peak ({peakX}, {peakY}) of {map.Finding}");
    }

    [Fact]
    public async Task A_wide_upload_gets_a_wide_heatmap_and_both_backends_agree()
    {
        string wide = WriteGeneratedPicture(Path.Combine(trained.Folder, "wide.png"), 600, 300);
        await using var onnx = await StartAsync(Options("xray", trained.ModelPath, ServingBackend.Onnx), XrayServing.Load, TextWriter.Null);
        await using var torch = await StartAsync(Options("xray", trained.ModelPath, ServingBackend.Torch), XrayServing.Load, TextWriter.Null);
        using var onnxClient = Client(onnx.Address);
        using var torchClient = Client(torch.Address);
        var (_, fromOnnx) = await PredictAsync(onnxClient, wide, "?top=3");
        var (status, fromTorch) = await PredictAsync(torchClient, wide, "?top=3");
        var (_, torchMetadata) = await GetJsonAsync(torchClient, "/v2/models/xray");
        var (_, onnxMetadata) = await GetJsonAsync(onnxClient, "/v2/models/xray");
        Assert.Equal(Tensors(onnxMetadata, "outputs")["class_activation_maps"], Tensors(torchMetadata, "outputs")["class_activation_maps"]);
        Assert.True(status == HttpStatusCode.OK, fromTorch.ToString());
        Assert.Equal((64, 32), (fromTorch.GetProperty("width").GetInt32(), fromTorch.GetProperty("height").GetInt32()));
        Assert.Equal(3, Classes(fromTorch).Length);
        var onnxProbabilities = Classes(fromOnnx).ToDictionary(c => c.Label, c => c.Probability);
        foreach (var (label, probability) in Classes(fromTorch))
            Assert.True(Math.Abs(probability - onnxProbabilities[label]) <= 1e-4, $"{label}: TorchSharp {probability}, ONNX Runtime {onnxProbabilities[label]}");
        // The heatmaps are the same map stretched to [0, 1]: equal within what 1e-4 on the logits allows after stretching.
        float[] onnxHeat = [.. fromOnnx.GetProperty("heat").EnumerateArray().Select(v => v.GetSingle())];
        float[] torchHeat = [.. fromTorch.GetProperty("heat").EnumerateArray().Select(v => v.GetSingle())];
        Assert.Equal(onnxHeat.Length, torchHeat.Length);
        double worst = onnxHeat.Zip(torchHeat, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-2, $"heatmaps differ by up to {worst}");
    }

    [Fact]
    public void The_heatmap_maps_the_crop_back_onto_the_upload()
    {
        // A 2x2 map whose top-left cell is hot, seen through Resize(256) and CenterCrop(224) of a 512x512 upload.
        var frame = ServedModelLoading.Transform(new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(512, 512), XrayCommands.EvaluationPictures(1).Transform);
        Assert.Equal((224, 224), (frame.Width, frame.Height));
        var (width, height, heat) = XrayServing.HeatOverUpload([1f, 0f, 0f, 0f], 2, 2, frame, 512, 512);
        Assert.Equal((64, 64), (width, height));
        // Cells outside the crop (the first 16/256 of each side: 4 cells of 64) are 0; inside, the hot corner is 1
        // and the opposite corner 0.
        Assert.Equal(0f, heat[2 * width + 2]);
        Assert.Equal(1f, heat[5 * width + 5], 1e-6);
        Assert.Equal(0f, heat[58 * width + 58], 1e-6);
        Assert.True(heat[32 * width + 20] > heat[32 * width + 44], "the heat falls away from the hot cell");
    }

    [ChromiumFact]
    public async Task The_page_draws_the_heatmap_over_the_uploaded_film()
    {
        await using var server = await StartAsync(Options("xray", trained.ModelPath, backend: null), XrayServing.Load, TextWriter.Null);
        await using var browser = await ServingPageInBrowser.OpenAsync(server.Address);
        await browser.UploadAsync(TrainedXray.Radiograph);
        string screenshot = ScreenshotPath("xray-page.png");
        await browser.ScreenshotAsync(screenshot);

        // The 14 findings as bars, the top one named, and the heatmap drawn over most of the film (all but the
        // border the crop cut off, where the heat is 0 and the canvas stays transparent).
        Assert.Equal(14, await browser.Page.EvaluateExpressionAsync<int>("document.querySelectorAll('#result .bar').length"));
        string top = await browser.Page.EvaluateExpressionAsync<string>("document.getElementById('top-class').textContent");
        Assert.Contains(top, ChestXrayFindings.Names);
        // The row of the finding the heatmap shows (the top one) is marked.
        Assert.Equal(top, await browser.Page.EvaluateExpressionAsync<string>("document.querySelector('#result .bar.heatmap').dataset.label"));
        int[] overlay = await browser.OverlayPixelsDrawnAsync();
        Assert.True(overlay[1] > 100 && overlay[2] > 100, $"the overlay canvas is {overlay[1]}x{overlay[2]}");
        double covered = (double)overlay[0] / (overlay[1] * overlay[2]);
        Assert.True(covered is > 0.3 and < 0.99, $"the heatmap covers {covered:P0} of the film (screenshot {screenshot})");
    }
}
