using static Recipes.Xray.PhantomFilm;

namespace Recipes.Xray;

/// <summary>
/// One finding drawn on one phantom film, the way it looks on a chest radiograph. Each has its own seeded
/// generator, so a film drawn without one finding keeps every other finding (and the anatomy) where it was.
/// A finding may first change the anatomy (<see cref="ChangeAnatomy"/>: a bigger heart, lower domes), then
/// paints itself and records where (<see cref="Paint"/>). Findings differ in place, shape and texture so that
/// a network has something real to learn for each.
/// </summary>
abstract class PhantomFinding(string name, Random random)
{
    public string Name { get; } = name;
    protected Random Random { get; } = random;

    public virtual void ChangeAnatomy(PhantomAnatomy anatomy) { }

    public abstract void Paint(PhantomFilm film);

    public static PhantomFinding Create(int finding, Random random)
    {
        string name = ChestXrayFindings.Names[finding];
        return name switch
        {
            "Atelectasis" => new Atelectasis(random),
            "Cardiomegaly" => new Cardiomegaly(random),
            "Effusion" => new Effusion(random),
            "Infiltration" => new Infiltration(random),
            "Mass" => new Mass(random),
            "Nodule" => new Nodule(random),
            "Pneumonia" => new Pneumonia(random),
            "Pneumothorax" => new Pneumothorax(random),
            "Consolidation" => new Consolidation(random),
            "Edema" => new Edema(random),
            "Emphysema" => new Emphysema(random),
            "Fibrosis" => new Fibrosis(random),
            "Pleural_Thickening" => new PleuralThickening(random),
            "Hernia" => new Hernia(random),
            _ => throw new ArgumentOutOfRangeException(nameof(finding), name, "no phantom drawing for this finding"),
        };
    }

    protected double Uniform(double low, double high) => low + (high - low) * Random.NextDouble();

    /// <summary>
    /// A point of a lung zone where a round lesion of <paramref name="radius"/> lies wholly over aerated lung, away
    /// from the heart and, if asked, the hilum. Tries random points of the zone; a point near the zone's middle
    /// if none fits (a crowded small chest).
    /// </summary>
    protected (double X, double Y) PlaceInLung(PhantomFilm film, int side, double radius, (double Low, double High) down,
        (double Low, double High) across, double hilumClearance = 0)
    {
        var anatomy = film.Anatomy;
        var hilum = anatomy.Hilum(side);
        for (int attempt = 0; attempt < 60; attempt++)
        {
            var (x, y) = anatomy.LungPoint(side, Uniform(down.Low, down.High), Uniform(across.Low, across.High));
            if (film.LungDistanceAt(x, y) < radius + 4) continue;
            if (film.HeartDistanceAt(x, y) > -radius - 4) continue;
            if (Math.Sqrt((x - hilum.X) * (x - hilum.X) + (y - hilum.Y) * (y - hilum.Y)) < radius + hilumClearance) continue;
            return (x, y);
        }
        return anatomy.LungPoint(side, (down.Low + down.High) / 2, 0.55);
    }

    /// <summary>A closed, smoothly wobbling outline: radius at an angle, ±<paramref name="wobble"/> of <paramref name="radius"/>.</summary>
    protected Func<double, double> Outline(double radius, double wobble)
    {
        var noise = new ValueNoise(Random, cell: 1);
        return angle => radius * (1 - wobble + 2 * wobble * noise.At(8 + 1.6 * Math.Cos(angle), 8 + 1.6 * Math.Sin(angle)));
    }
}

/// <summary>A collapsed segment: a dense wedge from the hilum to the base, or plate-like bands, with volume loss
/// (the dome rises and the mediastinum shifts towards the collapse).</summary>
sealed class Atelectasis(Random random) : PhantomFinding("Atelectasis", random)
{
    readonly int _side = random.Next(2);
    readonly bool _wedge = random.NextDouble() < 0.6;

