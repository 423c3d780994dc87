using System.Numerics;

namespace Recipes.Mnist;

/// <summary>
/// How each digit is written with a pen: a few strokes in a unit box (x to the right, y downwards,
/// the digit about 1 tall and 0.6 wide). Every coordinate is jittered a little per sample, and most
/// digits have the variants people actually write (a 1 with or without a flag, an open or closed 4,
/// a 7 with or without a crossbar), so that the classes vary the way handwriting does.
/// </summary>
static class DigitStrokes
{
    public static List<PenStroke> Draw(int digit, Random random)
    {
        // Some writers are neat and some are sloppy: one factor scales all of this sample's shape jitter.
        var shape = new ShapeJitter(random, sloppiness: (float)(0.6 + 1.1 * random.NextDouble()));
        return digit switch
        {
            0 => Zero(shape),
            1 => One(shape),
            2 => Two(shape),
            3 => Three(shape),
            4 => Four(shape),
            5 => Five(shape),
            6 => Six(shape),
            7 => Seven(shape),
            8 => Eight(shape),
            9 => Nine(shape),
            _ => throw new ArgumentOutOfRangeException(nameof(digit), digit, "a digit is 0 to 9"),
        };
    }

    static List<PenStroke> Zero(ShapeJitter s)
    {
        // An oval started near the top; the pen stops a little short of or past where it began.
        var centre = s.Point(0.5f, 0.5f, 0.02f);
        var radii = new Vector2(s.Around(0.31f, 0.09f), s.Around(0.45f, 0.03f));
        float start = s.Around(-100, 30);
        float sweep = s.Around(-355, 25);
        return [new PenStroke(PenStroke.PointOnEllipse(centre, radii, start)).Arc(centre, radii, start, start + sweep, s.Around(0, 12))];
    }

    static List<PenStroke> One(ShapeJitter s)
    {
        var top = s.Point(0.52f, 0.04f, 0.03f);
        var bottom = s.Point(0.48f, 0.96f, 0.03f);
        var middle = Vector2.Lerp(top, bottom, 0.5f) + new Vector2(s.Around(0, 0.04f), 0);
        var strokes = new List<PenStroke>();
        PenStroke stem;
        if (s.Chance(0.35))
        {
            // The flag: an upstroke into the top, then straight down.
            stem = new PenStroke(s.Point(top.X - 0.15f, top.Y + 0.17f, 0.03f)).LineTo(top);
        }
        else stem = new PenStroke(top);
        stem.CurveTo(middle, middle, bottom);
        strokes.Add(stem);
        if (s.Chance(0.15))
        {
            float half = s.Around(0.18f, 0.05f);
            strokes.Add(new PenStroke(bottom.X - half, bottom.Y + s.Around(0, 0.02f)).LineTo(bottom.X + half, bottom.Y + s.Around(0, 0.02f)));
        }
        return strokes;
    }

    static List<PenStroke> Two(ShapeJitter s)
    {
        // A hook over the top, a diagonal down to the bottom left, a base line to the right.
        var centre = s.Point(0.5f, 0.3f, 0.02f);
        var radii = new Vector2(s.Around(0.3f, 0.05f), s.Around(0.26f, 0.04f));
        float start = s.Around(200, 15);
        var stroke = new PenStroke(PenStroke.PointOnEllipse(centre, radii, start)).Arc(centre, radii, start, s.Around(375, 15));
        var corner = s.Point(0.16f, 0.92f, 0.04f);
        stroke.CurveTo(s.Point(0.66f, 0.58f, 0.05f), s.Point(0.36f, 0.78f, 0.05f), corner);
        if (s.Chance(0.3))
        {
            // A small curl at the corner before the base, as many people write it.
            var curl = new Vector2(corner.X + 0.02f, corner.Y - 0.06f);
            stroke.CurveTo(corner + new Vector2(-0.08f, 0.04f), curl + new Vector2(-0.04f, -0.06f), curl)
                  .CurveTo(curl + new Vector2(0.06f, 0.04f), corner + new Vector2(0.1f, 0.03f), corner + new Vector2(0.16f, 0.03f));
        }
        stroke.CurveTo(s.Point(0.4f, 0.95f, 0.03f), s.Point(0.65f, 0.93f, 0.03f), s.Point(0.86f, 0.94f, 0.03f));
        return [stroke];
    }

