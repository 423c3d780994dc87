namespace Recipes.Runtime.Vision;

/// <summary>
/// Adds a random delta from [low, high] to every channel and clamps to 0..255 (the seed's
/// ImageBrightness(0, 32)).
/// </summary>
public sealed class Brightness : ImageOperation
{
    public Brightness(double deltaLow, double deltaHigh)
    {
        if (!(deltaLow <= deltaHigh)) throw new ArgumentException($"brightness range {deltaLow}..{deltaHigh} is empty");
        DeltaLow = deltaLow;
        DeltaHigh = deltaHigh;
    }

    public double DeltaLow { get; }
    public double DeltaHigh { get; }

    public override string Name => $"Brightness({Format(DeltaLow)}, {Format(DeltaHigh)})";

    public override RgbFrame Apply(RgbFrame image, Random random) => Shift(image, (float)Uniform(random, DeltaLow, DeltaHigh));

    internal static RgbFrame Shift(RgbFrame image, float delta)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int i = 0; i < image.ValueCount; i++) pixels[i] = Math.Clamp(source[i] + delta, 0f, 255f);
        return image.WithPixels(pixels, $"brightness {Signed(delta)}");
    }
}

/// <summary>Multiplies every channel by a random factor from [low, high] and clamps to 0..255 (the seed's ImageContrast).</summary>
public sealed class Contrast : ImageOperation
{
    public Contrast(double factorLow, double factorHigh)
    {
        if (!(factorLow >= 0 && factorLow <= factorHigh)) throw new ArgumentException($"contrast range {factorLow}..{factorHigh} must be non-negative and not empty");
        FactorLow = factorLow;
        FactorHigh = factorHigh;
    }

    public double FactorLow { get; }
    public double FactorHigh { get; }

    public override string Name => $"Contrast({Format(FactorLow)}, {Format(FactorHigh)})";

    public override RgbFrame Apply(RgbFrame image, Random random) => Scale(image, (float)Uniform(random, FactorLow, FactorHigh));

    internal static RgbFrame Scale(RgbFrame image, float factor)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int i = 0; i < image.ValueCount; i++) pixels[i] = Math.Clamp(source[i] * factor, 0f, 255f);
        return image.WithPixels(pixels, $"contrast x{Format(factor)}");
    }
}

/// <summary>
/// Multiplies the HSV saturation of every pixel by a random factor from [low, high], clamped to 1, keeping
/// hue and value (the seed's ImageSaturation(10, 20), which drives colours to full saturation).
/// </summary>
public sealed class Saturation : ImageOperation
{
    public Saturation(double factorLow, double factorHigh)
    {
        if (!(factorLow >= 0 && factorLow <= factorHigh)) throw new ArgumentException($"saturation range {factorLow}..{factorHigh} must be non-negative and not empty");
        FactorLow = factorLow;
        FactorHigh = factorHigh;
    }

    public double FactorLow { get; }
    public double FactorHigh { get; }

    public override string Name => $"Saturation({Format(FactorLow)}, {Format(FactorHigh)})";

    public override RgbFrame Apply(RgbFrame image, Random random) => Scale(image, (float)Uniform(random, FactorLow, FactorHigh));

    // With hue and value fixed, every channel sits at value - value·saturation·k(hue), so scaling the
    // saturation by f moves each channel's distance from the maximum by f: no round trip through HSV.
    internal static RgbFrame Scale(RgbFrame image, float factor)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int i = 0; i < image.ValueCount; i += RgbFrame.Channels)
        {
            float r = Math.Clamp(source[i], 0f, 255f), g = Math.Clamp(source[i + 1], 0f, 255f), b = Math.Clamp(source[i + 2], 0f, 255f);
            float max = MathF.Max(r, MathF.Max(g, b)), min = MathF.Min(r, MathF.Min(g, b));
            float spread = max - min;
            // The factor that keeps saturation at most 1: the minimum channel may fall to 0, not below.
            float effective = spread <= 0 ? 0 : MathF.Min(factor, max / spread);
            // Clamped because rounding can leave the minimum a hair below zero.
            pixels[i] = MathF.Max(0, max - (max - r) * effective);
            pixels[i + 1] = MathF.Max(0, max - (max - g) * effective);
            pixels[i + 2] = MathF.Max(0, max - (max - b) * effective);
        }
        return image.WithPixels(pixels, $"saturation x{Format(factor)}");
    }
}

