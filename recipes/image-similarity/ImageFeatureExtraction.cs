using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.ImageSimilarity;

/// <summary>
/// Feature vectors for every image of a set, in order, for indexing: each image goes through the picture
/// pipeline, then batches through <c>features</c> (ImageNet preprocessing and a backbone, say). Unlike a
/// training batch source, nothing is substituted: an image that cannot be decoded is left out and listed in
/// <c>skipped</c>, so every vector belongs to its own image.
/// </summary>
public static class ImageFeatureExtraction
{
    public static (IReadOnlyList<ImageEntry> Images, float[] Features, int Dimension) Extract(
        ImageSet images, ImagePipeline pipeline, Func<Tensor, Tensor> features, SkippedImages skipped, int batchSize = 16)
    {
        var kept = new List<ImageEntry>();
        var values = new List<float>();
        int dimension = 0;
        for (int start = 0; start < images.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = new List<(ImageEntry Entry, Tensor Chw)>();
            for (int i = start; i < Math.Min(start + batchSize, images.Count); i++)
            {
                try
                {
                    batch.Add((images[i], pipeline.Process(images[i], 0, i).ToTensor(pipeline.ColourOrder, pipeline.Scale)));
                }
                catch (DataFileException error)
                {
                    skipped.Add(images[i].Origin, error.Problem);
                }
            }
            if (batch.Count == 0) continue;
            using var vectors = features(torch.stack(batch.Select(b => b.Chw).ToArray()));
            dimension = (int)vectors.shape[1];
            values.AddRange(vectors.contiguous().data<float>().ToArray());
            kept.AddRange(batch.Select(b => b.Entry));
        }
        return (kept, values.ToArray(), dimension);
    }
}