    public override void ChangeAnatomy(PhantomAnatomy anatomy)
    {
        anatomy.DomeTop[_side] -= Uniform(8, 13);
        anatomy.MediastinalShift += PhantomAnatomy.Sign(_side) * Uniform(2, 4);
    }

    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int sign = PhantomAnatomy.Sign(_side);
        if (_wedge)
        {
            var (hx, hy) = a.Hilum(_side);
            double apexX = hx + sign * 3, apexY = hy + 4;
            double axis = _side == 0 ? Uniform(0.3, 0.6) : Uniform(0.55, 0.85), half = Uniform(0.13, 0.2), density = Uniform(0.65, 0.78);
            var lung = a.LungBounds(_side);
            film.Paint(new UnitBox(lung.Left, apexY - 2, lung.Right, lung.Bottom), (x, y) =>
            {
                double vx = sign * (x - apexX), vy = y - apexY;
                double reach = Math.Sqrt(vx * vx + vy * vy);
                if (reach < 1e-6) return 0;
                double angle = Math.Atan2(vx, vy);   // from straight down towards the lateral wall
                double inside = (half - Math.Abs(angle - axis)) * reach;
                return density * SmoothStep(-1.5 * film.Pixel, 1.5 * film.Pixel, inside) * SmoothStep(3, 16, reach);
            });
        }
        else
        {
            int bands = Random.Next(1, 3);
            for (int b = 0; b < bands; b++)
            {
                double length = Uniform(28, 42), tilt = Uniform(-0.15, 0.15), half = Uniform(1.8, 2.6);
                var (x, y) = PlaceInLung(film, _side, length / 3, (0.55, 0.8), (0.35, 0.65));
                double dx = Math.Cos(tilt) * length / 2, dy = Math.Sin(tilt) * length / 2;
                film.PaintSegment(x - dx, y - dy, x + dx, y + dy, half, half, 0.85, 0.85);
            }
        }
        film.CommitScratch(Name, Commit.Opacity);
    }
}

/// <summary>A heart shadow wider than half the thorax.</summary>
sealed class Cardiomegaly(Random random) : PhantomFinding("Cardiomegaly", random)
{
    public override void ChangeAnatomy(PhantomAnatomy anatomy) => anatomy.CardiothoracicRatio = Uniform(0.56, 0.64);

    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        var (left, top, right, bottom) = film.HeartBounds;
        // The box holds the heart above the diaphragm: below it the heart merges with the abdomen.
        film.Paint(new UnitBox(left, top, right, bottom), (x, y) =>
        {
            int side = x < a.MidX ? 0 : 1;
            return y > a.DomeY(side, a.Outward(side, x)) + 2 ? 0 : SmoothStep(-film.Pixel, film.Pixel, film.HeartDistanceAt(x, y));
        });
        film.CommitScratch(Name, Commit.Outline, visibleFraction: 0.5);
    }
}

/// <summary>Fluid at a lung base: a homogeneous opacity filling the costophrenic angle, its upper edge a meniscus
/// climbing the lateral wall.</summary>
sealed class Effusion(Random random) : PhantomFinding("Effusion", random)
{
    readonly int _side = random.Next(2);

    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        double medialLevel = a.DomeTop[_side] - Uniform(6, 24), rise = Uniform(20, 34);
        double Meniscus(double h) => medialLevel - rise * Math.Pow(Math.Clamp((h - 0.15 * a.HalfWidth) / (0.83 * a.HalfWidth), 0, 1), 1.6);
        var lung = a.LungBounds(_side);
        film.Paint(new UnitBox(lung.Left, medialLevel - rise - 4, lung.Right, lung.Bottom), (x, y) =>
        {
            double level = Meniscus(a.Outward(_side, x));
            // Thin at the meniscus, deep below it: the edge fades upwards over a few pixels.
            return 0.96 * SmoothStep(level - 2, level + 7, y);
        });
        film.CommitScratch(Name, Commit.Opacity);
    }
}

/// <summary>Patchy, ill-defined hazy opacities clustered in one area (sometimes one in each lung).</summary>
sealed class Infiltration(Random random) : PhantomFinding("Infiltration", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int first = Random.Next(2);
        int clusters = Random.NextDouble() < 0.3 ? 2 : 1;
        for (int c = 0; c < clusters; c++)
        {
            int side = c == 0 ? first : 1 - first;
            var (cx, cy) = PlaceInLung(film, side, 14, (0.3, 0.8), (0.3, 0.75));
            int blobs = Random.Next(5, 9);
            double reach = 0;
            for (int b = 0; b < blobs; b++)
            {
                double bx = cx + Uniform(-16, 16), by = cy + Uniform(-16, 16), radius = Uniform(5, 9.5), peak = Uniform(0.45, 0.6);
                reach = Math.Max(reach, Math.Max(Math.Abs(bx - cx), Math.Abs(by - cy)) + 2 * radius);
                film.Paint(UnitBox.Around(bx, by, 2 * radius), (x, y) =>
                {
                    double dx = (x - bx) / radius, dy = (y - by) / radius;
                    return peak * Math.Exp(-(dx * dx + dy * dy));
                });
            }
            // Patchy: the haze is broken up by a fine mottle.
            var mottle = new ValueNoise(Random, cell: 3.5);
            film.Paint(UnitBox.Around(cx, cy, reach), (x, y) => 0.4 + 0.6 * mottle.At(x, y), Blend.Multiply);
            film.CommitScratch(Name, Commit.Opacity, visibleFraction: 0.35);
        }
    }
}

