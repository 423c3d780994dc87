using System.Runtime.CompilerServices;

namespace Recipes.Xray;

/// <summary>
/// One phantom radiograph being painted, as layers of X-ray attenuation on a square grid over the canonical
/// frame: the body's soft tissue, the aerated lungs (which remove most of it), opacities that fill air spaces
/// (vessels, fluid, tissue), lucencies (free air), bone, and signed extras (trachea, a hernia's gas). Developing
/// adds them up, turns attenuation into film brightness with a saturating curve (so bone and fluid are bright,
/// air dark, and overlapping structures add as on a real film), applies the pose and adds grain. Every shape is
/// drawn from a signed distance with a smooth edge about a pixel wide, never as hard pixels. One film is reused
/// film after film by one thread (<see cref="Reset"/>): the layers are large.
/// </summary>
sealed class PhantomFilm
{
    public enum Blend { Max, Add, Multiply }

    public enum Commit
    {
        /// <summary>The scratch fills air spaces (0..1): seen only over aerated lung.</summary>
        Opacity,
        /// <summary>The scratch is free air replacing the lung (0..1): no markings, no opacities, darker.</summary>
        Lucency,
        /// <summary>The scratch is attenuation added to (or, negative, removed from) the film anywhere.</summary>
        Density,
        /// <summary>The scratch only marks where the finding is (it changed the anatomy): nothing is added.</summary>
        Outline,
    }

    static readonly (int X0, int Y0, int X1, int Y1) NothingPainted = (int.MaxValue, int.MaxValue, int.MinValue, int.MinValue);

    readonly float[] _body, _lungShape, _lungAir, _markings, _opacity, _lucency, _bone, _extra, _scratch, _density;
    // Signed distances (units) to the outline of the lung on each pixel's side of the midline, and to its apex and
    // lateral wall alone: computed once per film, read by the vessels and by every finding that follows the pleura.
    readonly float[] _lungDistance, _lateralDistance;
    (int X0, int Y0, int X1, int Y1) _scratchPainted = NothingPainted;
    HeartShape _heart;

