namespace Recipes.Xray;

/// <summary>
/// The geometry of one phantom chest on a posteroanterior film, in "units" of a 256-unit-wide canonical frame
/// (the image before the per-film pose): where the lungs, domes, heart, hila and ribs are. Side 0 is the image's
/// left (the patient's right lung, as on a PA film), side 1 the image's right. Distances returned by the shape
/// functions are signed and approximately Euclidean (positive inside), so soft edges can be drawn from them.
/// Findings change a few fields before the film is painted (a bigger heart, lower and flatter domes, a raised
/// dome after a collapse): the anatomy without a finding is the same chest with those fields untouched.
/// </summary>
sealed class PhantomAnatomy
{
    public const double FrameUnits = 256;

    /// <summary>The midline of the chest (spine, trachea).</summary>
    public double MidX { get; set; }
    /// <summary>The lateral reach of a lung from the midline, divided by 0.98 (the rib cage's inner half-width).</summary>
    public double HalfWidth { get; set; }
    /// <summary>The top of both lung apices.</summary>
    public double ApexY { get; set; }
    /// <summary>The top of each diaphragm dome; the right dome (side 0) usually sits a little higher.</summary>
    public double[] DomeTop { get; } = new double[2];
    /// <summary>How far below its dome's top the lateral costophrenic angle lies, before <see cref="DomeFlatness"/>.</summary>
    public double CostophrenicDepth { get; set; }
    /// <summary>1 for a normal dome; smaller is flatter (emphysema).</summary>
    public double DomeFlatness { get; set; } = 1;
    /// <summary>Widest heart shadow over the inner thoracic width (normal below 0.5).</summary>
    public double CardiothoracicRatio { get; set; }
    /// <summary>Minor over major axis of the heart ellipse.</summary>
    public double HeartAspect { get; set; }
    /// <summary>Tilt of the heart's long axis, radians, its apex pointing down to the image's right.</summary>
    public double HeartTilt { get; set; }
    /// <summary>Sideways shift of heart and mediastinum (volume loss pulls them towards the collapsed side).</summary>
    public double MediastinalShift { get; set; }
    /// <summary>Fraction of the body's attenuation a fully aerated lung removes (more in emphysema).</summary>
    public double AirFraction { get; set; } = 0.9;
    /// <summary>Attenuation through the full depth of the body at the midline.</summary>
    public double BodyDensity { get; set; }
    /// <summary>Half-width of the body outline over <see cref="HalfWidth"/>.</summary>
    public double BodyWidthRatio { get; set; }
    /// <summary>Vertical distance between neighbouring posterior ribs.</summary>
    public double RibSpacing { get; set; }
    /// <summary>How far towards the pleura the vessel markings reach (1 = normal; less when pruned, as in emphysema).</summary>
    public double VesselReach { get; set; } = 1;

    /// <summary>A normal adult chest with the patient's own proportions.</summary>
    public static PhantomAnatomy Create(Random random)
    {
        var anatomy = new PhantomAnatomy
        {
            MidX = FrameUnits / 2 + Uniform(random, -2, 2),
            HalfWidth = Uniform(random, 86, 97),
            ApexY = Uniform(random, 34, 46),
            CostophrenicDepth = Uniform(random, 20, 27),
            CardiothoracicRatio = Uniform(random, 0.39, 0.47),
            HeartAspect = Uniform(random, 0.82, 0.92),
            HeartTilt = Uniform(random, 0.45, 0.65),
            BodyDensity = Uniform(random, 1.35, 1.6),
            BodyWidthRatio = Uniform(random, 1.15, 1.3),
        };
        anatomy.DomeTop[0] = Uniform(random, 176, 188);
        anatomy.DomeTop[1] = anatomy.DomeTop[0] + Uniform(random, 3, 9);
        anatomy.RibSpacing = (anatomy.DomeTop[0] + 12 - anatomy.ApexY) / 8.6;
        return anatomy;
    }

    public static int Sign(int side) => side == 0 ? -1 : 1;

    /// <summary>Distance outwards from the midline on a side (negative across it).</summary>
    public double Outward(int side, double x) => Sign(side) * (x - MidX);

    public double X(int side, double outward) => MidX + Sign(side) * outward;

    public double LungHeight(int side) => DomeTop[side] - ApexY;

    double LobeCentre => 0.52 * HalfWidth;
    double LobeHalfSpan => 0.46 * HalfWidth;
    double WidestY(int side) => ApexY + 0.55 * LungHeight(side);

