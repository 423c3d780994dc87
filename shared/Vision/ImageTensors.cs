namespace Recipes.Runtime.Vision;

/// <summary>The channel order of a tensor: RGB for torchvision-style models, BGR for Caffe/OpenCV-trained ones.</summary>
public enum ColourOrder { Rgb, Bgr }

/// <summary>
/// Frames to the channels x height x width float layout models take. The frame's interleaved RGB becomes three
/// planes in the chosen order, each value multiplied by a scale (1/255 for 0..1 inputs).
/// </summary>
public static class ImageTensors
{
    /// <summary>Writes 3 x height x width values into <paramref name="destination"/>.</summary>
    public static void CopyChw(this RgbFrame frame, Span<float> destination, ColourOrder order = ColourOrder.Rgb, float scale = 1f)
    {
        int plane = frame.Width * frame.Height;
        if (destination.Length < plane * RgbFrame.Channels)
            throw new ArgumentException($"a {frame.Width}x{frame.Height} frame needs {plane * RgbFrame.Channels} values, the destination has {destination.Length}");
        var source = frame.Buffer;
        int first = order == ColourOrder.Rgb ? 0 : 2, third = 2 - first;
        var plane0 = destination[..plane];
        var plane1 = destination.Slice(plane, plane);
        var plane2 = destination.Slice(2 * plane, plane);
        for (int p = 0, i = 0; p < plane; p++, i += RgbFrame.Channels)
        {
            plane0[p] = source[i + first] * scale;
            plane1[p] = source[i + 1] * scale;
            plane2[p] = source[i + third] * scale;
        }
    }

    public static float[] ToChw(this RgbFrame frame, ColourOrder order = ColourOrder.Rgb, float scale = 1f)
    {
        float[] values = GC.AllocateUninitializedArray<float>(frame.Width * frame.Height * RgbFrame.Channels);
        frame.CopyChw(values, order, scale);
        return values;
    }

    /// <summary>A 3 x height x width float tensor in the caller's dispose scope.</summary>
    public static Tensor ToTensor(this RgbFrame frame, ColourOrder order = ColourOrder.Rgb, float scale = 1f) =>
        tensor(frame.ToChw(order, scale), [RgbFrame.Channels, frame.Height, frame.Width]);

    /// <summary>A frame from a 3 x height x width float tensor (the inverse of <see cref="ToTensor"/> with the same order and scale).</summary>
    public static RgbFrame FromChwTensor(Tensor chw, ColourOrder order = ColourOrder.Rgb, float scale = 1f)
    {
        if (chw.dim() != 3 || chw.shape[0] != RgbFrame.Channels)
            throw new ArgumentException($"expected a 3 x height x width tensor, got [{string.Join(", ", chw.shape)}]");
        int height = (int)chw.shape[1], width = (int)chw.shape[2], plane = width * height;
        using var values = chw.to_type(ScalarType.Float32).contiguous();
        float[] planes = values.data<float>().ToArray();
        float[] pixels = GC.AllocateUninitializedArray<float>(planes.Length);
        int first = order == ColourOrder.Rgb ? 0 : 2, third = 2 - first;
        for (int p = 0, i = 0; p < plane; p++, i += RgbFrame.Channels)
        {
            pixels[i + first] = planes[p] / scale;
            pixels[i + 1] = planes[plane + p] / scale;
            pixels[i + third] = planes[2 * plane + p] / scale;
        }
        return new RgbFrame(width, height, pixels);
    }
}