/// <summary>Rotates the HSV hue of every pixel by a random number of degrees from [low, high] (the seed's ImageHue(-18, 18)).</summary>
public sealed class Hue : ImageOperation
{
    public Hue(double degreesLow, double degreesHigh)
    {
        if (!(degreesLow <= degreesHigh)) throw new ArgumentException($"hue range {degreesLow}..{degreesHigh} is empty");
        DegreesLow = degreesLow;
        DegreesHigh = degreesHigh;
    }

    public double DegreesLow { get; }
    public double DegreesHigh { get; }

    public override string Name => $"Hue({Format(DegreesLow)}, {Format(DegreesHigh)})";

    public override RgbFrame Apply(RgbFrame image, Random random) => Rotate(image, (float)Uniform(random, DegreesLow, DegreesHigh));

    internal static RgbFrame Rotate(RgbFrame image, float degrees)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        float turn = degrees / 60f; // hue in sixths of a turn, the sectors of the HSV hexagon
        for (int i = 0; i < image.ValueCount; i += RgbFrame.Channels)
        {
            float r = Math.Clamp(source[i], 0f, 255f), g = Math.Clamp(source[i + 1], 0f, 255f), b = Math.Clamp(source[i + 2], 0f, 255f);
            float max = MathF.Max(r, MathF.Max(g, b)), min = MathF.Min(r, MathF.Min(g, b));
            float spread = max - min;
            if (spread <= 0)
            {
                pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b; // grey has no hue
                continue;
            }
            float sector = max == r ? (g - b) / spread : max == g ? 2 + (b - r) / spread : 4 + (r - g) / spread;
            sector = (sector + turn) % 6f;
            if (sector < 0) sector += 6f;
            pixels[i] = Channel(5, sector, max, spread);
            pixels[i + 1] = Channel(3, sector, max, spread);
            pixels[i + 2] = Channel(1, sector, max, spread);
        }
        return image.WithPixels(pixels, $"hue {Signed(degrees)} deg");
    }

    // The standard HSV-to-RGB channel formula: value - chroma·clamp(min(k, 4 - k), 0, 1), k = (n + h) mod 6.
    static float Channel(int n, float sector, float max, float spread)
    {
        float k = (n + sector) % 6f;
        return max - spread * Math.Clamp(MathF.Min(k, 4 - k), 0f, 1f);
    }
}

/// <summary>
/// Puts the three channels in a random order (the seed's ImageChannelOrder), or in a fixed order given at
/// construction (RGB to BGR is <c>new ChannelOrder(2, 1, 0)</c>). Output channel c takes input channel order[c].
/// </summary>
public sealed class ChannelOrder : ImageOperation
{
    readonly int[]? _fixed;

    /// <summary>A random permutation for every image (it may be the identity, one time in six, as in the seed).</summary>
    public ChannelOrder() { }

    public ChannelOrder(int first, int second, int third)
    {
        int[] order = [first, second, third];
        if (order.Order().SequenceEqual([0, 1, 2]) is false)
            throw new ArgumentException($"channel order {first},{second},{third} is not a permutation of 0,1,2");
        _fixed = order;
    }

    public override string Name => _fixed is null ? "ChannelOrder()" : $"ChannelOrder({string.Join(", ", _fixed)})";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        int[] order = _fixed ?? RandomPermutation(random);
        return Permute(image, order);
    }

    internal static int[] RandomPermutation(Random random)
    {
        int[] order = [0, 1, 2];
        random.Shuffle(order);
        return order;
    }

    internal static RgbFrame Permute(RgbFrame image, int[] order)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int i = 0; i < image.ValueCount; i += RgbFrame.Channels)
        {
            pixels[i] = source[i + order[0]];
            pixels[i + 1] = source[i + order[1]];
            pixels[i + 2] = source[i + order[2]];
        }
        return image.WithPixels(pixels, $"channels {"RGB"[order[0]]}{"RGB"[order[1]]}{"RGB"[order[2]]}");
    }
}

