using System.Numerics;

namespace Recipes.Mnist;

/// <summary>
/// One continuous pen movement, built from lines, Bezier curves and elliptical arcs and kept as a
/// dense polyline. Dense on purpose: the elastic distortion moves every point, and only a dense
/// polyline bends smoothly under it.
/// </summary>
sealed class PenStroke
{
    /// <summary>Distance between polyline points, in units of the digit's box (1 = full height).</summary>
    const float Step = 0.045f;

    readonly List<Vector2> points = [];

    public PenStroke(Vector2 start) => points.Add(start);

    public PenStroke(float x, float y) : this(new Vector2(x, y)) { }

    public List<Vector2> Points => points;

    public Vector2 End => points[^1];

    public PenStroke LineTo(Vector2 to)
    {
        Vector2 from = End;
        int steps = StepsFor(Vector2.Distance(from, to));
        for (int i = 1; i <= steps; i++) points.Add(Vector2.Lerp(from, to, i / (float)steps));
        return this;
    }

    public PenStroke LineTo(float x, float y) => LineTo(new Vector2(x, y));

    /// <summary>A cubic Bezier curve from the current end through two control points.</summary>
    public PenStroke CurveTo(Vector2 control1, Vector2 control2, Vector2 to)
    {
        Vector2 from = End;
        float roughLength = Vector2.Distance(from, control1) + Vector2.Distance(control1, control2) + Vector2.Distance(control2, to);
        int steps = StepsFor(roughLength);
        for (int i = 1; i <= steps; i++)
        {
            float t = i / (float)steps, u = 1 - t;
            points.Add(u * u * u * from + 3 * u * u * t * control1 + 3 * u * t * t * control2 + t * t * t * to);
        }
        return this;
    }

    /// <summary>
    /// An elliptical arc around <paramref name="centre"/>, tilted by <paramref name="tiltDegrees"/>. Angles are
    /// in degrees with y pointing down: 0 = right, 90 = bottom, -90 = top, so increasing angles run clockwise
    /// on screen. The pen first moves straight to the arc's start if it is not already there.
    /// </summary>
    public PenStroke Arc(Vector2 centre, Vector2 radii, float fromDegrees, float toDegrees, float tiltDegrees = 0)
    {
        Vector2 start = PointOnEllipse(centre, radii, fromDegrees, tiltDegrees);
        if (Vector2.Distance(End, start) > Step / 2) LineTo(start);
        float sweep = Math.Abs(toDegrees - fromDegrees) * MathF.PI / 180;
        int steps = StepsFor(sweep * (radii.X + radii.Y) / 2);
        for (int i = 1; i <= steps; i++)
            points.Add(PointOnEllipse(centre, radii, fromDegrees + (toDegrees - fromDegrees) * i / steps, tiltDegrees));
        return this;
    }

    public static Vector2 PointOnEllipse(Vector2 centre, Vector2 radii, float degrees, float tiltDegrees = 0)
    {
        float angle = degrees * MathF.PI / 180, tilt = tiltDegrees * MathF.PI / 180;
        float x = radii.X * MathF.Cos(angle), y = radii.Y * MathF.Sin(angle);
        return centre + new Vector2(x * MathF.Cos(tilt) - y * MathF.Sin(tilt), x * MathF.Sin(tilt) + y * MathF.Cos(tilt));
    }

    static int StepsFor(float length) => Math.Max(1, (int)MathF.Ceiling(length / Step));
}