/// <summary>A large (over 3 cm) round, lobulated, well-defined opacity.</summary>
sealed class Mass(Random random) : PhantomFinding("Mass", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int side = Random.Next(2);
        double radius = Uniform(13, 20);
        var (cx, cy) = PlaceInLung(film, side, radius, (0.2, 0.7), (0.25, 0.8));
        var outline = Outline(radius, 0.12);
        double peak = Uniform(0.7, 0.85);
        film.Paint(UnitBox.Around(cx, cy, radius * 1.15 + 2), (x, y) =>
        {
            double dx = x - cx, dy = y - cy, distance = Math.Sqrt(dx * dx + dy * dy);
            double edge = outline(Math.Atan2(dy, dx));
            double r = Math.Min(1, distance / edge);
            // A solid ball: densest through its middle, a crisp edge.
            return peak * (0.6 + 0.4 * Math.Sqrt(1 - r * r)) * SmoothStep(edge + 1.5 * film.Pixel, edge - 1.5 * film.Pixel, distance);
        });
        film.CommitScratch(Name, Commit.Opacity);
    }
}

/// <summary>A small, round, dense opacity with a sharp edge.</summary>
sealed class Nodule(Random random) : PhantomFinding("Nodule", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int side = Random.Next(2);
        double radius = Uniform(4, 6), peak = Uniform(0.9, 1.0);
        var (cx, cy) = PlaceInLung(film, side, radius, (0.12, 0.8), (0.2, 0.85), hilumClearance: 20);
        film.Paint(UnitBox.Around(cx, cy, radius + 2), (x, y) =>
        {
            double distance = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
            double r = Math.Min(1, distance / radius);
            return peak * (0.6 + 0.4 * Math.Sqrt(1 - r * r)) * SmoothStep(radius + film.Pixel, radius - film.Pixel, distance);
        });
        film.CommitScratch(Name, Commit.Opacity);
    }
}

/// <summary>Lobar pneumonia: one large confluent opacity in a middle or lower zone, mottled, its edges fuzzy all round.</summary>
sealed class Pneumonia(Random random) : PhantomFinding("Pneumonia", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int side = Random.Next(2);
        double radius = Uniform(16, 24);
        var (cx, cy) = PlaceInLung(film, side, radius * 0.6, (0.5, 0.8), (0.35, 0.7));
        var outline = Outline(radius, 0.25);
        var mottle = new ValueNoise(Random, cell: 4);
        double peak = Uniform(0.62, 0.75);
        film.Paint(UnitBox.Around(cx, cy, radius * 1.6), (x, y) =>
        {
            double dx = x - cx, dy = y - cy;
            double r = Math.Sqrt(dx * dx + dy * dy) / outline(Math.Atan2(dy, dx));
            return peak * SmoothStep(1.3, 0.65, r) * (0.7 + 0.3 * mottle.At(x, y));
        });
        film.CommitScratch(Name, Commit.Opacity);
    }
}

/// <summary>Air between lung and chest wall at the apex and lateral wall: dark, without lung markings, bounded by
/// the thin bright line of the collapsed lung's pleura.</summary>
sealed class Pneumothorax(Random random) : PhantomFinding("Pneumothorax", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int side = Random.Next(2);
        double gap = Uniform(9, 20), start = a.ApexY + 0.2 * a.LungHeight(side), end = a.ApexY + Uniform(0.5, 0.8) * a.LungHeight(side);
        var lung = a.LungBounds(side);
        var region = new UnitBox(lung.Left, lung.Top, lung.Right, end + 2);
        double Gap(double y) => gap * SmoothStep(end, start, y);
        double MedialFade(double x) => SmoothStep(0.25 * a.HalfWidth, 0.35 * a.HalfWidth, a.Outward(side, x));
        film.Paint(region, (x, y) =>
        {
            double here = Gap(y);
            if (here < 0.5) return 0;
            return SmoothStep(here + film.Pixel, here - film.Pixel, film.LateralDistanceAt(x, y)) * SmoothStep(-film.Pixel, film.Pixel, film.LungDistanceAt(x, y)) * MedialFade(x);
        });
        film.CommitScratch(Name, Commit.Lucency, visibleFraction: 0.5);
        // The visceral pleura: a hair-thin bright line where the lung now ends.
        film.Paint(region, (x, y) =>
        {
            double here = Gap(y);
            if (here < 1) return 0;
            double off = (film.LateralDistanceAt(x, y) - here) / 0.8;
            return 0.3 * Math.Exp(-off * off) * SmoothStep(1, 3, here) * MedialFade(x) * SmoothStep(0, 2, film.LungDistanceAt(x, y));
        });
        film.CommitScratch(Name, Commit.Density, recordLesion: false);
    }
}

