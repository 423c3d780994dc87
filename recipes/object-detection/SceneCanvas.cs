using Recipes.Runtime.Vision;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.ObjectDetection;

/// <summary>
/// Paints one generated scene from one generator: a textured background, then up to six shapes, each placed where it
/// hides at most <see cref="GeneratedScenes.MaxHiddenShare"/> of any shape before it (judged on one sample per pixel, so
/// give or take the shapes' edge pixels). Works in floating-point RGB and
/// keeps, per pixel, which object owns it (covers at least half of it, and is not covered by a later one), from which
/// the visible boxes are read at the end.
/// </summary>
sealed class SceneCanvas
{
    enum Shape { Circle, Cross, Ring, Square, Star, Triangle }   // the order of GeneratedScenes.ClassNames

    const int PlacementAttempts = 30;
    const int SensorNoise = 6;

    // Unit-radius outlines, pointing up: the triangle's corners and the star's ten alternating tips and notches.
    static readonly (double X, double Y)[] TriangleOutline = Polygon(3, 1.0, 1.0);
    static readonly (double X, double Y)[] StarOutline = Polygon(10, 1.0, 0.42);

    readonly Random random;
    readonly int width, height;
    readonly float[] red, green, blue;
    readonly int[] owner;
    readonly List<(Shape Shape, int Pixels)> placed = new();
    readonly List<int> visible = new();

    public SceneCanvas(Random random)
    {
        this.random = random;
        width = random.Next(GeneratedScenes.MinSide, GeneratedScenes.MaxSide + 1);
        height = random.Next(GeneratedScenes.MinSide, GeneratedScenes.MaxSide + 1);
        red = new float[width * height];
        green = new float[width * height];
        blue = new float[width * height];
        owner = Enumerable.Repeat(-1, width * height).ToArray();
    }

    public GeneratedScene Draw()
    {
        var (first, second) = PaintBackground();
        int wanted = random.Next(1, GeneratedScenes.MaxObjects + 1);
        for (int i = 0; i < wanted; i++) TryPlaceObject(first, second);
        return new GeneratedScene(width, height, Finish(), VisibleObjects());
    }