    public PhantomFilm(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 32);
        Size = size;
        PixelsPerUnit = size / PhantomAnatomy.FrameUnits;
        int count = size * size;
        _body = new float[count]; _lungShape = new float[count]; _lungAir = new float[count]; _markings = new float[count];
        _opacity = new float[count]; _lucency = new float[count]; _bone = new float[count]; _extra = new float[count];
        _scratch = new float[count]; _density = new float[count];
        _lungDistance = new float[count]; _lateralDistance = new float[count];
        Anatomy = new PhantomAnatomy();
    }

    public int Size { get; }
    public double PixelsPerUnit { get; }
    public PhantomAnatomy Anatomy { get; private set; }

    /// <summary>One pixel in units: the width of every anti-aliased edge.</summary>
    public double Pixel => 1 / PixelsPerUnit;

    /// <summary>Lesion boxes in canonical units, in the order the findings were committed.</summary>
    public List<(string Finding, UnitBox Box)> Lesions { get; } = [];

    /// <summary>Starts a new film of <paramref name="anatomy"/>, whose fields must not change until it is developed.</summary>
    public void Reset(PhantomAnatomy anatomy)
    {
        Anatomy = anatomy;
        _heart = anatomy.HeartGeometry();
        foreach (var layer in new[] { _body, _lungShape, _lungAir, _markings, _opacity, _lucency, _bone, _extra, _scratch })
            Array.Clear(layer);
        _scratchPainted = NothingPainted;
        Lesions.Clear();
    }

    /// <summary>The centre of pixel <paramref name="index"/> in canonical units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    double Unit(int index) => (index + 0.5) / PixelsPerUnit;

    (int From, int To) PixelRange(double low, double high) =>
        (Math.Max(0, (int)Math.Floor(low * PixelsPerUnit)), Math.Min(Size, (int)Math.Ceiling(high * PixelsPerUnit)));

    // ---------------------------------------------------------------- what findings may ask

    /// <summary>Signed distance to the lung outline on the point's side of the midline (negative outside).</summary>
    public double LungDistanceAt(double x, double y) => Sample(_lungDistance, x, y);

    /// <summary>Signed distance to the apex and lateral wall of the lung on the point's side (the pleura along the ribs).</summary>
    public double LateralDistanceAt(double x, double y) => Sample(_lateralDistance, x, y);

    /// <summary>Signed distance to the heart's outline (positive inside).</summary>
    public double HeartDistanceAt(double x, double y) => _heart.Distance(x, y);

    public (double Left, double Top, double Right, double Bottom) HeartBounds => _heart.Bounds;

    /// <summary>How much aerated lung (0..1, the heart excluded) lies at a point: where an opacity can be seen.</summary>
    public double LungAt(double x, double y) => Sample(_lungShape, x, y);

    /// <summary>The scratch layer's value at a point, for findings that shape one drawing by another.</summary>
    public double ScratchAt(double x, double y) => Sample(_scratch, x, y);

    double Sample(float[] layer, double x, double y)
    {
        int px = Math.Clamp((int)(x * PixelsPerUnit), 0, Size - 1), py = Math.Clamp((int)(y * PixelsPerUnit), 0, Size - 1);
        return layer[py * Size + px];
    }

    // ---------------------------------------------------------------- painting primitives

    /// <summary>Evaluates <paramref name="value"/> at every pixel centre inside <paramref name="region"/> and blends it into the scratch layer.</summary>
    public void Paint(UnitBox region, Func<double, double, double> value, Blend blend = Blend.Max) =>
        Paint(_scratch, region, value, blend, trackScratch: true);

    void Paint(float[] layer, UnitBox region, Func<double, double, double> value, Blend blend, bool trackScratch = false)
    {
        var (x0, x1) = PixelRange(region.Left, region.Right);
        var (y0, y1) = PixelRange(region.Top, region.Bottom);
        if (x0 >= x1 || y0 >= y1) return;
        for (int py = y0; py < y1; py++)
        {
            double y = Unit(py);
            int row = py * Size;
            for (int px = x0; px < x1; px++)
            {
                float v = (float)value(Unit(px), y);
                ref float target = ref layer[row + px];
                target = blend switch
                {
                    Blend.Max => Math.Max(target, v),
                    Blend.Add => target + v,
                    _ => target * v,
                };
            }
        }
        if (trackScratch)
            _scratchPainted = (Math.Min(_scratchPainted.X0, x0), Math.Min(_scratchPainted.Y0, y0), Math.Max(_scratchPainted.X1, x1), Math.Max(_scratchPainted.Y1, y1));
    }

    /// <summary>A tube from (x0, y0) to (x1, y1) with a rounded cross-section, its half-width and value tapering
    /// linearly from the first end to the second (vessels, bronchi, septal lines), max-blended into the scratch layer.</summary>
    public void PaintSegment(double x0, double y0, double x1, double y1, double halfWidth0, double halfWidth1, double value0, double value1) =>
        PaintTube(_scratch, x0, y0, x1, y1, halfWidth0, halfWidth1, value0, value1, Blend.Max, trackScratch: true);

    void PaintTube(float[] layer, double x0, double y0, double x1, double y1, double halfWidth0, double halfWidth1, double value0, double value1,
        Blend blend, bool trackScratch = false)
    {
        double reach = Math.Max(halfWidth0, halfWidth1) + Pixel;
        var region = new UnitBox(Math.Min(x0, x1) - reach, Math.Min(y0, y1) - reach, Math.Max(x0, x1) + reach, Math.Max(y0, y1) + reach);
        double dx = x1 - x0, dy = y1 - y0, length2 = Math.Max(1e-9, dx * dx + dy * dy);
        double pixel = Pixel;
        Paint(layer, region, (x, y) =>
        {
            double t = Math.Clamp(((x - x0) * dx + (y - y0) * dy) / length2, 0, 1);
            double ex = x0 + t * dx - x, ey = y0 + t * dy - y;
            double distance = Math.Sqrt(ex * ex + ey * ey);
            // A tube seen from the side: thickest along its axis; the half-pixel pad keeps thin ones visible.
            double radius = halfWidth0 + t * (halfWidth1 - halfWidth0) + 0.5 * pixel;
            if (distance >= radius) return 0;
            double r = distance / radius;
            return (value0 + t * (value1 - value0)) * Math.Sqrt(1 - r * r);
        }, blend, trackScratch);
    }

    /// <summary>Multiplies the scratch layer by 1 - depth along a tube: dark branching air inside an opacity.</summary>
    public void CarveSegment(double x0, double y0, double x1, double y1, double halfWidth, double depth)
    {
        double reach = halfWidth + Pixel;
        var region = new UnitBox(Math.Min(x0, x1) - reach, Math.Min(y0, y1) - reach, Math.Max(x0, x1) + reach, Math.Max(y0, y1) + reach);
        double dx = x1 - x0, dy = y1 - y0, length2 = Math.Max(1e-9, dx * dx + dy * dy);
        double pixel = Pixel;
        Paint(_scratch, region, (x, y) =>
        {
            double t = Math.Clamp(((x - x0) * dx + (y - y0) * dy) / length2, 0, 1);
            double ex = x0 + t * dx - x, ey = y0 + t * dy - y;
            return 1 - depth * SmoothStep(halfWidth + pixel, halfWidth - pixel, Math.Sqrt(ex * ex + ey * ey));
        }, Blend.Multiply, trackScratch: true);
    }

    // ---------------------------------------------------------------- committing a finding

    /// <summary>
    /// Merges the scratch layer into the film and, with <paramref name="recordLesion"/>, records the finding's lesion
    /// box: around the pixels where the drawing reaches <paramref name="visibleFraction"/> of its strongest value and
    /// can be seen (over aerated lung, for opacities and lucencies). <paramref name="perLung"/> gives a bilateral
    /// finding one box per lung. Clears the scratch layer.
    /// </summary>
    public void CommitScratch(string finding, Commit how, double visibleFraction = 0.3, bool perLung = false, bool recordLesion = true)
    {
        var (x0, y0, x1, y1) = _scratchPainted;
        if (x0 >= x1) throw new InvalidOperationException($"{finding}: nothing was painted");
        float strongest = 0;
        for (int py = y0; py < y1; py++)
            for (int px = x0; px < x1; px++)
                strongest = Math.Max(strongest, Math.Abs(_scratch[py * Size + px]));
        float threshold = Math.Max(1e-3f, (float)(visibleFraction * strongest));
        int midline = (int)Math.Round(Anatomy.MidX * PixelsPerUnit);
        var boxes = new[] { NothingPainted, NothingPainted };
        for (int py = y0; py < y1; py++)
            for (int px = x0; px < x1; px++)
            {
                int i = py * Size + px;
                float value = _scratch[i];
                if (value == 0) continue;
                bool seen = how is Commit.Density or Commit.Outline || _lungShape[i] > 0.3f;
                if (seen && Math.Abs(value) >= threshold)
                {
                    int b = perLung && px >= midline ? 1 : 0;
                    boxes[b] = (Math.Min(boxes[b].X0, px), Math.Min(boxes[b].Y0, py), Math.Max(boxes[b].X1, px + 1), Math.Max(boxes[b].Y1, py + 1));
                }
                switch (how)
                {
                    case Commit.Opacity: _opacity[i] = 1 - (1 - _opacity[i]) * (1 - Math.Clamp(value, 0, 1)); break;
                    case Commit.Lucency: _lucency[i] = Math.Max(_lucency[i], Math.Clamp(value, 0, 1)); break;
                    case Commit.Density: _extra[i] += value; break;
                }
                _scratch[i] = 0;
            }
        _scratchPainted = NothingPainted;
        if (!recordLesion) return;
        foreach (var box in boxes)
            if (box.X0 < box.X1)
                Lesions.Add((finding, new UnitBox(box.X0 / PixelsPerUnit, box.Y0 / PixelsPerUnit, box.X1 / PixelsPerUnit, box.Y1 / PixelsPerUnit)));
    }

    // ---------------------------------------------------------------- the normal chest

    /// <summary>Paints the chest without findings: body, lungs, heart, mediastinum, bones, vessels.</summary>
    public void PaintAnatomy(Random random)
    {
        PaintBodyLungsAndHeart();
        PaintTracheaAndSpine();
        for (int side = 0; side < 2; side++)
        {
            for (int rib = 0; rib < 10; rib++) PaintPosteriorRib(side, rib);
            for (int rib = 0; rib < 6; rib++) PaintAnteriorRib(side, rib);
            PaintClavicle(side);
            PaintVessels(side, random);
        }
        PaintParenchyma(random);
    }

    void PaintBodyLungsAndHeart()
    {
        var a = Anatomy;
        double chest = a.HalfWidth * a.BodyWidthRatio;
        var heartBounds = _heart.Bounds;
        Array.Fill(_lungDistance, -100f);
        Array.Fill(_lateralDistance, -100f);
        // The dome under each column, and the factor turning a vertical distance to it into a perpendicular one.
        var domeY = new double[2][];
        var domeNormal = new double[2][];
        for (int side = 0; side < 2; side++)
        {
            domeY[side] = new double[Size];
            domeNormal[side] = new double[Size];
            for (int px = 0; px < Size; px++)
            {
                double h = a.Outward(side, Unit(px));
                domeY[side][px] = a.DomeY(side, h);
                double slope = a.DomeY(side, h + 0.5) - a.DomeY(side, h - 0.5);
                domeNormal[side][px] = 1 / Math.Sqrt(1 + slope * slope);
            }
        }
        int midline = Math.Clamp((int)Math.Round(a.MidX * PixelsPerUnit), 0, Size);
        for (int py = 0; py < Size; py++)
        {
            double y = Unit(py);
            // Shoulders and upper arms make the body wider at the top of the film.
            double halfWidth = chest * (1 + 0.14 * (1 - SmoothStep(a.ApexY - 20, a.ApexY + 70, y)));
            // Below the domes lie the liver and stomach: a little denser than the chest's soft tissue.
            double density = a.BodyDensity * (1 + 0.06 * SmoothStep(a.DomeTop[0] - 5, a.DomeTop[0] + 25, y));
            double skin = 2 * Pixel / halfWidth;
            int row = py * Size;
            for (int px = 0; px < Size; px++)
            {
                double across = (Unit(px) - a.MidX) / halfWidth;
                double depth = 1 - across * across;
                // An elliptical cross-section, its outermost pixel anti-aliased.
                _body[row + px] = depth <= 0 ? 0 : (float)(density * Math.Sqrt(depth) * SmoothStep(0, skin, depth));
            }
            for (int side = 0; side < 2; side++)
            {
                if (y < a.ApexY - 3 || y > a.LowestY(side) + 3) continue;
                double medialEdge = a.MediastinalEdge(side, y);
                // Only the columns from just inside the mediastinum to just outside the lateral wall.
                double lateralEdge = a.LateralEdge(side, Math.Max(y, a.ApexY));
                var (from, to) = PixelRange(Math.Min(a.X(side, medialEdge - 3), a.X(side, lateralEdge + 3)), Math.Max(a.X(side, medialEdge - 3), a.X(side, lateralEdge + 3)));
                from = side == 0 ? from : Math.Max(from, midline);
                to = side == 0 ? Math.Min(to, midline) : to;
                for (int px = from; px < to; px++)
                {
                    double x = Unit(px);
                    double h = a.Outward(side, x);
                    double lateral = a.LateralDistance(side, x, y);
                    double distance = Math.Min(lateral, Math.Min(h - medialEdge, (domeY[side][px] - y) * domeNormal[side][px]));
                    int i = row + px;
                    _lungDistance[i] = (float)distance;
                    _lateralDistance[i] = (float)lateral;
                    if (distance <= -Pixel) continue;
                    double shape = SmoothStep(-Pixel, Pixel + 1.5, distance);
                    // Lungs are thinner near their edges: less air, so the periphery is a little less dark.
                    double thickness = 0.7 + 0.3 * SmoothStep(0, 28, distance);
                    // The heart is round: near its border, lung still lies in front of and behind it.
                    double heart = 0;
                    if (x >= heartBounds.Left - 2 && x <= heartBounds.Right + 2 && y >= heartBounds.Top - 2 && y <= heartBounds.Bottom + 2)
                    {
                        double inside = _heart.Distance(x, y);
                        heart = SmoothStep(-Pixel, Pixel + 0.8, inside) * (0.6 + 0.4 * SmoothStep(0, 14, inside));
                    }
                    _lungShape[i] = (float)(shape * (1 - heart));
                    _lungAir[i] = (float)(shape * thickness * (1 - heart));
                }
            }
        }
    }

    void PaintTracheaAndSpine()
    {
        var a = Anatomy;
        double carinaY = a.ApexY + 50;
        // The spine: vertebral bodies with brighter end plates and darker discs, pedicles on either side.
        double vertebra = a.RibSpacing * 0.95;
        Paint(_bone, new UnitBox(a.MidX - 14, 0, a.MidX + 14, PhantomAnatomy.FrameUnits), (x, y) =>
        {
            double across = Math.Abs(x - a.MidX);
            double body = SmoothStep(10.5, 8, across);
            double phase = (y - a.ApexY) / vertebra;
            double disc = Math.Abs(phase - Math.Round(phase)) * 2;    // 0 at a disc, 1 mid-body
            double endPlates = 0.7 + 0.3 * SmoothStep(0.05, 0.3, disc);
            double pedicle = (across - 6.5) / 2;
            double pedicleRing = Math.Abs(disc - 0.6) < 0.3 ? 0.06 * Math.Exp(-pedicle * pedicle) : 0;
            return 0.14 * body * endPlates + pedicleRing;
        }, Blend.Add);
        // The trachea: a dark air column down the midline to the carina, then the two main bronchi.
        Paint(_extra, new UnitBox(a.MidX - 9, 0, a.MidX + 9, carinaY + 2), (x, y) =>
            -0.26 * SmoothStep(7, 4, Math.Abs(x - a.MidX)) * SmoothStep(carinaY + 1, carinaY - 3, y) * SmoothStep(a.ApexY - 35, a.ApexY - 5, y), Blend.Add);
        for (int side = 0; side < 2; side++)
        {
            double angle = side == 0 ? 0.55 : 0.75;
            double endX = a.X(side, Math.Sin(angle) * 24), endY = carinaY + Math.Cos(angle) * 24;
            PaintTube(_extra, a.MidX, carinaY - 2, endX, endY, 3.2, 2.2, -0.2, -0.1, Blend.Add);
        }
    }

    /// <summary>
    /// A bone drawn column by column along a curve y(h) of the outward distance h, with bright cortical edges:
    /// cheap because every column touches only the rows near the curve. <paramref name="fade"/> scales it along h.
    /// </summary>
    void PaintBoneCurve(int side, double fromH, double toH, Func<double, double> curve, Func<double, double> halfThickness, Func<double, double> fade, double strength)
    {
        var a = Anatomy;
        var (x0, x1) = PixelRange(Math.Min(a.X(side, fromH), a.X(side, toH)), Math.Max(a.X(side, fromH), a.X(side, toH)));
        for (int px = x0; px < x1; px++)
        {
            double h = a.Outward(side, Unit(px));
            double weight = fade(h);
            if (weight <= 0) continue;
            double centre = curve(h);
            double slope = curve(h + 0.5) - curve(h - 0.5);
            double half = halfThickness(h) * Math.Sqrt(1 + slope * slope);
            var (y0, y1) = PixelRange(centre - half - 1.5, centre + half + 1.5);
            for (int py = y0; py < y1; py++)
            {
                double r = Math.Abs(Unit(py) - centre) / half;
                double inside = SmoothStep(1 + Pixel / half, 1 - Pixel / half, r);
                // The cortex is denser than the marrow: a bone's edges look brighter than its middle.
                _bone[py * Size + px] += (float)(strength * weight * inside * (0.55 + 0.45 * r * r));
            }
        }
    }

    /// <summary>A posterior rib: from the spine out and a little up, then arching down along the lateral wall.</summary>
    void PaintPosteriorRib(int side, int rib)
    {
        var a = Anatomy;
        double startY = a.ApexY - 2 + rib * a.RibSpacing;
        // Up and out from the spine to mid-lung, then down along the wall; the upper ribs curve more.
        double arch = (1.3 - 0.06 * rib) * a.HalfWidth / 95;
        double Curve(double h)
        {
            double t = h / a.HalfWidth;
            return startY + arch * t * (-22.5 - 17.5 * t + 46 * t * t);
        }
        double Fade(double h)
        {
            double y = Curve(h);
            if (y < a.ApexY - 12) return 0;
            double cage = a.LateralEdge(side, Math.Max(y, a.ApexY)) + 5;
            return SmoothStep(cage + 3, cage - 3, h) * SmoothStep(0.06 * a.HalfWidth, 0.1 * a.HalfWidth, h);
        }
        PaintBoneCurve(side, 0.05 * a.HalfWidth, 1.12 * a.HalfWidth, Curve, h => 2.9 - 0.7 * h / a.HalfWidth, Fade, 0.17);
    }

    /// <summary>An anterior rib: fainter, from the lateral wall obliquely down towards the sternum, ending where the
    /// (invisible) cartilage begins.</summary>
    void PaintAnteriorRib(int side, int rib)
    {
        var a = Anatomy;
        double lateralY = a.ApexY + 10 + rib * a.RibSpacing * 1.05;
        double Curve(double h) => lateralY + 0.42 * a.HalfWidth * Math.Pow(Math.Max(0, 0.98 - h / a.HalfWidth), 1.15);
        double Fade(double h)
        {
            double cage = a.LateralEdge(side, Math.Max(Curve(h), a.ApexY)) + 4;
            return SmoothStep(cage + 3, cage - 3, h) * SmoothStep(0.3 * a.HalfWidth, 0.45 * a.HalfWidth, h);
        }
        PaintBoneCurve(side, 0.25 * a.HalfWidth, 1.05 * a.HalfWidth, Curve, _ => 3.2, Fade, 0.12);
    }

    void PaintClavicle(int side)
    {
        var a = Anatomy;
        double Curve(double h)
        {
            double t = h / a.HalfWidth;
            return a.ApexY + 16 - 20 * (t - 0.1) + 4 * Math.Sin(2 * Math.PI * (t - 0.1));
        }
        double Fade(double h) => SmoothStep(0.08 * a.HalfWidth, 0.14 * a.HalfWidth, h) * SmoothStep(1.18 * a.HalfWidth, 1.08 * a.HalfWidth, h);
        PaintBoneCurve(side, 0.06 * a.HalfWidth, 1.2 * a.HalfWidth, Curve, h => 5.6 - 1.8 * h / a.HalfWidth, Fade, 0.3);
    }

    /// <summary>
    /// Pulmonary vessels: trees branching from the hilum, tapering towards the periphery and fading out before the
    /// pleura. They fill air, so they vanish in a pneumothorax and behind the heart.
    /// </summary>
    void PaintVessels(int side, Random random)
    {
        var a = Anatomy;
        var (hx, hy) = a.Hilum(side);
        // The hilum itself: the pulmonary artery and veins, bunched.
        Paint(_markings, new UnitBox(hx - 16, hy - 22, hx + 16, hy + 22), (x, y) =>
        {
            double dx = (x - hx) / 7, dy = (y - hy) / 13;
            return 0.42 * Math.Exp(-(dx * dx + dy * dy));
        }, Blend.Max);
        const int Trunks = 6;
        for (int b = 0; b < Trunks; b++)
        {
            // Fan out from up-and-out to down-and-out (angles from the outward horizontal); more go down, as in life.
            double angle = -1.2 + 2.6 * (b + 0.5) / Trunks + (random.NextDouble() - 0.5) * 0.3;
            GrowVessel(side, hx, hy, angle, 1.6, 0.32, 0, random);
        }
    }

    void GrowVessel(int side, double x, double y, double angle, double halfWidth, double value, int depth, Random random)
    {
        var a = Anatomy;
        for (int step = 0; step < 7 && halfWidth > 0.4; step++)
        {
            double length = 6 + 5 * random.NextDouble();
            angle += (random.NextDouble() - 0.5) * 0.6;
            double nx = a.X(side, a.Outward(side, x) + Math.Cos(angle) * length), ny = y + Math.Sin(angle) * length;
            // Markings thin out in the outer third and stop short of the pleura.
            if (LungDistanceAt(nx, ny) < 14 / a.VesselReach || _heart.Distance(nx, ny) > 0) break;
            double nextHalfWidth = halfWidth * 0.82, nextValue = value * 0.84;
            PaintTube(_markings, x, y, nx, ny, halfWidth, nextHalfWidth, value, nextValue, Blend.Max);
            if (depth < 3 && random.NextDouble() < 0.45)
                GrowVessel(side, nx, ny, angle + (random.NextDouble() < 0.5 ? -1 : 1) * (0.4 + 0.3 * random.NextDouble()), nextHalfWidth * 0.85, nextValue * 0.9, depth + 1, random);
            x = nx; y = ny; halfWidth = nextHalfWidth; value = nextValue;
        }
    }

    /// <summary>A faint mottle of the lung tissue itself, so that lungs are not flat.</summary>
    void PaintParenchyma(Random random)
    {
        var noise = new ValueNoise(random, cell: 5);
        for (int py = 0; py < Size; py++)
            for (int px = 0; px < Size; px++)
            {
                int i = py * Size + px;
                if (_lungShape[i] <= 0) continue;
                _markings[i] = 1 - (1 - _markings[i]) * (1 - (float)(0.08 * noise.At(Unit(px), Unit(py))));
            }
    }

    // ---------------------------------------------------------------- developing

    const int ToneSteps = 256;   // tone-curve entries per unit of attenuation

    /// <summary>
    /// Adds the layers into attenuation, blurs it a little, applies the pose, turns attenuation into brightness
    /// with the film's tone curve, adds grain and returns 8-bit grey pixels, row by row.
    /// </summary>
    public byte[] Develop(PhantomPose pose, PhantomExposure exposure, ulong grainSeed)
    {
        float airFraction = (float)Anatomy.AirFraction;
        for (int i = 0; i < _density.Length; i++)
        {
            float lucency = _lucency[i];
            float fill = 1 - (1 - _markings[i] * (1 - lucency)) * (1 - _opacity[i]);
            float air = _lungAir[i] * airFraction * (1 - fill);
            // Free air: nearly everything between source and film is gone, and nothing lies in it.
            air += (0.97f * _lungShape[i] - air) * lucency;
            _density[i] = Math.Max(0, _body[i] * (1 - air) + _bone[i] + _extra[i]);
        }
        SoftenDensity();
        float[] tone = ToneCurve(exposure);
        float toneLimit = tone.Length - 2;
        byte[] pixels = new byte[Size * Size];
        var grain = new SplitMix(grainSeed);
        float grainScale = (float)exposure.Grain;
        // The inverse pose is affine: the source position moves by a fixed step per output pixel in x and in y.
        var (originX, originY) = pose.Inverse(Unit(0), Unit(0));
        var (rightX, rightY) = pose.Inverse(Unit(1), Unit(0));
        var (downX, downY) = pose.Inverse(Unit(0), Unit(1));
        double stepXx = (rightX - originX) * PixelsPerUnit, stepXy = (rightY - originY) * PixelsPerUnit;
        double stepYx = (downX - originX) * PixelsPerUnit, stepYy = (downY - originY) * PixelsPerUnit;
        double sourceX = originX * PixelsPerUnit - 0.5, sourceY = originY * PixelsPerUnit - 0.5;
        float last = Size - 1.001f;
        for (int py = 0; py < Size; py++)
        {
            // The heel effect: one end of the film a little more exposed than the other.
            float heel = (float)(1 + exposure.Heel * (py / (double)Size - 0.5)) * ToneSteps;
            double rowX = sourceX + py * stepYx, rowY = sourceY + py * stepYy;
            for (int px = 0; px < Size; px++)
            {
                // Bilinear sampling of the attenuation at the pixel's place before the pose.
                float x = Math.Clamp((float)(rowX + px * stepXx), 0, last), y = Math.Clamp((float)(rowY + px * stepXy), 0, last);
                int x0 = (int)x, y0 = (int)y, i = y0 * Size + x0;
                float fx = x - x0, fy = y - y0;
                float top = _density[i] + fx * (_density[i + 1] - _density[i]);
                float bottom = _density[i + Size] + fx * (_density[i + Size + 1] - _density[i + Size]);
                float index = Math.Min((top + fy * (bottom - top)) * heel, toneLimit);
                int step = (int)index;
                float value = tone[step] + (index - step) * (tone[step + 1] - tone[step]) + grainScale * grain.NextGaussianish();
                pixels[py * Size + px] = value <= 0 ? (byte)0 : value >= 255 ? (byte)255 : (byte)(value + 0.5f);
            }
        }
        return pixels;
    }

    /// <summary>Brightness for attenuation 0..8: 255 (1 - e^(-gain (D + background)))^gamma, a film's saturating response.</summary>
    static float[] ToneCurve(PhantomExposure exposure)
    {
        var tone = new float[8 * ToneSteps + 2];
        for (int i = 0; i < tone.Length; i++)
        {
            double brightness = 1 - Math.Exp(-exposure.Gain * (i / (double)ToneSteps + exposure.Background));
            tone[i] = (float)(255 * Math.Pow(brightness, exposure.Gamma));
        }
        return tone;
    }

    /// <summary>A light [1 2 1] blur of the attenuation: focal spot and screen blur every edge a little.</summary>
    void SoftenDensity()
    {
        float[] buffer = _scratch;   // empty once the findings are committed; cleared again below
        for (int py = 0; py < Size; py++)
        {
            int row = py * Size;
            for (int px = 0; px < Size; px++)
            {
                float left = _density[row + Math.Max(px - 1, 0)], right = _density[row + Math.Min(px + 1, Size - 1)];
                buffer[row + px] = 0.25f * left + 0.5f * _density[row + px] + 0.25f * right;
            }
        }
        for (int py = 0; py < Size; py++)
        {
            int up = Math.Max(py - 1, 0) * Size, here = py * Size, down = Math.Min(py + 1, Size - 1) * Size;
            for (int px = 0; px < Size; px++)
                _density[here + px] = 0.25f * buffer[up + px] + 0.5f * buffer[here + px] + 0.25f * buffer[down + px];
        }
        Array.Clear(buffer);
    }

    /// <summary>0 at <paramref name="edge0"/>, 1 at <paramref name="edge1"/>, a smooth Hermite ramp between (either order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SmoothStep(double edge0, double edge1, double x)
    {
        double t = Math.Clamp((x - edge0) / (edge1 - edge0), 0, 1);
        return t * t * (3 - 2 * t);
    }
}