/// <summary>A dense, homogeneous lobar opacity with one straight sharp edge (a fissure) and air bronchograms:
/// dark branching tubes of air inside it.</summary>
sealed class Consolidation(Random random) : PhantomFinding("Consolidation", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int side = Random.Next(2);
        bool upper = Random.NextDouble() < 0.5;
        double height = a.LungHeight(side);
        double fissure = a.ApexY + (upper ? Uniform(0.38, 0.48) : Uniform(0.5, 0.6)) * height, tilt = Uniform(-0.08, 0.08);
        double other = upper ? a.ApexY + Uniform(0.08, 0.16) * height : a.LowestY(side) + 5;
        double medial = Uniform(0.15, 0.3) * a.HalfWidth;
        var edgeNoise = new ValueNoise(Random, cell: 6);
        var lung = a.LungBounds(side);
        double top = upper ? other - 6 : fissure - 8, bottom = upper ? fissure + 8 : other;
        double peak = Uniform(0.78, 0.88);
        film.Paint(new UnitBox(lung.Left, top, lung.Right, bottom), (x, y) =>
        {
            double h = a.Outward(side, x);
            double line = fissure + tilt * (h - 0.5 * a.HalfWidth);
            double sharp = upper ? SmoothStep(line + film.Pixel, line - film.Pixel, y) : SmoothStep(line - film.Pixel, line + film.Pixel, y);
            double ragged = other + (edgeNoise.At(x, y) - 0.5) * 10;
            double soft = upper ? SmoothStep(ragged - 5, ragged + 5, y) : 1;
            double innerEdge = medial + (edgeNoise.At(y + 50, x) - 0.5) * 12;
            double inner = SmoothStep(innerEdge - 4, innerEdge + 4, h);
            return peak * sharp * soft * inner * (0.9 + 0.1 * edgeNoise.At(y, x));
        });
        // Air bronchograms: bronchi stay aerated inside the airless lobe.
        double middleY = upper ? (Math.Max(other, a.ApexY + 0.12 * height) + fissure) / 2 : (fissure + a.DomeTop[side]) / 2;
        int trees = Random.Next(2, 4);
        for (int t = 0; t < trees; t++)
        {
            double startX = a.X(side, medial + 4), startY = middleY + Uniform(-6, 6);
            GrowBronchus(film, side, startX, startY, Uniform(-0.5, 0.5), 1.0, 0);
        }
        film.CommitScratch(Name, Commit.Opacity);
    }

    void GrowBronchus(PhantomFilm film, int side, double x, double y, double angle, double halfWidth, int depth)
    {
        var a = film.Anatomy;
        for (int step = 0; step < 5 && halfWidth > 0.5; step++)
        {
            double length = Uniform(6, 10);
            angle += Uniform(-0.3, 0.3);
            double nx = a.X(side, a.Outward(side, x) + Math.Cos(angle) * length), ny = y + Math.Sin(angle) * length;
            if (film.ScratchAt(nx, ny) < 0.5) break;
            film.CarveSegment(x, y, nx, ny, halfWidth, 0.35);
            if (depth < 2 && Random.NextDouble() < 0.4)
                GrowBronchus(film, side, nx, ny, angle + (Random.NextDouble() < 0.5 ? -0.5 : 0.5), halfWidth * 0.85, depth + 1);
            x = nx; y = ny; halfWidth *= 0.88;
        }
    }
}

