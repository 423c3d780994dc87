using Recipes.Runtime.Models.Onnx;

namespace Recipes.ObjectDetection;

/// <summary>The detector as an ONNX model, for serving through ONNX Runtime.</summary>
public sealed partial class SsdNetwork
{
    /// <summary>
    /// Input <c>images</c> [batch, 3, ImageSize, ImageSize] (RGB 0..255, normalised inside as the backbone does);
    /// output <c>detections</c> [batch, default boxes, 4 + classes + 1]: exactly <see cref="forward"/>'s raw
    /// predictions (box offsets, then background and class logits) in the order of <see cref="DefaultBoxes"/>.
    /// Decoding the offsets against the default boxes, the softmax and non-maximum suppression stay in C#
    /// (<see cref="SsdPostProcessing"/>): they are cheap, and keeping them out keeps the graph to plain operators.
    /// </summary>
    public ModelProto ToOnnx()
    {
        var graph = new OnnxGraphBuilder(nameof(SsdNetwork));
        string images = graph.Input("images", 3, ImageSize, ImageSize);
        var maps = backbone.WriteOnnx(graph, images, "backbone").ToList();
        string x = maps[^1];
        for (int e = 0; e < extras.Count; e++)
        {
            x = graph.Module(extras[e], x, $"extras.{e}");
            maps.Add(x);
        }
        var perMap = new List<string>();
        int scores = ObjectClasses + 1;
        for (int m = 0; m < maps.Count; m++)
        {
            // The head's padding channels (up to a multiple of 16) are sliced off, then
            // [N, boxes x values, H, W] -> [N, H, W, boxes x values] -> [N, H x W x boxes, values], as forward does.
            int boxes = DefaultBoxes.Maps[m].BoxesPerCell;
            string offsets = graph.Conv(maps[m], locations[m], $"locations.{m}");
            offsets = graph.Reshape(graph.Transpose(graph.Slice(offsets, [0], [boxes * 4], [1]), 0, 2, 3, 1), 0, -1, 4);
            string confidence = graph.Conv(maps[m], confidences[m], $"confidences.{m}");
            confidence = graph.Reshape(graph.Transpose(graph.Slice(confidence, [0], [boxes * scores], [1]), 0, 2, 3, 1), 0, -1, scores);
            perMap.Add(graph.Concat([offsets, confidence], axis: 2));
        }
        string detections = graph.Concat(perMap, axis: 1);
        graph.Output("detections", detections, DefaultBoxes.Count, ValuesPerBox);
        return graph.Build($"SSD{ImageSize} ({backbone.Description}), {ObjectClasses} classes: raw box offsets and class logits per default box; decode and NMS after");
    }

    /// <summary>Writes <see cref="ToOnnx"/> to <paramref name="path"/> atomically.</summary>
    public void ExportOnnx(string path) => OnnxExport.Save(path, ToOnnx());
}
