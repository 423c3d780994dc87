using Recipes.ImageAugmentation;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Recipes.Tests.Vision;

[Collection(ProcessWideState.Name)] // augmentation seeds come from libtorch's generator, which the test seeds
public sealed class ImageSetAndLoaderTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("vision-sets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A labelled folder: class/name.png, each image a flat colour whose red value is its number.</summary>
    string MakeFolder(int perClass, params string[] classes)
    {
        string root = Path.Combine(_folder, "set");
        int number = 0;
        foreach (string name in classes)
        {
            Directory.CreateDirectory(Path.Combine(root, name));
            for (int i = 0; i < perClass; i++, number++)
            {
                using var image = new Image<Rgb24>(12 + number % 3, 10, new Rgb24((byte)number, 50, 100));
                image.SaveAsPng(Path.Combine(root, name, $"{i:D2}.png"));
            }
        }
        File.WriteAllText(Path.Combine(root, "LICENSE"), "not an image");
        return root;
    }

    [Fact]
    public void A_folder_lists_images_recursively_in_order_with_labels_from_their_parent_folder()
    {
        string root = MakeFolder(3, "dogs", "cats");
        var set = ImageSet.FromFolder(root, labelsFromParentFolder: true);
        Assert.Equal(["cats", "dogs"], set.ClassNames);
        Assert.Equal(6, set.Count);
        Assert.Equal(Path.Combine(root, "cats", "00.png"), set[0].Origin);
        Assert.Equal([0, 0, 0, 1, 1, 1], set.Entries.Select(entry => entry.Label));
        Assert.All(ImageSet.FromFolder(root).Entries, entry => Assert.Equal(ImageEntry.Unlabelled, entry.Label));
        Assert.Equal("no such image folder", Assert.Throws<DataFileException>(() => ImageSet.FromFolder(Path.Combine(_folder, "none"))).Problem);
    }

    [Fact]
    public void Partitions_hold_every_image_once_and_splits_are_seeded()
    {
        var set = new ImageSet(Enumerable.Range(0, 10).Select(i => new ImageEntry($"image{i}")));
        var parts = Enumerable.Range(0, 3).Select(p => set.Partition(p, 3)).ToArray();
        Assert.Equal([4, 3, 3], parts.Select(part => part.Count));
        Assert.Equal(set.Entries.Select(e => e.Origin).Order(), parts.SelectMany(part => part.Entries).Select(e => e.Origin).Order());
        var (train, test) = set.Split(0.8, seed: 1);
        Assert.Equal((8, 2), (train.Count, test.Count));
        Assert.Empty(train.Entries.Intersect(test.Entries));
        Assert.Equal(test.Entries, set.Split(0.8, seed: 1).Second.Entries);
    }

    [Fact]
    public void The_loader_delivers_every_image_in_order_in_full_batches_as_chw_tensors()
    {
        var set = ImageSet.FromFolder(MakeFolder(5, "a", "b"), labelsFromParentFolder: true);
        var pipeline = new ImagePipeline { Transform = new CenterCrop(8, 8), Scale = 1 / 255f };
        var loader = new ImageBatchLoader(pipeline, batchSize: 4, workers: 2, prefetchBatches: 1);
        var batches = loader.Read(set).ToList();
        Assert.Equal([4, 4, 2], batches.Select(batch => batch.Count));
        Assert.Equal(set.Entries.Select(e => e.Origin), batches.SelectMany(batch => batch.Origins));
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], batches.SelectMany(batch => batch.Labels));
        // Image n has red n: the first value of its red plane.
        float[] reds = batches.SelectMany(batch => Enumerable.Range(0, batch.Count).Select(i => batch.Image(i)[0] * 255)).ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(n => (float)n), reds.Select(value => MathF.Round(value, 3)));
        Assert.Equal(100 / 255f, batches[0].Image(1)[2 * 64], 1e-6f); // blue plane
        using var scope = torch.NewDisposeScope();
        Assert.Equal([4L, 3L, 8L, 8L], batches[0].ToTensor().shape);
        Assert.Equal(10, loader.ImagesDelivered);
    }

    [Fact]
    public void A_leading_resize_from_the_decoded_bytes_gives_the_same_frame_as_decoding_first()
    {
        var entry = new ImageEntry(GeneratedTestScene.Origin) { EncodedBytes = GeneratedTestScene.EncodePng() };
        foreach (ImageOperation transform in new ImageOperation[]
        {
            new RandomAspectScale([100, 300]).Then(new RandomCrop(90, 90)),
            new Resize(123, 45),
            new AspectScale(375), // the size it already has: nothing to resize
        })
        {
            var pipeline = new ImagePipeline { Transform = transform, Seed = 5 };
            for (int index = 0; index < 4; index++)
            {
                var fused = pipeline.Process(entry, pass: 2, index);
                var separate = transform.Apply(entry.Decode(pipeline.Decoder), pipeline.RandomFor(2, index));
                Assert.Equal((separate.Width, separate.Height), (fused.Width, fused.Height));
                Assert.Equal(separate.Pixels.ToArray(), fused.Pixels.ToArray());
                Assert.Equal(separate.FromSource, fused.FromSource);
                Assert.Equal(separate.History, fused.History);
            }
        }
    }

    [Fact]
    public void Random_transforms_do_not_depend_on_the_number_of_workers_but_on_the_epoch()
    {
        var set = ImageSet.FromFolder(MakeFolder(6, "x"));
        var pipeline = new ImagePipeline { Transform = new Brightness(0, 100).Then(new CenterCrop(8, 8)), Seed = 3 };
        float[] Read(int workers, int epoch) => new ImageBatchLoader(pipeline, 4, workers).Read(set, epoch).SelectMany(batch => batch.Data).ToArray();
        Assert.Equal(Read(1, 0), Read(2, 0));
        Assert.NotEqual(Read(1, 0), Read(1, 1));
        var shuffled = new ImageBatchLoader(pipeline, 6).Read(set, epoch: 2, shuffle: true).Single();
        Assert.NotEqual(set.Entries.Select(e => e.Origin), shuffled.Origins);
        Assert.Equal(set.Entries.Select(e => e.Origin).Order(), shuffled.Origins.Order());
    }

    [Fact]
    public void Corrupt_truncated_and_oversized_files_are_skipped_counted_and_named()
    {
        string root = MakeFolder(4, "ok");
        string truncated = Path.Combine(root, "ok", "01.png");
        byte[] bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        string bomb = Path.Combine(root, "ok", "02.png");
        File.WriteAllBytes(bomb, TestFrames.PngDeclaring(100_000, 100_000));
        var set = ImageSet.FromFolder(root);

        var loader = new ImageBatchLoader(new ImagePipeline { Transform = new Resize(8, 8) }, batchSize: 2, workers: 2);
        var batches = loader.Read(set).ToList();
        Assert.Equal([Path.Combine(root, "ok", "00.png"), Path.Combine(root, "ok", "03.png")], batches.Single().Origins);
        Assert.Equal(2, loader.Skipped.Count);
        Assert.Equal([truncated, bomb], loader.Skipped.Items.Select(item => item.Origin));
        Assert.StartsWith("truncated PNG", loader.Skipped.Items[0].Problem);
        Assert.Contains("100000x100000", loader.Skipped.Items[1].Problem);

        var strict = new ImageBatchLoader(new ImagePipeline { Transform = new Resize(8, 8), Strict = true }, batchSize: 2);
        var error = Assert.Throws<DataFileException>(() => strict.Read(set).ToList());
        Assert.Equal(truncated, error.FilePath);
    }

    [Fact]
    public void Images_of_different_sizes_in_one_batch_are_an_error_naming_the_file()
    {
        var set = ImageSet.FromFolder(MakeFolder(3, "x")); // widths 12, 13, 14
        var loader = new ImageBatchLoader(new ImagePipeline(), batchSize: 3);
        var error = Assert.Throws<DataFileException>(() => loader.Read(set).ToList());
        Assert.Equal(set[1].Origin, error.FilePath);
        Assert.Contains("13x10 after the transforms but the batch holds 12x10", error.Problem);
    }

    /// <summary>Passes frames through, counting how many it has seen.</summary>
    sealed class CountingOperation : ImageOperation
    {
        int _count;
        public int Count => Volatile.Read(ref _count);
        public override string Name => "Counting()";
        public override RgbFrame Apply(RgbFrame image, Random random)
        {
            Interlocked.Increment(ref _count);
            return image;
        }
    }

    [Fact]
    public void A_paused_consumer_holds_at_most_the_prefetch_window_and_stopping_early_blocks_nothing()
    {
        var set = ImageSet.FromFolder(MakeFolder(40, "x"));
        var counter = new CountingOperation();
        var loader = new ImageBatchLoader(new ImagePipeline { Transform = new Resize(8, 8).Then(counter) }, batchSize: 2, workers: 2, prefetchBatches: 1);
        using (var batches = loader.Read(set).GetEnumerator())
        {
            Assert.True(batches.MoveNext());
            Thread.Sleep(300); // give the workers every chance to run ahead
            // Consumed (2) + the queue (one batch of 2) + the one the scheduler has started and waits to enqueue.
            Assert.InRange(counter.Count, 2, 2 + 2 + 1);
        }
        Thread.Sleep(100);
        Assert.True(counter.Count < 40, "stopping early must stop the decoding");
    }

    [Fact]
    public void The_trainer_batch_source_seeds_augmentation_from_torch_and_replaces_bad_files()
    {
        string root = MakeFolder(3, "a", "b");
        string bad = Path.Combine(root, "a", "01.png");
        File.WriteAllBytes(bad, [1, 2, 3]);
        var set = ImageSet.FromFolder(root, labelsFromParentFolder: true);
        var source = new ImageBatchSource(set, new ImagePipeline { Transform = new Brightness(0, 50).Then(new CenterCrop(8, 8)) }, workers: 2);
        using var scope = torch.NewDisposeScope();

        torch.random.manual_seed(11);
        var (input, target) = source.GetBatch([0, 1, 4]);
        Assert.Equal([3L, 3L, 8L, 8L], input.shape);
        Assert.Equal([0L, 0L, 1L], target.data<long>().ToArray()); // index 1 is replaced by index 2, also "a"
        Assert.Equal(bad, source.Skipped.Items.Single().Origin);

        float[] first = input.data<float>().ToArray();
        torch.random.manual_seed(11);
        Assert.Equal(first, source.GetBatch([0, 1, 4]).Input.data<float>().ToArray());
        torch.random.manual_seed(12);
        Assert.NotEqual(first, source.GetBatch([0, 1, 4]).Input.data<float>().ToArray());
        Assert.Equal(1, source.Skipped.Count);
    }
}