/// <summary>Pulmonary oedema: a bilateral perihilar "butterfly" haze and Kerley B lines (short horizontal lines
/// at the lateral lung bases).</summary>
sealed class Edema(Random random) : PhantomFinding("Edema", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        var texture = new ValueNoise(Random, cell: 6);
        double peak = Uniform(0.62, 0.75);
        for (int side = 0; side < 2; side++)
        {
            var (hx, hy) = a.Hilum(side);
            double cx = a.X(side, a.Outward(side, hx) + 0.08 * a.HalfWidth), cy = hy + 0.04 * a.LungHeight(side);
            double sx = 0.2 * a.HalfWidth, sy = 0.2 * a.LungHeight(side);
            film.Paint(new UnitBox(cx - 2.2 * sx, cy - 2.2 * sy, cx + 2.2 * sx, cy + 2.2 * sy), (x, y) =>
            {
                double dx = (x - cx) / sx, dy = (y - cy) / sy;
                return peak * Math.Exp(-(dx * dx + dy * dy)) * (0.75 + 0.25 * texture.At(x, y));
            });
            int lines = Random.Next(4, 7);
            double y0 = a.ApexY + Uniform(0.62, 0.7) * a.LungHeight(side);
            for (int l = 0; l < lines; l++)
            {
                double y = y0 + l * Uniform(3.5, 5);
                double wall = a.LateralEdge(side, y) - 1.5;
                if (a.DomeY(side, wall) < y + 3) break;
                film.PaintSegment(a.X(side, wall), y, a.X(side, wall - Uniform(6, 10)), y + Uniform(-0.6, 0.6), 0.6, 0.5, 0.75, 0.6);
            }
        }
        film.CommitScratch(Name, Commit.Opacity, perLung: true);
    }
}

/// <summary>Hyperinflation: darker lungs, low flat domes, pruned peripheral vessels, a narrow heart, sometimes bullae.</summary>
sealed class Emphysema(Random random) : PhantomFinding("Emphysema", random)
{
    public override void ChangeAnatomy(PhantomAnatomy anatomy)
    {
        anatomy.AirFraction = Uniform(0.95, 0.97);
        anatomy.DomeFlatness = Uniform(0.2, 0.35);
        double lower = Uniform(10, 16);
        for (int side = 0; side < 2; side++)
            anatomy.DomeTop[side] = Math.Min(anatomy.DomeTop[side] + lower, 222 - anatomy.DomeFlatness * anatomy.CostophrenicDepth);
        anatomy.VesselReach = 0.45;
        if (anatomy.CardiothoracicRatio < 0.5) anatomy.CardiothoracicRatio *= 0.88;
    }

    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        if (Random.NextDouble() < 0.7)
        {
            int side = Random.Next(2);
            double radius = Uniform(7, 11);
            var (cx, cy) = PlaceInLung(film, side, radius, (0.1, 0.35), (0.3, 0.8));
            film.Paint(UnitBox.Around(cx, cy, radius + 2), (x, y) =>
                SmoothStep(radius + film.Pixel, radius - film.Pixel, Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy))));
            film.CommitScratch(Name, Commit.Lucency, recordLesion: false);
        }
        // Every aerated pixel is affected: one box per lung.
        for (int side = 0; side < 2; side++)
        {
            var (left, top, right, bottom) = a.LungBounds(side);
            film.Paint(new UnitBox(left, top, right, bottom), (x, y) => a.Outward(side, x) > 0 ? film.LungAt(x, y) : 0);
        }
        film.CommitScratch(Name, Commit.Outline, visibleFraction: 0.5, perLung: true);
    }
}

/// <summary>Interstitial fibrosis: a reticular net of fine lines in the lower, outer lung zones of both sides, with
/// some volume loss.</summary>
sealed class Fibrosis(Random random) : PhantomFinding("Fibrosis", random)
{
    readonly int _cellSeed = random.Next();

