using System.Globalization;
using System.Text.RegularExpressions;
using Recipes.Runtime.Data;
using Recipes.Xray;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.Xray;

/// <summary>The xray recipe's offline data: phantom radiographs with known findings in the NIH ChestX-ray14 layout.
/// Most tests share one generated set of 600 films (<see cref="GeneratedSet"/>).</summary>
public sealed partial class PhantomRadiographsTests : IClassFixture<PhantomRadiographsTests.GeneratedSet>
{
    const int Seed = 11;
    const int Count = 600;
    const int Margin = 16;   // resize 256 then centre crop 224 cuts 16 pixels from every side

    public sealed class GeneratedSet : IDisposable
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("xray-phantoms-").FullName;
        public IReadOnlyList<PhantomImage> Images { get; }
        public List<int> ProgressReports { get; } = [];

        public GeneratedSet()
        {
            var progress = new SynchronousProgress(ProgressReports);
            Images = PhantomRadiographs.Generate(Folder, Count, Seed, progress: progress);
        }

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }

    /// <summary>Records reports on the reporting thread (Progress&lt;T&gt; would post them later to the thread pool).</summary>
    sealed class SynchronousProgress(List<int> reports) : IProgress<int>
    {
        public void Report(int value)
        {
            lock (reports) reports.Add(value);
        }
    }

    readonly GeneratedSet _set;

    public PhantomRadiographsTests(GeneratedSet set) => _set = set;

    [GeneratedRegex(@"^(\d{8})_(\d{3})\.png$")]
    private static partial Regex NihImageName();

    static byte[] Pixels(string path)
    {
        using var image = Image.Load<L8>(path);
        var pixels = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    [Fact]
    public void The_same_seed_writes_the_same_bytes_and_another_seed_other_bytes()
    {
        string first = Directory.CreateTempSubdirectory("xray-phantoms-a-").FullName;
        string second = Directory.CreateTempSubdirectory("xray-phantoms-b-").FullName;
        string other = Directory.CreateTempSubdirectory("xray-phantoms-c-").FullName;
        try
        {
            var images = PhantomRadiographs.Generate(first, 12, seed: 5);
            PhantomRadiographs.Generate(second, 12, seed: 5);
            var otherImages = PhantomRadiographs.Generate(other, 12, seed: 6);
            for (int i = 0; i < 5; i++)
            {
                string name = Path.Combine(PhantomRadiographs.ImagesFolderName, images[i].ImageIndex);
                Assert.Equal(File.ReadAllBytes(Path.Combine(first, name)), File.ReadAllBytes(Path.Combine(second, name)));
                string otherName = Path.Combine(PhantomRadiographs.ImagesFolderName, otherImages[i].ImageIndex);
                Assert.NotEqual(Pixels(Path.Combine(first, name)), Pixels(Path.Combine(other, otherName)));
            }
            foreach (string file in new[] { PhantomRadiographs.LabelsFileName, PhantomRadiographs.LesionsFileName })
                Assert.Equal(File.ReadAllText(Path.Combine(first, file)), File.ReadAllText(Path.Combine(second, file)));
            // The first 12 films of a larger set are the same films: each depends only on its seed, patient and follow-up.
            var prefix = _set.Images.Take(3).Select(i => i.ImageIndex).ToArray();
            var small = PhantomRadiographs.Generate(other, 3, Seed);
            foreach (string name in prefix)
                Assert.Equal(File.ReadAllBytes(Path.Combine(_set.Folder, "images", name)), File.ReadAllBytes(Path.Combine(other, "images", name)));
            Assert.Equal(prefix, small.Select(i => i.ImageIndex));
        }
        finally
        {
            foreach (string folder in new[] { first, second, other }) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_labels_csv_reads_in_the_nih_layout_and_names_every_written_png()
    {
        string[] lines = File.ReadAllLines(Path.Combine(_set.Folder, PhantomRadiographs.LabelsFileName));
        Assert.Equal("Image Index,Finding Labels,Follow-up #,Patient ID", lines[0]);
        Assert.Equal(Count, lines.Length - 1);
        for (int row = 1; row < lines.Length; row++)
        {
            string[] fields = lines[row].Split(',');
            Assert.Equal(4, fields.Length);
            var image = _set.Images[row - 1];
            Assert.Equal(image.ImageIndex, fields[0]);
            var name = NihImageName().Match(fields[0]);
            Assert.True(name.Success, $"row {row}: '{fields[0]}' is not named like an NIH image");
            Assert.Equal(image.Labels, ChestXrayFindings.Parse(fields[1]));
            Assert.Equal(int.Parse(name.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture));
            Assert.Equal(int.Parse(name.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture));
            Assert.Equal(fields[3], image.PatientId);
        }
        var written = Directory.GetFiles(Path.Combine(_set.Folder, PhantomRadiographs.ImagesFolderName)).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(_set.Images.Select(i => i.ImageIndex).Order().ToArray(), written);
        using var png = Image.Load(Path.Combine(_set.Folder, "images", _set.Images[0].ImageIndex));
        Assert.Equal((PhantomRadiographs.DefaultSize, PhantomRadiographs.DefaultSize), (png.Width, png.Height));
        Assert.Equal(8, png.PixelType.BitsPerPixel);   // 8-bit grey, as NIH's
        Assert.Equal(Count, _set.ProgressReports.Max());
        Assert.Equal(Count, _set.ProgressReports.Distinct().Count());
    }

    [Fact]
    public void About_30_percent_have_no_finding_and_each_finding_appears_in_about_10_percent()
    {
        double none = _set.Images.Count(i => i.Labels.All(l => l == 0)) / (double)Count;
        Assert.InRange(none, 0.22, 0.38);
        for (int finding = 0; finding < ChestXrayFindings.Count; finding++)
        {
            double prevalence = _set.Images.Count(i => i.Labels[finding] == 1) / (double)Count;
            Assert.True(prevalence is >= 0.07 and <= 0.16, $"{ChestXrayFindings.Names[finding]}: prevalence {prevalence:F3}");
        }
        Assert.Contains(_set.Images, i => i.Labels.Sum() >= 3);   // several findings in one film
    }

    [Fact]
    public void Every_positive_label_has_a_lesion_box_and_every_box_a_positive_label()
    {
        foreach (var image in _set.Images)
        {
            var boxed = image.Lesions.Select(l => l.Finding).Distinct().Order().ToArray();
            var positive = ChestXrayFindings.Names.Where((_, i) => image.Labels[i] == 1).Order().ToArray();
            Assert.Equal(positive, boxed);
        }
        // The JSON file says the same.
        var read = PhantomRadiographs.ReadLesions(_set.Folder);
        Assert.Equal(Count, read.Count);
        foreach (var image in _set.Images) Assert.Equal(image.Lesions, read[image.ImageIndex]);
    }

    [Fact]
    public void Boxes_lie_inside_the_image_clear_of_the_outer_16_pixels_and_fit_their_finding()
    {
        int size = PhantomRadiographs.DefaultSize;
        foreach (var lesion in _set.Images.SelectMany(i => i.Lesions.Select(l => (i.ImageIndex, Lesion: l))))
        {
            var (name, l) = lesion;
            Assert.True(l.Left >= Margin && l.Top >= Margin && l.Right <= size - Margin && l.Bottom <= size - Margin, $"{name}: {l} reaches the outer {Margin} pixels");
            Assert.True(l.Right > l.Left && l.Bottom > l.Top, $"{name}: {l} is empty");
        }
        // Tight enough for "the class-activation peak lies inside the lesion" to mean something: a nodule's box is a
        // small fraction of the film, a mass's larger, and a box of one lung is well under half of it.
        var area = (PhantomLesion l) => (l.Right - l.Left) * (l.Bottom - l.Top) / (double)(size * size);
        var boxes = _set.Images.SelectMany(i => i.Lesions).ToLookup(l => l.Finding);
        Assert.All(boxes["Nodule"], l => Assert.InRange(area(l), 0.0005, 0.01));
        Assert.All(boxes["Mass"], l => Assert.InRange(area(l), 0.008, 0.05));
        Assert.All(_set.Images.SelectMany(i => i.Lesions), l => Assert.True(area(l) < 0.3, $"{l} covers {area(l):P0} of the film"));
    }

    /// <summary>The same film painted without one of its findings: everything else (anatomy, pose, grain) stays.</summary>
    static byte[] PaintWithout(PhantomRadiographs.PlannedFilm planned, int finding)
    {
        var labels = (float[])planned.Labels.Clone();
        labels[finding] = 0;
        var (pixels, _) = PhantomRadiographs.Paint(new PhantomFilm(PhantomRadiographs.DefaultSize), Seed, planned with { Labels = labels });
        return pixels;
    }

    static double MeanInside(byte[] pixels, PhantomLesion box)
    {
        double sum = 0;
        for (int y = box.Top; y < box.Bottom; y++)
            for (int x = box.Left; x < box.Right; x++)
                sum += pixels[y * PhantomRadiographs.DefaultSize + x];
        return sum / ((box.Right - box.Left) * (box.Bottom - box.Top));
    }

    [Theory]
    [InlineData("Cardiomegaly", 1)]
    [InlineData("Effusion", 1)]
    [InlineData("Nodule", 1)]
    [InlineData("Mass", 1)]
    [InlineData("Consolidation", 1)]
    [InlineData("Pneumothorax", -1)]
    public void A_finding_changes_the_pixels_in_its_box_against_the_same_film_without_it(string findingName, int brighter)
    {
        int finding = ChestXrayFindings.IndexOf(findingName);
        var plan = PhantomRadiographs.PlanFilms(Count, Seed);
        var withFinding = _set.Images.Select((image, index) => (image, index)).Where(p => p.image.Labels[finding] == 1).Take(6).ToList();
        Assert.NotEmpty(withFinding);
        foreach (var (image, index) in withFinding)
        {
            byte[] painted = Pixels(Path.Combine(_set.Folder, "images", image.ImageIndex));
            byte[] without = PaintWithout(plan[index], finding);
            foreach (var box in image.Lesions.Where(l => l.Finding == findingName))
            {
                double change = brighter * (MeanInside(painted, box) - MeanInside(without, box));
                Assert.True(change > 8, $"{image.ImageIndex} {box}: {findingName} changes the box by {change:F1} grey levels");
            }
        }
    }

    [Fact]
    public void Every_finding_is_visible_in_its_box()
    {
        var plan = PhantomRadiographs.PlanFilms(Count, Seed);
        for (int finding = 0; finding < ChestXrayFindings.Count; finding++)
        {
            string name = ChestXrayFindings.Names[finding];
            var (image, index) = _set.Images.Select((image, index) => (image, index)).First(p => p.image.Labels[finding] == 1);
            byte[] painted = Pixels(Path.Combine(_set.Folder, "images", image.ImageIndex));
            byte[] without = PaintWithout(plan[index], finding);
            foreach (var box in image.Lesions.Where(l => l.Finding == name))
            {
                double difference = 0;
                for (int y = box.Top; y < box.Bottom; y++)
                    for (int x = box.Left; x < box.Right; x++)
                        difference += Math.Abs(painted[y * PhantomRadiographs.DefaultSize + x] - without[y * PhantomRadiographs.DefaultSize + x]);
                difference /= (box.Right - box.Left) * (box.Bottom - box.Top);
                Assert.True(difference > 4, $"{image.ImageIndex} {box}: {name} changes its box by {difference:F1} grey levels on average");
            }
        }
    }

    [Fact]
    public void Some_patients_have_follow_up_films_numbered_from_zero()
    {
        var patients = _set.Images.GroupBy(i => i.PatientId).ToList();
        int withFollowUps = patients.Count(p => p.Count() > 1);
        Assert.InRange(withFollowUps / (double)patients.Count, 0.15, 0.45);
        Assert.Contains(patients, p => p.Count() == 3);
        foreach (var patient in patients)
        {
            var followUps = patient.Select(i => int.Parse(NihImageName().Match(i.ImageIndex).Groups[2].Value, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(Enumerable.Range(0, followUps.Length), followUps);
        }
        // Follow-ups show the same chest: closer to each other than to another patient's film.
        var pair = patients.First(p => p.Count() > 1).Take(2).ToArray();
        var stranger = _set.Images.First(i => i.PatientId != pair[0].PatientId && i.Labels.SequenceEqual(pair[0].Labels));
        byte[] a = Pixels(Path.Combine(_set.Folder, "images", pair[0].ImageIndex));
        byte[] b = Pixels(Path.Combine(_set.Folder, "images", pair[1].ImageIndex));
        byte[] c = Pixels(Path.Combine(_set.Folder, "images", stranger.ImageIndex));
        static double Distance(byte[] x, byte[] y) => x.Zip(y, (p, q) => Math.Abs(p - q)).Average();
        Assert.True(Distance(a, b) < Distance(a, c), $"follow-up {Distance(a, b):F1} vs stranger {Distance(a, c):F1}");
    }

    [Fact]
    public void A_malformed_lesions_file_is_an_error_naming_the_file_and_the_entry()
    {
        string folder = Directory.CreateTempSubdirectory("xray-lesions-").FullName;
        try
        {
            string path = Path.Combine(folder, PhantomRadiographs.LesionsFileName);
            File.WriteAllText(path, "{\"00000001_000.png\": [{\"finding\": \"Nodule\", \"left\": 40, \"top\": 50, \"right\": 52, \"bottom\": 61}],\n \"00000002_000.png\": []}");
            var read = PhantomRadiographs.ReadLesions(folder);
            Assert.Equal([new PhantomLesion("Nodule", 40, 50, 52, 61)], read["00000001_000.png"]);
            Assert.Empty(read["00000002_000.png"]);

            File.WriteAllText(path, "{\"00000001_000.png\": [{\"finding\": \"Tumour\", \"left\": 1, \"top\": 1, \"right\": 2, \"bottom\": 2}]}");
            var unknown = Assert.Throws<DataFileException>(() => PhantomRadiographs.ReadLesions(folder));
            Assert.Contains(path, unknown.Message);
            Assert.Contains("00000001_000.png lesion 1: unknown finding 'Tumour'", unknown.Message);

            File.WriteAllText(path, "{\"00000001_000.png\": [{\"finding\": \"Mass\", \"left\": 9, \"top\": 1, \"right\": 2, \"bottom\": 2}]}");
            Assert.Contains("empty box", Assert.Throws<DataFileException>(() => PhantomRadiographs.ReadLesions(folder)).Message);

            File.WriteAllText(path, "{\n\"00000001_000.png\": [\n{\"finding\": ");
            var truncated = Assert.Throws<DataFileException>(() => PhantomRadiographs.ReadLesions(folder));
            Assert.Contains("line 3", truncated.Message);

            File.Delete(path);
            Assert.Contains("no such lesions file", Assert.Throws<DataFileException>(() => PhantomRadiographs.ReadLesions(folder)).Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Nonsense_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PhantomRadiographs.Generate(_set.Folder, 0, Seed));
        Assert.Throws<ArgumentOutOfRangeException>(() => PhantomRadiographs.Generate(_set.Folder, 1, Seed, size: 16));
    }
}
