using System.Globalization;
using System.Text;
using System.Text.Json;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Xray;

/// <summary>Where a finding was drawn, in pixels of the written image (Left/Top inclusive, Right/Bottom exclusive).</summary>
public sealed record PhantomLesion(string Finding, int Left, int Top, int Right, int Bottom);

/// <summary>One generated film: its NIH-style name, its patient (the CSV's Patient ID, written as NIH writes it:
/// "17" for the films 00000017_*.png), multi-hot labels (in <see cref="ChestXrayFindings"/> order) and where each
/// finding was drawn. A bilateral finding (Edema, Emphysema, Fibrosis, sometimes Infiltration) has one box per lung.</summary>
public sealed record PhantomImage(string ImageIndex, string PatientId, float[] Labels, IReadOnlyList<PhantomLesion> Lesions);

/// <summary>
/// The xray recipe's offline data: phantom chest radiographs with known findings, written in the layout of NIH
/// ChestX-ray14 (PNG images named PPPPPPPP_FFF.png, a Data_Entry_2017-style labels CSV) so the recipe's reader
/// reads them like the real release, plus where each finding was drawn (for checking class-activation maps).
/// <para>
/// Each film is painted as X-ray attenuation and developed with a film's saturating response: body outline and
/// soft tissue, two dark lungs with branching vessel markings, spine, trachea and mediastinum, the heart shadow,
/// curved ribs, clavicles and diaphragm domes; anatomy varies by patient (size, proportions, heart, domes) and
/// by film (a few degrees of rotation, shift, exposure, grain). Findings look like what they are on a chest film
/// and differ from one another in place, shape and texture (see <see cref="PhantomFinding"/>). About 30% of films
/// have no finding; each finding appears in roughly 10% of films, up to four in one film. About 30% of patients
/// have two or three follow-up films with correlated findings, so splitting by image would leak patients.
/// </para>
/// </summary>
public static class PhantomRadiographs
{
    public const int DefaultSize = 256;
    /// <summary>NIH's 4-column layout: Image Index, Finding Labels, Follow-up #, Patient ID.</summary>
    public const string LabelsFileName = "Data_Entry_2017_phantoms.csv";
    /// <summary>A JSON object: image name -> list of {finding, left, top, right, bottom} (empty for "No Finding").</summary>
    public const string LesionsFileName = "phantom_lesions.json";
    public const string ImagesFolderName = "images";

    /// <summary>The smallest film: below this the anatomy has too few pixels to be drawn.</summary>
    public const int MinimumSize = 64;

    /// <summary>Lesions are kept this far (in 256ths of the film) from every edge: resize 256 and centre crop 224 keep them.</summary>
    const double EdgeMargin = 16;

