using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// SSD, the Single Shot MultiBox Detector (Liu et al. 2016): a backbone gives feature maps at strides 8, 16 and 32;
/// extra layers halve the last one down to a single cell (for a 300-pixel image: 38, 19, 10, 5, 3 and 1 cells);
/// on every map, two 3x3 convolutions predict, for each default box of each cell, four box offsets and a score per
/// class plus background. All predictions come out at once, [N, default boxes, 4 + classes + 1], in the order of
/// <see cref="DefaultBoxes"/>: there is no proposal stage, which is what makes SSD single-shot.
/// </summary>
public sealed partial class SsdNetwork : nn.Module<Tensor, Tensor>
{
    readonly DetectionBackbone backbone;
    readonly ModuleList<Sequential> extras;
    readonly ModuleList<Conv2d> locations;
    readonly ModuleList<Conv2d> confidences;

    /// <param name="objectClasses">Object classes, without background (20 for VOC).</param>
    public SsdNetwork(DetectionBackbone backbone, int objectClasses, int imageSize = 300) : base(nameof(SsdNetwork))
    {
        this.backbone = backbone;
        ObjectClasses = objectClasses;
        ImageSize = imageSize;
        // Extra layers after the backbone, each a 1x1 bottleneck then a 3x3 convolution: the first with stride 2
        // (10 -> 5 cells), the others without padding (5 -> 3 -> 1), as in SSD300.
        int last = backbone.Channels[^1];
        extras = new ModuleList<Sequential>(
            Extra(last, 256, 512, stride: 2, padding: 1),
            Extra(512, 128, 256, stride: 1, padding: 0),
            Extra(256, 128, 256, stride: 1, padding: 0));
        int[] mapChannels = [.. backbone.Channels, 512, 256, 256];

        // The map sizes follow from the input size: measure them once rather than hard-code 38, 19, 10, 5, 3, 1.
        // (In evaluation mode, so the probe leaves the batch-norm statistics alone.)
        backbone.eval();
        foreach (var extra in extras) extra.eval();
        int[] sizes;
        using (no_grad())
        using (var probe = zeros(1, 3, imageSize, imageSize))
        {
            var maps = FeatureMaps(probe);
            sizes = maps.Select(map => (int)map.shape[2]).ToArray();
            foreach (var map in maps) map.Dispose();
        }
        if (sizes[^1] < 1) throw new ArgumentException($"a {imageSize}-pixel image is too small for this detector's layers");
        DefaultBoxes = DefaultBoxes.Ssd(sizes);

        locations = new ModuleList<Conv2d>();
        confidences = new ModuleList<Conv2d>();
        for (int m = 0; m < mapChannels.Length; m++)
        {
            int boxes = DefaultBoxes.Maps[m].BoxesPerCell;
            locations.Add(nn.Conv2d(mapChannels[m], HeadChannels(boxes * 4), 3, padding: 1));
            confidences.Add(nn.Conv2d(mapChannels[m], HeadChannels(boxes * (objectClasses + 1)), 3, padding: 1));
        }
        RegisterComponents();
        train();
        foreach (var head in locations.Concat(confidences))
        {
            nn.init.xavier_uniform_(head.weight);
            nn.init.zeros_(head.bias);
        }
    }

    public DetectionBackbone Backbone => backbone;
    public int ObjectClasses { get; }
    public int ImageSize { get; }
    public DefaultBoxes DefaultBoxes { get; }

    /// <summary>Values per default box in the output: 4 offsets, then background and each class's score (logits).</summary>
    public int ValuesPerBox => 4 + ObjectClasses + 1;

    static Sequential Extra(int input, int bottleneck, int output, int stride, int padding) => nn.Sequential(
        nn.Conv2d(input, bottleneck, 1, bias: false), nn.BatchNorm2d(bottleneck), nn.ReLU(),
        nn.Conv2d(bottleneck, output, 3, stride: stride, padding: padding, bias: false), nn.BatchNorm2d(output), nn.ReLU());

    /// <summary>Output channels of a head: what it predicts, rounded up to a multiple of 16. libtorch's CPU convolution
    /// (oneDNN) sometimes returned NaN in the input gradient of a head whose channel count was not a multiple of 16
    /// (28 = 4 boxes x 7 scores): at random, even on one thread, so training diverged at random steps. The extra
    /// channels are computed and ignored (under 1% of the detector's work).</summary>
    static int HeadChannels(int predicted) => (predicted + 15) / 16 * 16;

    List<Tensor> FeatureMaps(Tensor images)
    {
        var maps = backbone.forward(images).ToList();
        var x = maps[^1];
        foreach (var extra in extras)
        {
            x = extra.forward(x);
            maps.Add(x);
        }
        return maps;
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var maps = FeatureMaps(images);
        long n = images.shape[0];
        var perMap = new List<Tensor>();
        for (int m = 0; m < maps.Count; m++)
        {
            // [N, boxes x values (+ unused), H, W] -> [N, H, W, boxes x values] -> [N, H x W x boxes, values]: row, column, box.
            int boxes = DefaultBoxes.Maps[m].BoxesPerCell;
            var offsets = locations[m].forward(maps[m])[.., ..(boxes * 4)].permute(0, 2, 3, 1).reshape(n, -1, 4);
            var scores = confidences[m].forward(maps[m])[.., ..(boxes * (ObjectClasses + 1))].permute(0, 2, 3, 1).reshape(n, -1, ObjectClasses + 1);
            perMap.Add(cat([offsets, scores], 2));
        }
        return cat(perMap, 1).MoveToOuterDisposeScope();
    }
}
