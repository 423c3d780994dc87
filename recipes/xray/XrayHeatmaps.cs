using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>How often a heatmap's peak fell inside the lesion drawn for that finding.</summary>
/// <paramref name="ChanceSum"/> adds up, over the same lesions, the fraction of the image their (widened) boxes
/// cover: where a peak put at random would land inside, so <see cref="ChanceRate"/> is the rate to beat.
public sealed record HeatmapLocalisation(int Inside, int Total, double ChanceSum)
{
    public double Rate => Total == 0 ? double.NaN : (double)Inside / Total;
    public double ChanceRate => Total == 0 ? double.NaN : ChanceSum / Total;
}

/// <summary>The heatmap strip written after training, and on phantoms the check of where the heatmaps point.</summary>
public static class XrayHeatmaps
{
    /// <summary>Half a feature-map cell (32 pixels at 224): a 7x7 map cannot place a peak more finely than that.</summary>
    public const double PeakMargin = 16;

    /// <summary>Writes <paramref name="count"/> test images that have findings, each with the heatmap of its most
    /// likely finding; with <paramref name="lesions"/> (phantoms) also measures, over every positive finding that
    /// has a drawn lesion in every test image, whether the finding's heatmap peak lies inside it.</summary>
    public static (string Path, HeatmapLocalisation? Localisation) WriteTestStrip(string path, ChestXrayNetwork network, IReadOnlyList<ChestXrayImage> test,
        ImagePipeline pictures, IReadOnlyList<string> findings, IReadOnlyDictionary<string, IReadOnlyList<PhantomLesion>>? lesions, int count)
    {
        var tiles = new List<ContactSheetTile>();
        int inside = 0, total = 0;
        double chance = 0;
        const int batch = 16;
        for (int start = 0; start < test.Count && (lesions is not null || tiles.Count < count); start += batch)
        {
            var images = test.Skip(start).Take(batch).ToList();
            var frames = images.Select((image, i) => pictures.Process(new ImageEntry(image.Path), 0, start + i)).ToList();
            float[][] probabilities;
            ActivationMap[][] maps;
            using (var scope = NewDisposeScope())
            {
                var input = stack(frames.Select(frame => frame.ToTensor()).ToArray());
                (probabilities, maps) = ClassActivationMaps.Compute(network, input, findings);
            }
            for (int i = 0; i < images.Count; i++)
            {
                var image = images[i];
                // Bilateral findings (edema, fibrosis) have a box per lung: a finding counts once per image, found
                // when the peak lies in any of its boxes.
                if (lesions is not null && lesions.TryGetValue(image.ImageIndex, out var drawn))
                    foreach (var finding in drawn.GroupBy(lesion => lesion.Finding))
                    {
                        var map = maps[i][ChestXrayFindings.IndexOf(finding.Key)];
                        var boxes = finding.Select(lesion => new PixelBox(lesion.Left, lesion.Top, lesion.Right, lesion.Bottom)).ToList();
                        total++;
                        if (boxes.Any(box => ClassActivationMaps.PeakInside(map, frames[i], box, PeakMargin))) inside++;
                        chance += Math.Min(1, boxes.Sum(box => ClassActivationMaps.CoveredFraction(frames[i], box, PeakMargin)));
                    }
                if (tiles.Count < count && image.Labels.Any(label => label > 0))
                {
                    var top = maps[i].MaxBy(map => map.Probability)!;
                    string truth = ChestXrayFindings.Format(image.Labels);
                    tiles.Add(new ContactSheetTile(ClassActivationMaps.Overlay(frames[i].ToRgbBytes(), top), top.Width, top.Height,
                        $"{top.Finding} {top.Probability:P0}", $"labelled: {truth}"));
                }
            }
        }
        ContactSheet.WritePng(path, [new ContactSheetSection("Test images: heatmap of the most likely finding (red: where the evidence was)", tiles)], columns: 4, scale: 1f);
        return (path, lesions is null ? null : new HeatmapLocalisation(inside, total, chance));
    }
}