    /// <summary>
    /// Writes <paramref name="count"/> 8-bit greyscale PNGs of <paramref name="size"/> x <paramref name="size"/> into
    /// <paramref name="folder"/>/images/, then the labels CSV and the lesions JSON into <paramref name="folder"/>; every
    /// file atomically, the CSV last (a reader that finds it finds every image it names). Films are painted in
    /// parallel, each from its own seeded generators, so the bytes depend only on (count, seed, size) (on one platform:
    /// the maths library's last bit may differ on another).
    /// <paramref name="progress"/> receives the number of films written so far. Returns the films in CSV order.
    /// </summary>
    public static IReadOnlyList<PhantomImage> Generate(string folder, int count, int seed, int size = DefaultSize, IProgress<int>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, MinimumSize);
        string images = Path.Combine(folder, ImagesFolderName);
        Directory.CreateDirectory(images);
        var plan = PlanFilms(count, seed);
        var results = new PhantomImage[count];
        int written = 0;
        // Paeth filtering at the fastest deflate level: within 3% of the default's size in a quarter of the time.
        var encoder = new PngEncoder
        {
            ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8,
            FilterMethod = PngFilterMethod.Paeth, CompressionLevel = PngCompressionLevel.Level1,
        };
        Parallel.For(0, count, () => new PhantomFilm(size), (index, _, film) =>
        {
            var planned = plan[index];
            var (pixels, lesions) = Paint(film, seed, planned);
            using (var image = Image.LoadPixelData<L8>(pixels, size, size))
                AtomicFile.WriteByRename(Path.Combine(images, planned.ImageIndex), stream => image.SaveAsPng(stream, encoder));
            results[index] = new PhantomImage(planned.ImageIndex, planned.PatientId.ToString(CultureInfo.InvariantCulture), planned.Labels, lesions);
            progress?.Report(Interlocked.Increment(ref written));
            return film;
        }, _ => { });
        AtomicFile.WriteAllText(Path.Combine(folder, LesionsFileName), LesionsJson(results));
        AtomicFile.WriteAllText(Path.Combine(folder, LabelsFileName), LabelsCsv(plan));
        return results;
    }

    /// <summary>Reads the lesions JSON written by <see cref="Generate"/>: image name -> boxes. A malformed file is a
    /// <see cref="DataFileException"/> naming the file and the entry (or line) at fault.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<PhantomLesion>> ReadLesions(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string path = Path.Combine(folder, LesionsFileName);
        if (!File.Exists(path)) throw new DataFileException(path, "no such lesions file");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException error)
        {
            throw new DataFileException(path, $"line {error.LineNumber + 1}: not valid JSON: {error.Message}", error);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFileException(path, "expected a JSON object of image name -> list of lesions");
            var lesions = new Dictionary<string, IReadOnlyList<PhantomLesion>>(StringComparer.Ordinal);
            foreach (var image in document.RootElement.EnumerateObject())
            {
                if (image.Value.ValueKind != JsonValueKind.Array)
                    throw new DataFileException(path, $"{image.Name}: expected a list of lesions");
                var boxes = new List<PhantomLesion>();
                int position = 0;
                foreach (var entry in image.Value.EnumerateArray())
                    boxes.Add(ReadLesion(path, $"{image.Name} lesion {++position}", entry));
                if (!lesions.TryAdd(image.Name, boxes)) throw new DataFileException(path, $"{image.Name} appears twice");
            }
            return lesions;
        }
    }

    static PhantomLesion ReadLesion(string path, string where, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object) throw new DataFileException(path, $"{where}: expected an object");
        string finding = entry.TryGetProperty("finding", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : "";
        if (ChestXrayFindings.IndexOf(finding) < 0)
            throw new DataFileException(path, $"{where}: unknown finding '{finding}' (known: {string.Join(", ", ChestXrayFindings.Names)})");
        int Coordinate(string key) =>
            entry.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number) && number >= 0
                ? number : throw new DataFileException(path, $"{where}: '{key}' must be a non-negative whole number of pixels");
        var lesion = new PhantomLesion(finding, Coordinate("left"), Coordinate("top"), Coordinate("right"), Coordinate("bottom"));
        if (lesion.Right <= lesion.Left || lesion.Bottom <= lesion.Top)
            throw new DataFileException(path, $"{where}: empty box {lesion.Left},{lesion.Top} to {lesion.Right},{lesion.Bottom}");
        return lesion;
    }

    // ------------------------------------------------------------------ planning: patients, follow-ups, labels

    internal sealed record PlannedFilm(int PatientId, int FollowUp, float[] Labels)
    {
        public string ImageIndex => $"{PatientId:D8}_{FollowUp:D3}.png";
    }

    /// <summary>Patients in order, each with one film (70%), two (18%) or three (12%); labels drawn sequentially
    /// from <paramref name="seed"/> (cheap), pixels later in parallel.</summary>
    internal static List<PlannedFilm> PlanFilms(int count, int seed)
    {
        var random = new Random(seed);
        var films = new List<PlannedFilm>(count);
        for (int patient = 1; films.Count < count; patient++)
        {
            double draw = random.NextDouble();
            int followUps = Math.Min(draw < 0.7 ? 1 : draw < 0.88 ? 2 : 3, count - films.Count);
            float[] labels = DrawLabels(random);
            for (int followUp = 0; followUp < followUps; followUp++)
            {
                if (followUp > 0) labels = FollowUpLabels(labels, random);
                films.Add(new PlannedFilm(patient, followUp, labels));
            }
        }
        return films;
    }

    /// <summary>30% no finding; otherwise one to four distinct findings (mean 2.1): each finding in about 10% of films.</summary>
    static float[] DrawLabels(Random random)
    {
        var labels = new float[ChestXrayFindings.Count];
        if (random.NextDouble() < 0.3) return labels;
        double draw = random.NextDouble();
        int findings = draw < 0.35 ? 1 : draw < 0.65 ? 2 : draw < 0.87 ? 3 : 4;
        int[] order = Enumerable.Range(0, ChestXrayFindings.Count).ToArray();
        random.Shuffle(order);
        foreach (int finding in order.Take(findings)) labels[finding] = 1;
        return labels;
    }

    /// <summary>A later film of the same patient: most findings persist (in the same place), some resolve, a new one may appear.</summary>
    static float[] FollowUpLabels(float[] previous, Random random)
    {
        var labels = new float[previous.Length];
        for (int i = 0; i < labels.Length; i++)
            if (previous[i] > 0 && random.NextDouble() < 0.7) labels[i] = 1;
        if (random.NextDouble() < 0.35) labels[random.Next(labels.Length)] = 1;
        return labels;
    }

    // ------------------------------------------------------------------ painting one film

    /// <summary>
    /// Paints a planned film: the patient's anatomy (seeded by seed and patient, so follow-ups show the same chest),
    /// the findings (each seeded by seed, patient and finding, so a persisting finding stays in place), the film's
    /// own pose and exposure (seeded by the film). Returns 8-bit pixels and the lesions in output pixels.
    /// </summary>
    internal static (byte[] Pixels, IReadOnlyList<PhantomLesion> Lesions) Paint(PhantomFilm film, int seed, PlannedFilm planned)
    {
        int patientSeed = SplitMix.Mix(seed, planned.PatientId, -1);
        int filmSeed = SplitMix.Mix(seed, planned.PatientId, planned.FollowUp);
        var anatomy = PhantomAnatomy.Create(new Random(patientSeed));
        var findings = new List<PhantomFinding>();
        for (int i = 0; i < ChestXrayFindings.Count; i++)
            if (planned.Labels[i] >= 0.5f) findings.Add(PhantomFinding.Create(i, new Random(SplitMix.Mix(patientSeed, 100 + i))));
        foreach (var finding in findings) finding.ChangeAnatomy(anatomy);

        film.Reset(anatomy);
        film.PaintAnatomy(new Random(SplitMix.Mix(patientSeed, 1)));
        foreach (var finding in findings) finding.Paint(film);

        var filmRandom = new Random(filmSeed);
        var exposure = PhantomExposure.Create(filmRandom);
        // A turned or shifted patient must not push a lesion into the border a centre crop removes: try a few
        // poses, then stand the patient straight (the anatomy itself keeps its lungs inside the margin).
        var pose = PhantomPose.Identity;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            var candidate = PhantomPose.Create(filmRandom);
            if (film.Lesions.All(lesion => InsideMargin(candidate.Forward(lesion.Box)))) { pose = candidate; break; }
        }
        byte[] pixels = film.Develop(pose, exposure, (ulong)filmSeed);
        var lesions = film.Lesions.Select(lesion => ToPixels(lesion.Finding, pose.Forward(lesion.Box), film)).ToList();
        return (pixels, lesions);
    }

    static bool InsideMargin(UnitBox box) =>
        box.Left >= EdgeMargin && box.Top >= EdgeMargin && box.Right <= PhantomAnatomy.FrameUnits - EdgeMargin && box.Bottom <= PhantomAnatomy.FrameUnits - EdgeMargin;

    static PhantomLesion ToPixels(string finding, UnitBox box, PhantomFilm film)
    {
        // Every pixel the box touches is inside it.
        int Edge(double units, bool start)
        {
            double pixels = Math.Clamp(units * film.PixelsPerUnit, 0, film.Size);
            return start ? (int)Math.Floor(pixels + 1e-9) : (int)Math.Ceiling(pixels - 1e-9);
        }
        return new PhantomLesion(finding, Edge(box.Left, true), Edge(box.Top, true), Edge(box.Right, false), Edge(box.Bottom, false));
    }

    // ------------------------------------------------------------------ files

    static string LabelsCsv(IReadOnlyList<PlannedFilm> films)
    {
        var csv = new StringBuilder("Image Index,Finding Labels,Follow-up #,Patient ID\n");
        foreach (var film in films)
            csv.Append(CultureInfo.InvariantCulture, $"{film.ImageIndex},{ChestXrayFindings.Format(film.Labels)},{film.FollowUp},{film.PatientId}\n");
        return csv.ToString();
    }

    static string LesionsJson(IReadOnlyList<PhantomImage> images)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            foreach (var image in images)
            {
                json.WriteStartArray(image.ImageIndex);
                foreach (var lesion in image.Lesions)
                {
                    json.WriteStartObject();
                    json.WriteString("finding", lesion.Finding);
                    json.WriteNumber("left", lesion.Left);
                    json.WriteNumber("top", lesion.Top);
                    json.WriteNumber("right", lesion.Right);
                    json.WriteNumber("bottom", lesion.Bottom);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
