using System.Threading.Channels;
using Recipes.Runtime.Data;

namespace Recipes.Runtime.Vision;

/// <summary>
/// Streams an image set through an <see cref="ImagePipeline"/> as batches, decoding and transforming on
/// <see cref="Workers"/> threads while the caller consumes earlier batches (prefetch). Memory stays bounded:
/// at most <see cref="PrefetchBatches"/> x batch size finished images wait, plus one per worker in progress,
/// whatever the size of the set. Batches come in set order (or the epoch's shuffled order); bad files are
/// skipped and recorded in <see cref="Skipped"/> (or end the run when the pipeline is strict), and the
/// following images fill their places, so every batch but the last is full.
/// </summary>
public sealed class ImageBatchLoader
{
    public ImageBatchLoader(ImagePipeline pipeline, int batchSize, int workers = 0, int prefetchBatches = 2)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetchBatches, 1);
        Pipeline = pipeline;
        BatchSize = batchSize;
        Workers = workers == 0 ? Environment.ProcessorCount : workers;
        PrefetchBatches = prefetchBatches;
    }

    public ImagePipeline Pipeline { get; }
    public int BatchSize { get; }
    public int Workers { get; }
    public int PrefetchBatches { get; }
    public SkippedImages Skipped { get; } = new();

    /// <summary>Images processed so far that went into batches.</summary>
    public long ImagesDelivered => Interlocked.Read(ref _delivered);
    long _delivered;

    /// <summary>
    /// The batches of one pass over <paramref name="images"/>. <paramref name="epoch"/> selects the random
    /// transforms (and the order, when <paramref name="shuffle"/>), so every epoch augments differently and the
    /// same epoch always the same way.
    /// </summary>
    public IEnumerable<ImageBatch> Read(ImageSet images, int epoch = 0, bool shuffle = false, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        int[] order = Enumerable.Range(0, images.Count).ToArray();
        if (shuffle) new Random(ImagePipeline.MixSeed(Pipeline.Seed, epoch, -1)).Shuffle(order);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var ready = Channel.CreateBounded<Task<ProcessedImage>>(new BoundedChannelOptions(PrefetchBatches * BatchSize)
        {
            SingleReader = true, SingleWriter = true,
        });
        // Not disposed: workers still in flight when the caller stops early release it afterwards.
        var running = new SemaphoreSlim(Workers);
        var producer = Task.Run(() => ScheduleAsync(images, order, epoch, ready.Writer, running, stop.Token));
        try
        {
            var batch = new List<ProcessedImage>(BatchSize);
            while (ready.Reader.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult())
            {
                while (ready.Reader.TryRead(out var pending))
                {
                    var image = pending.GetAwaiter().GetResult(); // rethrows a strict pipeline's DataFileException
                    if (image.Problem is not null)
                    {
                        Skipped.Add(image.Entry.Origin, image.Problem);
                        continue;
                    }
                    batch.Add(image);
                    if (batch.Count == BatchSize)
                    {
                        yield return Assemble(batch);
                        batch.Clear();
                    }
                }
            }
            producer.GetAwaiter().GetResult();
            if (batch.Count > 0) yield return Assemble(batch);
        }
        finally
        {
            // Reached when the caller stops early too: stop scheduling; work in flight finishes and is dropped.
            stop.Cancel();
            producer.GetAwaiter().GetResult();
        }
    }

    async Task ScheduleAsync(ImageSet images, int[] order, int epoch, ChannelWriter<Task<ProcessedImage>> ready, SemaphoreSlim running, CancellationToken stop)
    {
        try
        {
            foreach (int index in order)
            {
                await running.WaitAsync(stop).ConfigureAwait(false);
                var entry = images[index];
                var work = Task.Run(() =>
                {
                    try { return Pipeline.ProcessToChw(entry, epoch, index); }
                    finally { running.Release(); }
                }, CancellationToken.None);
                await ready.WriteAsync(work, stop).ConfigureAwait(false);
            }
            ready.Complete();
        }
        catch (OperationCanceledException error)
        {
            ready.TryComplete(error);
        }
    }

    ImageBatch Assemble(List<ProcessedImage> images)
    {
        var first = images[0];
        int size = RgbFrame.Channels * first.Width * first.Height;
        float[] data = GC.AllocateUninitializedArray<float>(images.Count * size);
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            if (image.Width != first.Width || image.Height != first.Height)
                throw new DataFileException(image.Entry.Origin,
                    $"is {image.Width}x{image.Height} after the transforms but the batch holds {first.Width}x{first.Height} images ({first.Entry.Origin}); end the transforms with a fixed-size resize or crop");
            image.MoveTo(data.AsSpan(i * size, size));
        }
        Interlocked.Add(ref _delivered, images.Count);
        return new ImageBatch(data, images.Count, first.Width, first.Height,
            images.Select(image => image.Entry.Label).ToArray(), images.Select(image => image.Entry.Origin).ToArray());
    }
}