    /// <summary>The lowest point of a lung: its lateral costophrenic angle.</summary>
    public double LowestY(int side) => DomeY(side, 0.98 * HalfWidth);

    /// <summary>The lateral lung border at height <paramref name="y"/> (below the apex), outwards from the midline.</summary>
    public double LateralEdge(int side, double y)
    {
        double widest = WidestY(side);
        if (y >= widest) return LobeCentre + LobeHalfSpan * (1 + 0.04 * Math.Min(1, (y - widest) / (DomeTop[side] - widest)));
        double dy = (y - widest) / (widest - ApexY);
        return LobeCentre + LobeHalfSpan * Math.Sqrt(Math.Max(0, 1 - dy * dy));
    }

    /// <summary>The mediastinal border of a lung above the heart: the aortic knob bulges on the left (side 1).</summary>
    public double MediastinalEdge(int side, double y)
    {
        double edge = 0.16 * HalfWidth + Sign(side) * MediastinalShift;
        if (side == 1)
        {
            double knob = (y - (ApexY + 40)) / 11;
            edge += 0.08 * HalfWidth * Math.Exp(-knob * knob);
        }
        // Above the heart the mediastinum widens into it (vena cava on the right, pulmonary trunk on the left), so
        // that the heart's silhouette continues the mediastinum's instead of sitting under it like a ball.
        var (left, top, right, _) = HeartGeometry().Bounds;
        double pedicle = side == 1 ? 0.55 * (right - MidX) : 0.75 * (MidX - left);
        return Math.Max(edge, edge + (pedicle - edge) * PhantomFilm.SmoothStep(top - 30, top + 10, y));
    }

    /// <summary>The diaphragm under a lung at <paramref name="outward"/> from the midline: a dome highest a little
    /// medial of the lung's middle, falling to the sharp costophrenic angle at the lateral wall.</summary>
    public double DomeY(int side, double outward)
    {
        double t = (outward - 0.42 * HalfWidth) / (0.56 * HalfWidth);
        return DomeTop[side] + DomeFlatness * CostophrenicDepth * t * t;
    }

    /// <summary>Signed distance to the lung outline from its apex and lateral wall alone (no mediastinum, no dome).</summary>
    public double LateralDistance(int side, double x, double y)
    {
        double h = Outward(side, x);
        double widest = WidestY(side);
        if (y >= widest)
            return LateralEdge(side, y) - h;
        // The apex is the upper half of an ellipse; divide by the gradient for a distance, not a level value.
        double rx = LobeHalfSpan, ry = widest - ApexY;
        double nx = (h - LobeCentre) / rx, ny = (y - widest) / ry;
        double e = Math.Sqrt(nx * nx + ny * ny);
        if (e < 1e-6) return Math.Min(rx, ry);
        double gradient = Math.Sqrt(nx * nx / (rx * rx) + ny * ny / (ry * ry)) / e;
        return (1 - e) / gradient;
    }

    /// <summary>Signed distance to a lung's outline (apex, lateral wall, mediastinum, dome), ignoring the heart.</summary>
    public double LungDistance(int side, double x, double y)
    {
        double h = Outward(side, x);
        double lateral = LateralDistance(side, x, y);
        double medial = h - MediastinalEdge(side, y);
        double slope = DomeSlope(side, h);
        double dome = (DomeY(side, h) - y) / Math.Sqrt(1 + slope * slope);
        return Math.Min(lateral, Math.Min(medial, dome));
    }

    double DomeSlope(int side, double outward)
    {
        double t = (outward - 0.42 * HalfWidth) / (0.56 * HalfWidth);
        return 2 * DomeFlatness * CostophrenicDepth * t / (0.56 * HalfWidth);
    }

    /// <summary>The lung's bounding box (left, top, right, bottom) in units.</summary>
    public (double Left, double Top, double Right, double Bottom) LungBounds(int side)
    {
        double lateral = X(side, 0.98 * HalfWidth + 1), medial = X(side, 0.05 * HalfWidth);
        return (Math.Min(lateral, medial), ApexY - 1, Math.Max(lateral, medial), LowestY(side) + 1);
    }

    // The heart: a tilted ellipse (the ventricles, apex down to the image's right) and a smaller one for the right
    // atrium bulging to the image's left; together CardiothoracicRatio of the inner thorax wide, about a third of it
    // right of the midline, resting on the domes.
    public double HeartWidth => CardiothoracicRatio * 2 * 0.98 * HalfWidth;