    static List<PenStroke> Three(ShapeJitter s)
    {
        // Two bumps to the right meeting at a cusp in the middle.
        var topCentre = s.Point(0.48f, 0.27f, 0.02f);
        var topRadii = new Vector2(s.Around(0.27f, 0.04f), s.Around(0.21f, 0.03f));
        float start = s.Around(200, 20);
        var stroke = new PenStroke(PenStroke.PointOnEllipse(topCentre, topRadii, start)).Arc(topCentre, topRadii, start, s.Around(440, 15));
        var cusp = s.Point(0.44f, 0.5f, 0.03f);
        stroke.LineTo(cusp);
        var bottomCentre = s.Point(0.5f, 0.72f, 0.02f);
        var bottomRadii = new Vector2(s.Around(0.31f, 0.04f), s.Around(0.24f, 0.03f));
        stroke.Arc(bottomCentre, bottomRadii, s.Around(-95, 10), s.Around(155, 15));
        return [stroke];
    }

    static List<PenStroke> Four(ShapeJitter s)
    {
        float barY = s.Around(0.62f, 0.05f);
        float stemX = s.Around(0.66f, 0.04f);
        var barEnd = new Vector2(s.Around(0.9f, 0.04f), barY + s.Around(0, 0.03f));
        PenStroke arm;
        PenStroke stem;
        if (s.Chance(0.5))
        {
            // Closed form: a diagonal from the top into the bar, the stem starting high.
            arm = new PenStroke(s.Point(0.56f, 0.04f, 0.03f)).LineTo(s.Around(0.1f, 0.04f), barY).LineTo(barEnd);
            stem = new PenStroke(stemX + s.Around(0, 0.03f), s.Around(0.2f, 0.08f)).LineTo(stemX + s.Around(-0.03f, 0.03f), 0.98f);
        }
        else
        {
            // Open form: a short down stroke and the bar, then a separate stem; the top stays open.
            arm = new PenStroke(s.Point(0.2f, 0.04f, 0.03f)).CurveTo(s.Point(0.18f, 0.3f, 0.03f), s.Point(0.14f, barY - 0.05f, 0.02f), new Vector2(0.16f, barY)).LineTo(barEnd);
            stem = new PenStroke(stemX + s.Around(0.02f, 0.03f), s.Around(0.03f, 0.03f)).LineTo(stemX + s.Around(-0.03f, 0.03f), 0.98f);
        }
        return [arm, stem];
    }

    static List<PenStroke> Five(ShapeJitter s)
    {
        // A short down stroke, then a round belly opening to the left, and the flag on top.
        var corner = s.Point(0.3f, 0.06f, 0.03f);
        var belly = s.Point(0.48f, 0.68f, 0.02f);
        var bellyRadii = new Vector2(s.Around(0.3f, 0.04f), s.Around(0.26f, 0.03f));
        var body = new PenStroke(corner).LineTo(s.Point(0.27f, 0.45f, 0.03f))
            .Arc(belly, bellyRadii, s.Around(-125, 10), s.Around(150, 15));
        var flag = new PenStroke(corner).CurveTo(s.Point(0.45f, 0.05f, 0.02f), s.Point(0.65f, 0.06f, 0.02f), s.Point(0.84f, 0.04f, 0.03f));
        return [body, flag];
    }

    static List<PenStroke> Six(ShapeJitter s)
    {
        // A long curve down the left side into a loop at the bottom.
        var loop = s.Point(0.5f, 0.7f, 0.02f);
        var loopRadii = new Vector2(s.Around(0.27f, 0.04f), s.Around(0.24f, 0.03f));
        var loopStart = PenStroke.PointOnEllipse(loop, loopRadii, 180);
        var stroke = new PenStroke(s.Point(0.72f, 0.04f, 0.04f))
            .CurveTo(s.Point(0.45f, 0.1f, 0.05f), s.Point(0.22f, 0.35f, 0.05f), loopStart)
            .Arc(loop, loopRadii, 180, s.Around(-175, 25));
        return [stroke];
    }

