using System.Globalization;
using System.Security;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;

namespace Recipes.ObjectDetection;

/// <summary>One object of a VOC XML file: its class name, its box in edge coordinates and VOC's "difficult" flag.</summary>
public sealed record VocObject(string Name, PixelBox Box, bool Difficult);

/// <summary>
/// A parsed VOC annotation file: the image file it names (<c>&lt;filename&gt;</c>, null when absent), the image size
/// it declares, its objects, and how many of their boxes overran the image by a pixel or two and were clipped.
/// </summary>
public sealed record VocAnnotation(string XmlPath, string? FileName, int Width, int Height, IReadOnlyList<VocObject> Objects,
    int ClippedBoxes);

/// <summary>
/// Why an annotation or image cannot be used: <see cref="Reason"/> is one of a few fixed phrases (what skips are
/// counted by), <see cref="Detail"/> names the element or value at fault.
/// </summary>
public sealed record BadDetectionFile(string FilePath, string Reason, string Detail)
{
    public const string MalformedXml = "malformed XML";
    public const string UnknownStructure = "not a VOC annotation";
    public const string MissingSize = "missing or invalid image size";
    public const string BoxOutside = "box outside the image";
    public const string EmptyBox = "zero-area box";
    public const string UnknownClass = "unknown class";
    public const string AnnotationMissing = "annotation file missing";
    public const string ImageMissing = "image file missing";
    public const string ImageUndecodable = "image does not decode";
    public const string SizeMismatch = "image size differs from the annotation";

    public DataFileException ToException() => new(FilePath, $"{Reason}: {Detail}");
}

/// <summary>
/// Reads and writes PASCAL VOC annotation XML. VOC boxes are inclusive 1-based pixel indices; here they become
/// edge coordinates (the image spans 0..width): Left = xmin - 1, Top = ymin - 1, Right = xmax, Bottom = ymax.
/// </summary>
/// <remarks>
/// Hand-drawn boxes sometimes overrun the image by a pixel (xmin = 0, or xmax = width + 1). A box that overruns by at
/// most <see cref="OverrunTolerance"/> pixels on any side is clipped to the image and counted in
/// <see cref="VocAnnotation.ClippedBoxes"/>; one further out, or of zero area, is bad input.
/// </remarks>
public static class VocAnnotations
{
    /// <summary>How far (pixels) a box may overrun the image and still be clipped rather than refused.</summary>
    public const double OverrunTolerance = 2;

    /// <summary>VOC's 20 object classes in the official order (the order of the devkit and of every published table).</summary>
    public static IReadOnlyList<string> VocClassNames { get; } =
    [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];

    /// <summary>Reads one annotation file.</summary>
    /// <exception cref="DataFileException">The file is malformed, has no usable size, is not a VOC annotation, or has a
    /// box outside the image or of zero area; the message names the file and the element.</exception>
    public static VocAnnotation Read(string xmlPath)
    {
        var (annotation, problem) = TryRead(xmlPath);
        return annotation ?? throw problem!.ToException();
    }

