using Recipes.Runtime.Vision;

namespace Recipes.ObjectDetection;

/// <summary>
/// One annotated object: its class (0-based among the data set's object classes; the detector's background is
/// not a class here), its box in edge coordinates of the original image (the image spans 0..width, so VOC's
/// inclusive 1-based pixel box xmin..xmax is Left = xmin - 1, Right = xmax), and VOC's "difficult" flag
/// (kept for evaluation, where such objects count neither as hits nor as misses).
/// </summary>
public sealed record AnnotatedObject(int ClassIndex, PixelBox Box, bool Difficult = false);

/// <summary>An image file with its size and annotated objects.</summary>
public sealed record AnnotatedImage(string Path, int Width, int Height, IReadOnlyList<AnnotatedObject> Objects)
{
    /// <summary>The file name without extension: VOC's image id, and the name of its text files.</summary>
    public string Id => System.IO.Path.GetFileNameWithoutExtension(Path);
}

/// <summary>One detection: a class (0-based, as in <see cref="AnnotatedObject"/>), a confidence and a box in edge
/// coordinates of the original image.</summary>
public sealed record Detection(int ClassIndex, float Score, PixelBox Box);