/// <summary>
/// The seed's ImageColorJitter: brightness, contrast, saturation and hue, each applied with its own
/// probability and random amount. Brightness comes first, then either contrast-saturation-hue or
/// saturation-hue-contrast (a coin toss), or all four in a random order when <see cref="Shuffle"/> is set;
/// finally the channels are put in a random order with <see cref="ChannelOrderProbability"/>.
/// </summary>
public sealed class ColourJitter : ImageOperation
{
    public double BrightnessProbability { get; init; } = 0.5;
    public double BrightnessDelta { get; init; } = 32;
    public double ContrastProbability { get; init; } = 0.5;
    public double ContrastLow { get; init; } = 0.5;
    public double ContrastHigh { get; init; } = 1.5;
    public double HueProbability { get; init; } = 0.5;
    public double HueDelta { get; init; } = 18;
    public double SaturationProbability { get; init; } = 0.5;
    public double SaturationLow { get; init; } = 0.5;
    public double SaturationHigh { get; init; } = 1.5;
    public double ChannelOrderProbability { get; init; }
    /// <summary>Apply the four adjustments in a random order instead of the seed's two fixed orders.</summary>
    public bool Shuffle { get; init; }

    public override string Name => Shuffle ? "ColourJitter(shuffled)" : "ColourJitter()";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        (ImageOperation Operation, double Probability) brightness = (new Brightness(-BrightnessDelta, BrightnessDelta), BrightnessProbability);
        (ImageOperation Operation, double Probability) contrast = (new Contrast(ContrastLow, ContrastHigh), ContrastProbability);
        (ImageOperation Operation, double Probability) saturation = (new Saturation(SaturationLow, SaturationHigh), SaturationProbability);
        (ImageOperation Operation, double Probability) hue = (new Hue(-HueDelta, HueDelta), HueProbability);
        (ImageOperation Operation, double Probability)[] steps;
        if (Shuffle)
        {
            steps = [brightness, contrast, saturation, hue];
            random.Shuffle(steps);
        }
        else
        {
            steps = random.NextDouble() < 0.5 ? [brightness, contrast, saturation, hue] : [brightness, saturation, hue, contrast];
        }
        // Adjustments not drawn leave no trace in the history: the jitter reports what it changed.
        foreach (var (operation, probability) in steps)
            if (random.NextDouble() < probability) image = operation.Apply(image, random);
        return random.NextDouble() < ChannelOrderProbability ? ChannelOrder.Permute(image, ChannelOrder.RandomPermutation(random)) : image;
    }
}

/// <summary>
/// Turns every pixel grey: all three channels become its ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B. Grey
/// data sets are not always stored grey (NIH ChestX-ray14 has a few RGBA files among its 8-bit grey ones, and
/// other releases use 16-bit grey); decoding makes every file RGB, and this op then makes every image three equal
/// channels, so a network sees one kind of picture. A grey pixel keeps its value exactly. Values outside 0..255
/// (a normalised frame) are combined as they are: the luma of values in range stays in range.
/// </summary>
public sealed class Greyscale : ImageOperation
{
    public const float RedWeight = 0.299f, GreenWeight = 0.587f, BlueWeight = 0.114f;

    public override string Name => "Greyscale()";

    public override RgbFrame Apply(RgbFrame image, Random random) => Convert(image);

    internal static RgbFrame Convert(RgbFrame image)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int i = 0; i < image.ValueCount; i += RgbFrame.Channels)
        {
            float r = source[i], g = source[i + 1], b = source[i + 2];
            // The same weights written around green: exact for grey pixels, where r - g and b - g are 0.
            float luma = g + RedWeight * (r - g) + BlueWeight * (b - g);
            pixels[i] = luma;
            pixels[i + 1] = luma;
            pixels[i + 2] = luma;
        }
        return image.WithPixels(pixels, "greyscale (BT.601 luma)");
    }
}