    static List<PenStroke> Seven(ShapeJitter s)
    {
        var left = s.Point(0.12f, 0.08f, 0.03f);
        var right = s.Point(0.86f, 0.07f, 0.03f);
        var foot = s.Point(0.42f, 0.97f, 0.06f);
        var stroke = s.Chance(0.25)
            ? new PenStroke(left.X, left.Y + s.Around(0.13f, 0.04f)).LineTo(left)   // a small tick down at the start
            : new PenStroke(left);
        stroke.LineTo(right).CurveTo(Vector2.Lerp(right, foot, 0.35f) + new Vector2(s.Around(0, 0.04f), 0), Vector2.Lerp(right, foot, 0.7f), foot);
        var strokes = new List<PenStroke> { stroke };
        if (s.Chance(0.2))
        {
            float y = s.Around(0.52f, 0.04f);
            strokes.Add(new PenStroke(s.Around(0.38f, 0.04f), y).LineTo(s.Around(0.8f, 0.04f), y + s.Around(0, 0.03f)));
        }
        return strokes;
    }

    static List<PenStroke> Eight(ShapeJitter s)
    {
        var top = s.Point(0.5f, 0.26f, 0.02f);
        var topRadii = new Vector2(s.Around(0.22f, 0.04f), s.Around(0.21f, 0.03f));
        var bottom = s.Point(0.5f, 0.72f, 0.02f);
        var bottomRadii = new Vector2(s.Around(0.28f, 0.04f), s.Around(0.25f, 0.03f));
        if (s.Chance(0.4))
        {
            // Two loops drawn separately.
            return
            [
                new PenStroke(PenStroke.PointOnEllipse(top, topRadii, 0)).Arc(top, topRadii, 0, s.Around(-360, 15), s.Around(0, 12)),
                new PenStroke(PenStroke.PointOnEllipse(bottom, bottomRadii, 0)).Arc(bottom, bottomRadii, 0, s.Around(360, 15), s.Around(0, 12)),
            ];
        }
        // One stroke: round the top loop anticlockwise, across the waist, round the bottom loop clockwise, back up.
        var start = PenStroke.PointOnEllipse(top, topRadii, -30);
        var stroke = new PenStroke(start).Arc(top, topRadii, -30, -250);
        var waist = (top + bottom) / 2;
        var bottomStart = PenStroke.PointOnEllipse(bottom, bottomRadii, -40);
        stroke.CurveTo(waist + new Vector2(0.02f, 0), waist + new Vector2(0.15f, 0.03f), bottomStart)
              .Arc(bottom, bottomRadii, -40, 220)
              .CurveTo(waist + new Vector2(-0.12f, 0.02f), waist + new Vector2(0.1f, -0.06f), start + new Vector2(s.Around(0, 0.03f), s.Around(0, 0.03f)));
        return [stroke];
    }

    static List<PenStroke> Nine(ShapeJitter s)
    {
        // A loop at the top drawn anticlockwise from its right side, then the stem down from there.
        var loop = s.Point(0.46f, 0.28f, 0.02f);
        var loopRadii = new Vector2(s.Around(0.27f, 0.04f), s.Around(0.24f, 0.03f));
        float start = s.Around(5, 10);
        var stroke = new PenStroke(PenStroke.PointOnEllipse(loop, loopRadii, start)).Arc(loop, loopRadii, start, start - 360 + s.Around(0, 15));
        var stemTop = PenStroke.PointOnEllipse(loop, loopRadii, 15);
        var foot = s.Point(0.66f, 0.97f, 0.04f);
        if (s.Chance(0.3))
            stroke.CurveTo(Vector2.Lerp(stemTop, foot, 0.5f) + new Vector2(0.05f, 0), foot + new Vector2(0.04f, -0.08f), foot - new Vector2(0.12f, 0.02f));
        else
            stroke.CurveTo(Vector2.Lerp(stemTop, foot, 0.35f), Vector2.Lerp(stemTop, foot, 0.7f), foot);
        return [stroke];
    }

    /// <summary>Draws the per-sample randomness of a shape from one generator, always in the same order.</summary>
    readonly struct ShapeJitter(Random random, float sloppiness)
    {
        public float Around(float value, float spread) => value + (float)(random.NextDouble() * 2 - 1) * spread * sloppiness;

        public Vector2 Point(float x, float y, float spread) => new(Around(x, spread), Around(y, spread));

        public bool Chance(double probability) => random.NextDouble() < probability;
    }
}
