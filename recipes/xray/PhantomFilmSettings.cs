namespace Recipes.Xray;

/// <summary>A rectangle in canonical units.</summary>
readonly record struct UnitBox(double Left, double Top, double Right, double Bottom)
{
    public static UnitBox Around(double x, double y, double radius) => new(x - radius, y - radius, x + radius, y + radius);
}

/// <summary>
/// How one film was taken: the patient stood a little turned, shifted, nearer or further from the detector.
/// Maps canonical units (the anatomy's frame) to units of the written image, about the frame's centre.
/// </summary>
readonly record struct PhantomPose(double Angle, double Zoom, double ShiftX, double ShiftY)
{
    const double Centre = PhantomAnatomy.FrameUnits / 2;

    public static PhantomPose Identity { get; } = new(0, 1, 0, 0);

    public static PhantomPose Create(Random random) => new(
        Angle: (random.NextDouble() * 2 - 1) * 3 * Math.PI / 180,
        Zoom: 0.97 + 0.06 * random.NextDouble(),
        ShiftX: (random.NextDouble() * 2 - 1) * 3,
        ShiftY: (random.NextDouble() * 2 - 1) * 3);

    public (double X, double Y) Forward(double x, double y)
    {
        double cos = Math.Cos(Angle), sin = Math.Sin(Angle);
        double dx = x - Centre, dy = y - Centre;
        return (Centre + ShiftX + Zoom * (cos * dx - sin * dy), Centre + ShiftY + Zoom * (sin * dx + cos * dy));
    }

    public (double X, double Y) Inverse(double x, double y)
    {
        double cos = Math.Cos(Angle), sin = Math.Sin(Angle);
        double dx = (x - Centre - ShiftX) / Zoom, dy = (y - Centre - ShiftY) / Zoom;
        return (Centre + cos * dx + sin * dy, Centre - sin * dx + cos * dy);
    }

    /// <summary>The axis-aligned box around a canonical box after the pose.</summary>
    public UnitBox Forward(UnitBox box)
    {
        (double X, double Y)[] corners = [Forward(box.Left, box.Top), Forward(box.Right, box.Top), Forward(box.Left, box.Bottom), Forward(box.Right, box.Bottom)];
        return new UnitBox(corners.Min(c => c.X), corners.Min(c => c.Y), corners.Max(c => c.X), corners.Max(c => c.Y));
    }
}

/// <summary>How a film was exposed and developed: darkness, contrast curve, background fog, grain, heel effect.</summary>
readonly record struct PhantomExposure(double Gain, double Gamma, double Background, double Grain, double Heel)
{
    public static PhantomExposure Create(Random random) => new(
        Gain: 0.9 + 0.25 * random.NextDouble(),
        Gamma: 1.1 + 0.35 * random.NextDouble(),
        Background: 0.02 + 0.1 * random.NextDouble(),
        Grain: 1.0 + 2.0 * random.NextDouble(),
        Heel: (random.NextDouble() * 2 - 1) * 0.05);
}

/// <summary>Smooth random texture in [0, 1]: random values on a grid of square cells, smoothly interpolated.</summary>
sealed class ValueNoise
{
    const int Cells = 64;   // a power of two
    readonly float[] _grid = new float[Cells * Cells];
    readonly double _cell;

    public ValueNoise(Random random, double cell)
    {
        _cell = cell;
        for (int i = 0; i < _grid.Length; i++) _grid[i] = (float)random.NextDouble();
    }

    public double At(double x, double y)
    {
        x /= _cell; y /= _cell;
        double fx = Math.Floor(x), fy = Math.Floor(y);
        // Cells is a power of two: masking wraps negative coordinates too.
        int ix = (int)fx & (Cells - 1), iy = (int)fy & (Cells - 1);
        int jx = (ix + 1) & (Cells - 1), jy = (iy + 1) & (Cells - 1);
        double tx = x - fx, ty = y - fy;
        tx = tx * tx * (3 - 2 * tx);
        ty = ty * ty * (3 - 2 * ty);
        double top = _grid[iy * Cells + ix] + tx * (_grid[iy * Cells + jx] - _grid[iy * Cells + ix]);
        double bottom = _grid[jy * Cells + ix] + tx * (_grid[jy * Cells + jx] - _grid[jy * Cells + ix]);
        return top + ty * (bottom - top);
    }
}

/// <summary>A small, fast generator for per-pixel grain and hashing (System.Random per pixel would dominate the time).</summary>
struct SplitMix(ulong seed)
{
    ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform draw from [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) / (double)(1UL << 53);

    /// <summary>Zero mean, unit spread, bell-shaped: the sum of three uniforms, rescaled.</summary>
    public float NextGaussianish()
    {
        ulong bits = Next();
        float sum = (bits & 0x1FFFFF) + ((bits >> 21) & 0x1FFFFF) + ((bits >> 42) & 0x1FFFFF);
        return (sum * (1f / 0x1FFFFF) - 1.5f) * 2;
    }

    /// <summary>Mixes values into one non-negative seed (for per-patient, per-film and per-finding generators).</summary>
    public static int Mix(long a, long b, long c = 0)
    {
        ulong state = new SplitMix((ulong)a ^ 0x5EEDUL).Next();
        state = new SplitMix(state ^ (ulong)b).Next();
        state = new SplitMix(state ^ (ulong)c).Next();
        return (int)(state & 0x7FFFFFFF);
    }
}