    /// <summary>One of four textures in two related colours; returns the two, which objects must stand out from.</summary>
    (Vector3 First, Vector3 Second) PaintBackground()
    {
        Vector3 first = RandomColour();
        // The second colour is a shift of the first: enough to see the texture, not so much that it looks like an object.
        Vector3 second = new(Shift(first.R), Shift(first.G), Shift(first.B));
        double angle = random.NextDouble() * Math.PI;
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        int kind = random.Next(4);
        double period = random.Next(12, 48);
        var noise = kind == 3 ? new ValueNoise(random, cells: random.Next(3, 8)) : null;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double along = x * cos + y * sin, across = -x * sin + y * cos;
                double t = kind switch
                {
                    0 => along / (width * Math.Abs(cos) + height * Math.Abs(sin)),                       // gradient
                    1 => 0.5 + 0.5 * Math.Sin(2 * Math.PI * along / period),                            // soft stripes
                    2 => (Math.Floor(along / period) + Math.Floor(across / period)) % 2 == 0 ? 0 : 1,  // tilted checks
                    _ => noise!.At((double)x / width, (double)y / height),                              // blotches
                };
                t = Math.Clamp(t, 0, 1);
                int at = y * width + x;
                red[at] = (float)(first.R + (second.R - first.R) * t);
                green[at] = (float)(first.G + (second.G - first.G) * t);
                blue[at] = (float)(first.B + (second.B - first.B) * t);
            }
        return (first, second);
    }

    double Shift(double channel) => Math.Clamp(channel + random.Next(-70, 71), 0, 255);

    Vector3 RandomColour() => new(random.Next(256), random.Next(256), random.Next(256));

    void TryPlaceObject(Vector3 background1, Vector3 background2)
    {
        var shape = (Shape)random.Next(GeneratedScenes.ClassNames.Count);
        // Sizes log-uniform, so small objects are as common as large ones.
        double largest = GeneratedScenes.MaxObjectShare * Math.Min(width, height);
        double size = Math.Exp(Math.Log(GeneratedScenes.MinObjectSize) + random.NextDouble() * (Math.Log(largest) - Math.Log(GeneratedScenes.MinObjectSize)));
        double radius = size / 2;
        // Small turns only: the square and the cross stay within their unit circle, and each shape stays recognisable.
        double turn = (random.NextDouble() - 0.5) * (Math.PI / 3.6);
        Vector3 colour = ContrastingColour(background1, background2);
        double shadeAngle = random.NextDouble() * 2 * Math.PI;

        for (int attempt = 0; attempt < PlacementAttempts; attempt++)
        {
            double cx = radius + 1 + random.NextDouble() * (width - 2 * radius - 2);
            double cy = radius + 1 + random.NextDouble() * (height - 2 * radius - 2);
            // Placements are judged on one sample per pixel (a sixteenth of the work, and a placement may take many tries),
            // the one kept is painted from 4x4 samples.
            if (!HidesTooMuch(Rasterise(shape, cx, cy, radius, turn, samples: 1)))
            {
                Paint(shape, Rasterise(shape, cx, cy, radius, turn, samples: 4), colour, shadeAngle, cx, cy, radius);
                return;
            }
        }
    }

    /// <summary>A colour far (sum of channel differences at least 150) from both background colours.</summary>
    Vector3 ContrastingColour(Vector3 background1, Vector3 background2)
    {
        Vector3 colour = RandomColour();
        for (int i = 0; i < 50 && (Distance(colour, background1) < 150 || Distance(colour, background2) < 150); i++)
            colour = RandomColour();
        if (Distance(colour, background1) < 150 || Distance(colour, background2) < 150)
            colour = new Vector3(255 - background1.R, 255 - background1.G, 255 - background1.B);   // rare: the background's opposite
        return colour;

        static double Distance(Vector3 a, Vector3 b) => Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B);
    }

    /// <summary>The shape's coverage (0..1, from samples x samples points) of each pixel of its square around the centre.</summary>
    List<(int At, double Coverage)> Rasterise(Shape shape, double cx, double cy, double radius, double turn, int samples)
    {
        var covered = new List<(int, double)>();
        double cos = Math.Cos(turn), sin = Math.Sin(turn);
        int x0 = Math.Max(0, (int)Math.Floor(cx - radius - 1)), x1 = Math.Min(width - 1, (int)Math.Ceiling(cx + radius + 1));
        int y0 = Math.Max(0, (int)Math.Floor(cy - radius - 1)), y1 = Math.Min(height - 1, (int)Math.Ceiling(cy + radius + 1));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                int inside = 0;
                for (int sy = 0; sy < samples; sy++)
                    for (int sx = 0; sx < samples; sx++)
                    {
                        double dx = x + (sx + 0.5) / samples - cx, dy = y + (sy + 0.5) / samples - cy;
                        double u = (dx * cos + dy * sin) / radius, v = (-dx * sin + dy * cos) / radius;
                        if (Contains(shape, u, v)) inside++;
                    }
                if (inside > 0) covered.Add((y * width + x, inside / (double)(samples * samples)));
            }
        return covered;
    }

    /// <summary>Whether (u, v), in units of the radius around the centre (v down), is inside the shape.</summary>
    static bool Contains(Shape shape, double u, double v)
    {
        double r2 = u * u + v * v;
        return shape switch
        {
            Shape.Circle => r2 <= 1,
            Shape.Ring => r2 <= 1 && r2 >= 0.55 * 0.55,
            Shape.Square => Math.Abs(u) <= 0.72 && Math.Abs(v) <= 0.72,
            Shape.Cross => (Math.Abs(u) <= 0.28 && Math.Abs(v) <= 0.92) || (Math.Abs(v) <= 0.28 && Math.Abs(u) <= 0.92),
            Shape.Triangle => InPolygon(TriangleOutline, u, v),
            _ => InPolygon(StarOutline, u, v),
        };
    }

    /// <summary>Whether owning these pixels would leave some earlier object with less than (1 - MaxHiddenShare) of its own.</summary>
    bool HidesTooMuch(List<(int At, double Coverage)> coverage)
    {
        if (placed.Count == 0) return false;
        var hidden = new int[placed.Count];
        foreach (var (at, amount) in coverage)
            if (amount >= 0.5 && owner[at] >= 0) hidden[owner[at]]++;
        for (int k = 0; k < placed.Count; k++)
            if (visible[k] - hidden[k] < (1 - GeneratedScenes.MaxHiddenShare) * placed[k].Pixels) return true;
        return false;
    }

    void Paint(Shape shape, List<(int At, double Coverage)> coverage, Vector3 colour, double shadeAngle, double cx, double cy, double radius)
    {
        int index = placed.Count;
        int owned = 0;
        double shadeX = Math.Cos(shadeAngle), shadeY = Math.Sin(shadeAngle);
        foreach (var (at, amount) in coverage)
        {
            int x = at % width, y = at / width;
            // A gentle light from one side (up to +-15%) so shapes are not flat stickers.
            double shade = 1 + 0.15 * ((x + 0.5 - cx) * shadeX + (y + 0.5 - cy) * shadeY) / radius;
            red[at] += (float)(amount * (Math.Clamp(colour.R * shade, 0, 255) - red[at]));
            green[at] += (float)(amount * (Math.Clamp(colour.G * shade, 0, 255) - green[at]));
            blue[at] += (float)(amount * (Math.Clamp(colour.B * shade, 0, 255) - blue[at]));
            if (amount < 0.5) continue;
            if (owner[at] >= 0) visible[owner[at]]--;
            owner[at] = index;
            owned++;
        }
        // The pixel count it owned when placed is the base its hidden share is measured on.
        placed.Add((shape, owned));
        visible.Add(owned);
    }

    Rgb24[] Finish()
    {
        var pixels = new Rgb24[width * height];
        for (int at = 0; at < pixels.Length; at++)
        {
            int noise = random.Next(-SensorNoise, SensorNoise + 1);
            pixels[at] = new Rgb24(ToByte(red[at] + noise), ToByte(green[at] + noise), ToByte(blue[at] + noise));
        }
        return pixels;

        static byte ToByte(double value) => (byte)Math.Clamp(Math.Round(value), 0, 255);
    }

    /// <summary>Each object with the box of the pixels it still owns: what can be seen of it.</summary>
    List<VocObject> VisibleObjects()
    {
        int count = placed.Count;
        int[] left = Enumerable.Repeat(int.MaxValue, count).ToArray(), top = Enumerable.Repeat(int.MaxValue, count).ToArray();
        int[] right = new int[count], bottom = new int[count];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int k = owner[y * width + x];
                if (k < 0) continue;
                left[k] = Math.Min(left[k], x);
                top[k] = Math.Min(top[k], y);
                right[k] = Math.Max(right[k], x + 1);
                bottom[k] = Math.Max(bottom[k], y + 1);
            }
        return Enumerable.Range(0, count)
            .Select(k => new VocObject(GeneratedScenes.ClassNames[(int)placed[k].Shape], new PixelBox(left[k], top[k], right[k], bottom[k]), Difficult: false))
            .ToList();
    }

    static bool InPolygon((double X, double Y)[] outline, double u, double v)
    {
        bool inside = false;
        for (int i = 0, j = outline.Length - 1; i < outline.Length; j = i++)
        {
            var (xi, yi) = outline[i];
            var (xj, yj) = outline[j];
            if ((yi > v) != (yj > v) && u < (xj - xi) * (v - yi) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
    }

    /// <summary>A regular outline of <paramref name="corners"/> corners, alternating between the two radii, first corner up.</summary>
    static (double X, double Y)[] Polygon(int corners, double outer, double inner) =>
        Enumerable.Range(0, corners).Select(i =>
        {
            double angle = -Math.PI / 2 + 2 * Math.PI * i / corners;
            double r = i % 2 == 0 ? outer : inner;
            return (r * Math.Cos(angle), r * Math.Sin(angle));
        }).ToArray();

    readonly record struct Vector3(double R, double G, double B);

    /// <summary>Smooth random blotches: bilinear interpolation of a coarse grid of random values.</summary>
    sealed class ValueNoise
    {
        readonly double[,] grid;
        readonly int cells;

        public ValueNoise(Random random, int cells)
        {
            this.cells = cells;
            grid = new double[cells + 1, cells + 1];
            for (int i = 0; i <= cells; i++)
                for (int j = 0; j <= cells; j++)
                    grid[i, j] = random.NextDouble();
        }

        public double At(double x, double y)
        {
            double gx = x * cells, gy = y * cells;
            int i = Math.Min((int)gx, cells - 1), j = Math.Min((int)gy, cells - 1);
            double fx = Smooth(gx - i), fy = Smooth(gy - j);
            double top = grid[i, j] + (grid[i + 1, j] - grid[i, j]) * fx;
            double bottom = grid[i, j + 1] + (grid[i + 1, j + 1] - grid[i, j + 1]) * fx;
            return top + (bottom - top) * fy;
        }

        static double Smooth(double t) => t * t * (3 - 2 * t);
    }
}