    public override void ChangeAnatomy(PhantomAnatomy anatomy)
    {
        double raise = Uniform(3, 6);
        anatomy.DomeTop[0] -= raise;
        anatomy.DomeTop[1] -= raise;
    }

    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        double cell = Uniform(5, 6.5), peak = Uniform(0.5, 0.6);
        var patchiness = new ValueNoise(Random, cell: 9);
        for (int side = 0; side < 2; side++)
        {
            var lung = a.LungBounds(side);
            double from = a.ApexY + 0.42 * a.LungHeight(side), full = a.ApexY + 0.68 * a.LungHeight(side);
            film.Paint(new UnitBox(lung.Left, from, lung.Right, lung.Bottom), (x, y) =>
            {
                double h = a.Outward(side, x);
                double zone = SmoothStep(from, full, y) * SmoothStep(0.3, 0.6, h / a.LateralEdge(side, Math.Max(y, a.ApexY)));
                if (zone <= 0) return 0;
                return peak * zone * (0.4 + 0.6 * patchiness.At(x, y)) * CellWalls(x / cell, y / cell, cell);
            });
        }
        film.CommitScratch(Name, Commit.Opacity, visibleFraction: 0.35, perLung: true);
    }

    /// <summary>Near 1 on the walls between random cells (a Voronoi diagram of jittered grid points), 0 inside them.</summary>
    double CellWalls(double x, double y, double cell)
    {
        int ix = (int)Math.Floor(x), iy = (int)Math.Floor(y);
        double nearest = double.MaxValue, second = double.MaxValue;
        for (int j = iy - 1; j <= iy + 1; j++)
            for (int i = ix - 1; i <= ix + 1; i++)
            {
                var point = new SplitMix((ulong)_cellSeed ^ ((ulong)(uint)i << 32 | (uint)j));
                double px = i + 0.1 + 0.8 * point.NextDouble();
                double py = j + 0.1 + 0.8 * point.NextDouble();
                double d = (px - x) * (px - x) + (py - y) * (py - y);
                if (d < nearest) { second = nearest; nearest = d; }
                else if (d < second) second = d;
            }
        double wall = (Math.Sqrt(second) - Math.Sqrt(nearest)) * cell;   // in units
        return Math.Exp(-wall * wall / 1.1);
    }
}

/// <summary>A thick bright band along the chest wall (pleural plaque or cap), its inner edge irregular.</summary>
sealed class PleuralThickening(Random random) : PhantomFinding("Pleural_Thickening", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        int side = Random.Next(2);
        double centre = a.ApexY + Uniform(0.15, 0.6) * a.LungHeight(side), half = Uniform(24, 38), thick = Uniform(7, 11);
        var edgeNoise = new ValueNoise(Random, cell: 5);
        var lung = a.LungBounds(side);
        double Band(double x, double y)
        {
            double along = Math.Abs(y - centre) / half;
            if (along >= 1) return 0;
            double width = thick * Math.Sqrt(1 - along * along) * (0.75 + 0.5 * edgeNoise.At(x, y));
            double depth = film.LateralDistanceAt(x, y);
            return SmoothStep(width + film.Pixel, width - film.Pixel, depth) * SmoothStep(-film.Pixel, film.Pixel, film.LungDistanceAt(x, y))
                * SmoothStep(0.3 * a.HalfWidth, 0.4 * a.HalfWidth, a.Outward(side, x));
        }
        var region = new UnitBox(lung.Left, centre - half, lung.Right, centre + half);
        film.Paint(region, Band);
        film.CommitScratch(Name, Commit.Opacity, visibleFraction: 0.5);
        // Fibrous pleura is denser than the soft tissue around it.
        film.Paint(region, (x, y) => 0.45 * Band(x, y));
        film.CommitScratch(Name, Commit.Density, recordLesion: false);
    }
}

/// <summary>A hiatus hernia: a round retrocardiac opacity low in the chest with gas above a flat air-fluid level.</summary>
sealed class Hernia(Random random) : PhantomFinding("Hernia", random)
{
    public override void Paint(PhantomFilm film)
    {
        var a = film.Anatomy;
        double radius = Uniform(12, 17);
        double cx = a.MidX + a.MediastinalShift + Uniform(0, 0.12) * a.HalfWidth;
        double cy = Math.Min(a.DomeTop[0], a.DomeTop[1]) - radius - Uniform(2, 8);
        double level = cy - radius * Uniform(-0.15, 0.35), gas = Uniform(0.95, 1.15);
        film.Paint(UnitBox.Around(cx, cy, radius + 2), (x, y) =>
        {
            double distance = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
            double inside = SmoothStep(radius + film.Pixel, radius - film.Pixel, distance);
            double wall = 0.3 * Math.Exp(-Math.Pow((distance - radius + 1) / 1.2, 2));
            double aboveLevel = SmoothStep(level + film.Pixel, level - film.Pixel, y);
            return inside * (-gas * aboveLevel + 0.15 * (1 - aboveLevel)) + wall;
        }, Blend.Add);   // the gas is negative: a max with the empty layer would drop it
        film.CommitScratch(Name, Commit.Density, visibleFraction: 0.1);
    }
}