    /// <summary>Reads one annotation file, or says why it cannot be used (exactly one of the two is non-null).</summary>
    public static (VocAnnotation? Annotation, BadDetectionFile? Problem) TryRead(string xmlPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(xmlPath);
        XDocument document;
        try
        {
            document = XDocument.Load(xmlPath, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            return Bad(xmlPath, BadDetectionFile.MalformedXml, $"line {e.LineNumber}, position {e.LinePosition}: {e.Message}");
        }

        XElement? root = document.Root;
        if (root is null || root.Name.LocalName != "annotation")
            return Bad(xmlPath, BadDetectionFile.UnknownStructure, $"the root element is <{root?.Name.LocalName}>, not <annotation>");

        XElement? size = root.Element("size");
        if (size is null) return Bad(xmlPath, BadDetectionFile.MissingSize, "no <size> element");
        if (ReadInteger(size, "width") is not int width || width <= 0)
            return Bad(xmlPath, BadDetectionFile.MissingSize, $"<size><width> {Describe(size.Element("width"))} is not a positive whole number");
        if (ReadInteger(size, "height") is not int height || height <= 0)
            return Bad(xmlPath, BadDetectionFile.MissingSize, $"<size><height> {Describe(size.Element("height"))} is not a positive whole number");

        var objects = new List<VocObject>();
        int clipped = 0;
        int number = 0;
        foreach (XElement element in root.Elements("object"))
        {
            number++;
            string where = $"<object> {number}{LineOf(element)}";
            string? name = element.Element("name")?.Value.Trim();
            if (string.IsNullOrEmpty(name)) return Bad(xmlPath, BadDetectionFile.UnknownStructure, $"{where} has no <name>");
            XElement? box = element.Element("bndbox");
            if (box is null) return Bad(xmlPath, BadDetectionFile.UnknownStructure, $"{where} ('{name}') has no <bndbox>");
            double[] corners = new double[4];
            string[] tags = ["xmin", "ymin", "xmax", "ymax"];
            for (int i = 0; i < 4; i++)
            {
                if (ReadNumber(box, tags[i]) is not double value)
                    return Bad(xmlPath, BadDetectionFile.UnknownStructure, $"{where} ('{name}'): <{tags[i]}> {Describe(box.Element(tags[i]))} is not a number");
                corners[i] = value;
            }
            var edges = new PixelBox(corners[0] - 1, corners[1] - 1, corners[2], corners[3]);
            string boxText = $"{where} ('{name}') xmin={corners[0]}, ymin={corners[1]}, xmax={corners[2]}, ymax={corners[3]}";
            if (edges.Width <= 0 || edges.Height <= 0)
                return Bad(xmlPath, BadDetectionFile.EmptyBox, boxText);
            double overrun = Math.Max(Math.Max(-edges.Left, -edges.Top), Math.Max(edges.Right - width, edges.Bottom - height));
            if (overrun > OverrunTolerance)
                return Bad(xmlPath, BadDetectionFile.BoxOutside, $"{boxText} in a {width}x{height} image");
            if (overrun > 0)
            {
                edges = new PixelBox(Math.Max(0, edges.Left), Math.Max(0, edges.Top), Math.Min(width, edges.Right), Math.Min(height, edges.Bottom));
                if (edges.Width <= 0 || edges.Height <= 0)
                    return Bad(xmlPath, BadDetectionFile.BoxOutside, $"{boxText} in a {width}x{height} image");
                clipped++;
            }
            objects.Add(new VocObject(name, edges, ReadFlag(element, "difficult")));
        }

        string? fileName = root.Element("filename")?.Value.Trim();
        return (new VocAnnotation(xmlPath, string.IsNullOrEmpty(fileName) ? null : fileName, width, height, objects, clipped), null);
    }

    /// <summary>
    /// A VOC annotation document for an image of <paramref name="width"/> x <paramref name="height"/>, with boxes given in
    /// edge coordinates and written back as VOC's inclusive 1-based indices (so they must lie on whole pixels).
    /// </summary>
    public static string ToXml(string folder, string fileName, int width, int height, IEnumerable<VocObject> objects)
    {
        var text = new StringBuilder();
        text.Append("<annotation>\n");
        text.Append(CultureInfo.InvariantCulture, $"\t<folder>{Escape(folder)}</folder>\n\t<filename>{Escape(fileName)}</filename>\n");
        text.Append(CultureInfo.InvariantCulture, $"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n\t</size>\n");
        text.Append("\t<segmented>0</segmented>\n");
        foreach (VocObject item in objects)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"\t<object>\n\t\t<name>{Escape(item.Name)}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n" +
                $"\t\t<difficult>{(item.Difficult ? 1 : 0)}</difficult>\n\t\t<bndbox>\n" +
                $"\t\t\t<xmin>{item.Box.Left + 1}</xmin>\n\t\t\t<ymin>{item.Box.Top + 1}</ymin>\n" +
                $"\t\t\t<xmax>{item.Box.Right}</xmax>\n\t\t\t<ymax>{item.Box.Bottom}</ymax>\n\t\t</bndbox>\n\t</object>\n");
        }
        text.Append("</annotation>\n");
        return text.ToString();
    }

    static (VocAnnotation?, BadDetectionFile?) Bad(string path, string reason, string detail) => (null, new BadDetectionFile(path, reason, detail));

    static int? ReadInteger(XElement parent, string name) =>
        // Some tools write sizes as "500.0": accept a whole number written as a decimal, nothing fractional.
        ReadNumber(parent, name) is double value && value == Math.Floor(value) && value < int.MaxValue ? (int)value : null;

    static double? ReadNumber(XElement parent, string name) =>
        double.TryParse(parent.Element(name)?.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value)
            ? value : null;

    // VOC writes 0/1; some tools write true/false. Absent means not difficult.
    static bool ReadFlag(XElement parent, string name) =>
        parent.Element(name)?.Value.Trim().ToLowerInvariant() is "1" or "true";

    static string Describe(XElement? element) => element is null ? "(absent)" : $"'{element.Value.Trim()}'{LineOf(element)}";

    static string LineOf(XElement element) =>
        element is IXmlLineInfo info && info.HasLineInfo() ? $" (line {info.LineNumber})" : "";

    static string Escape(string text) => SecurityElement.Escape(text);
}