    /// <summary>The heart's outline for the current fields (compute once per film: it is used per pixel).</summary>
    public HeartShape HeartGeometry()
    {
        double width = HeartWidth;
        double cos = Math.Cos(HeartTilt), sin = Math.Sin(HeartTilt);
        // The ventricles span 0.82 of the width, from 0.14 right of the midline; the atrium adds the rest.
        double halfWidth = 0.41 * width;
        double major = halfWidth / Math.Sqrt(cos * cos + HeartAspect * HeartAspect * sin * sin);
        double minor = major * HeartAspect;
        double halfHeight = Math.Sqrt(major * major * sin * sin + minor * minor * cos * cos);
        double left = MidX + MediastinalShift - 0.32 * width;
        double bottom = (DomeTop[0] + DomeTop[1]) / 2 + 8;
        var ventricles = new Ellipse(left + 0.18 * width + halfWidth, bottom - halfHeight, major, minor, cos, sin);
        double atriumRadius = 0.19 * width;
        var atrium = new Ellipse(left + atriumRadius, bottom - 0.9 * atriumRadius - 0.08 * width, atriumRadius, atriumRadius * 1.25, 1, 0);
        return new HeartShape(ventricles, atrium);
    }

    /// <summary>Signed distance to the heart's outline (positive inside); slow, for occasional questions.</summary>
    public double HeartDistance(double x, double y) => HeartGeometry().Distance(x, y);

    /// <summary>The heart's bounding box.</summary>
    public (double Left, double Top, double Right, double Bottom) HeartBounds => HeartGeometry().Bounds;

    /// <summary>Where the pulmonary vessels enter a lung.</summary>
    public (double X, double Y) Hilum(int side) => (X(side, 0.25 * HalfWidth) + MediastinalShift * 0.5, ApexY + 0.46 * LungHeight(side));

    /// <summary>A point of a lung by fractions: <paramref name="down"/> from apex (0) to dome (1),
    /// <paramref name="across"/> from the mediastinal (0) to the lateral (1) border at that height.</summary>
    public (double X, double Y) LungPoint(int side, double down, double across)
    {
        double y = ApexY + down * LungHeight(side);
        double medial = Math.Max(MediastinalEdge(side, y), 0.06 * HalfWidth);
        double h = medial + across * (LateralEdge(side, y) - medial);
        return (X(side, h), y);
    }

    static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();
}

/// <summary>An ellipse with centre, semi-axes and the cosine and sine of its tilt.</summary>
readonly record struct Ellipse(double X, double Y, double Major, double Minor, double Cos, double Sin)
{
    /// <summary>Signed distance (positive inside), from the level value divided by its gradient.</summary>
    public double Distance(double x, double y)
    {
        double u = (x - X) * Cos + (y - Y) * Sin, v = -(x - X) * Sin + (y - Y) * Cos;
        double nu = u / Major, nv = v / Minor;
        double e = Math.Sqrt(nu * nu + nv * nv);
        if (e < 1e-6) return Minor;
        double gradient = Math.Sqrt(nu * nu / (Major * Major) + nv * nv / (Minor * Minor)) / e;
        return (1 - e) / gradient;
    }

    public (double Left, double Top, double Right, double Bottom) Bounds
    {
        get
        {
            double halfWidth = Math.Sqrt(Major * Major * Cos * Cos + Minor * Minor * Sin * Sin);
            double halfHeight = Math.Sqrt(Major * Major * Sin * Sin + Minor * Minor * Cos * Cos);
            return (X - halfWidth, Y - halfHeight, X + halfWidth, Y + halfHeight);
        }
    }
}

/// <summary>The heart shadow: the union of the ventricles and the right atrium.</summary>
readonly record struct HeartShape(Ellipse Ventricles, Ellipse Atrium)
{
    public double Distance(double x, double y) => Math.Max(Ventricles.Distance(x, y), Atrium.Distance(x, y));

    public (double Left, double Top, double Right, double Bottom) Bounds
    {
        get
        {
            var a = Ventricles.Bounds;
            var b = Atrium.Bounds;
            return (Math.Min(a.Left, b.Left), Math.Min(a.Top, b.Top), Math.Max(a.Right, b.Right), Math.Max(a.Bottom, b.Bottom));
        }
    }
}
