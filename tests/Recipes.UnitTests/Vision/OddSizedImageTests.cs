using Recipes.ImageSimilarity;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;
using TorchSharp;

namespace Recipes.Tests.Vision;

/// <summary>
/// Every decodable picture, whatever its shape, comes out of "short side to 256, centre crop 224" as 224x224:
/// a 1000x200 JPEG among the cats and dogs once stopped image-similarity (torch.stack of unequal sizes) and
/// transfer-learning, because the resize capped the long side and the crop came out 224x200.
/// </summary>
public sealed class OddSizedImageTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("odd-images-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly ImageOperation RecipeChain = new ImageChain([new ScaleShortSide(256), new CenterCrop(224, 224)]);

    [Theory]
    [InlineData(1000, 200)] // 5:1, the case that crashed
    [InlineData(200, 1000)] // 1:5
    [InlineData(4000, 250)] // 16:1, still scaled
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(500, 375)]
    public void Short_side_scale_and_centre_crop_give_224_square_for_any_aspect(int width, int height)
    {
        var frame = RecipeChain.Apply(RgbFrame.Filled(width, height, 10, 20, 30), 1);
        Assert.Equal((224, 224), (frame.Width, frame.Height));
        // The short side was scaled to 256 (not padded): the crop is all picture, no black border.
        Assert.Equal(10f, frame[0, 0, 0], 0.01f);
        Assert.Equal(30f, frame[223, 223, 2], 0.01f);
    }

    [Fact]
    public void Short_side_scale_sets_the_short_side_exactly_and_the_long_side_in_proportion()
    {
        var scale = new ScaleShortSide(256);
        var random = new Random(1);
        Assert.Equal((1280, 256), scale.OutputSize(1000, 200, random));
        Assert.Equal((256, 1280), scale.OutputSize(200, 1000, random));
        Assert.Equal((256, 256), scale.OutputSize(1, 1, random));
        Assert.Equal((341, 256), scale.OutputSize(500, 375, random));
        Assert.Equal(4096, scale.MaxLongSide); // 16 x 256 by default
    }

    [Fact]
    public void An_image_whose_long_side_would_become_enormous_is_refused_with_the_reason()
    {
        var refused = Assert.Throws<ImageRefusedException>(() => new ScaleShortSide(256).OutputSize(1, 10_000, new Random(1)));
        Assert.Contains("1x10000", refused.Problem);
        Assert.Contains("2560000", refused.Problem);
        Assert.Contains("over the limit of 4096", refused.Problem);

        // Through a pipeline the refusal names the file, so the image is skipped and counted like a corrupt one.
        string strip = OddImages.Write(Path.Combine(_folder, "strip.png"), 5000, 1, 0);
        var pipeline = new ImagePipeline { Transform = RecipeChain };
        var error = Assert.Throws<DataFileException>(() => pipeline.Process(new ImageEntry(strip), 0, 0));
        Assert.Equal(strip, error.FilePath);
        Assert.Contains("over the limit", error.Problem);
    }

    [Fact]
    public void The_seeds_capped_aspect_scale_followed_by_a_centre_crop_is_padded_to_the_promised_size()
    {
        // AspectScale keeps the seed's cap (a 1000x200 picture stays 1000x200 under max 1000): the crop pads the
        // missing rows with zeros instead of coming out 224x200.
        var frame = new AspectScale(256).Then(new CenterCrop(224, 224)).Apply(RgbFrame.Filled(1000, 200, 50, 60, 70), 1);
        Assert.Equal((224, 224), (frame.Width, frame.Height));
        Assert.Equal([0f, 0f, 0f], TestFrames.Pixel(frame, 100, 0)); // 12 rows of padding above...
        Assert.Equal([50f, 60f, 70f], TestFrames.Pixel(frame, 100, 12));
        Assert.Equal([50f, 60f, 70f], TestFrames.Pixel(frame, 100, 211));
        Assert.Equal([0f, 0f, 0f], TestFrames.Pixel(frame, 100, 212)); // ...and 12 below
    }

    [Fact]
    public void A_folder_of_odd_shapes_batches_through_feature_extraction_and_the_trainer_source()
    {
        string root = Path.Combine(_folder, "scraped");
        OddImages.Write(Path.Combine(root, "a", "normal.jpg"), 320, 240, 0);
        OddImages.Write(Path.Combine(root, "a", "wide.jpg"), 1000, 200, 0);
        OddImages.Write(Path.Combine(root, "a", "icon.png"), 1, 1, 0);
        OddImages.Write(Path.Combine(root, "b", "tall.jpg"), 200, 1000, 1);
        OddImages.Write(Path.Combine(root, "b", "normal.jpg"), 240, 320, 1);
        string strip = OddImages.Write(Path.Combine(root, "b", "strip.png"), 1, 5000, 1);
        var set = ImageSet.FromFolder(root, labelsFromParentFolder: true);
        var pipeline = new ImagePipeline { Transform = RecipeChain };

        // The image-similarity path: torch.stack of every picture of a batch.
        var skipped = new SkippedImages();
        var (kept, features, dimension) = ImageFeatureExtraction.Extract(set, pipeline, batch =>
        {
            Assert.Equal([batch.shape[0], 3L, 224L, 224L], batch.shape);
            return batch.mean([2, 3]);
        }, skipped, batchSize: 8);
        Assert.Equal(5, kept.Count);
        Assert.Equal(3, dimension);
        Assert.Equal(5 * 3, features.Length);
        Assert.Equal(strip, skipped.Items.Single().Origin);
        Assert.Contains("over the limit", skipped.Items.Single().Problem);

        // The trainer's path (transfer-learning): one batch of everything, and the usable images kept in memory.
        using var scope = torch.NewDisposeScope();
        var source = new ImageBatchSource(set, pipeline, workers: 2);
        var (input, _) = source.GetBatch([0, 1, 2, 3, 4, 5]);
        Assert.Equal([6L, 3L, 224L, 224L], input.shape);
        using var usable = new ImageBatchSource(set, pipeline, workers: 2).MaterialiseUsable();
        Assert.Equal(5, usable.Count);
    }
}
