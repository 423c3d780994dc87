using Recipes.ImageSimilarity;
using Recipes.Runtime.Data;
using Recipes.Tests.Summaries;

namespace Recipes.Tests.ImageSimilarity;

public class ImageFeatureIndexTests
{
    // Four 2-d "features": A and B point right (class 0), C up and D left (class 1). Scaled on purpose:
    // the index normalises, so lengths must not matter.
    static ImageFeatureIndex FourImages() => new(
        [new("a.jpg", 0), new("b.jpg", 0), new("c.jpg", 1), new("d.jpg", 1)],
        [2f, 0f, 4f, 3f, 0f, 0.5f, -3f, 0f], dimension: 2, classNames: ["cat", "dog"], featureDescription: "test vectors");

    [Fact]
    public void Query_ranks_by_cosine_and_can_leave_the_query_out()
    {
        var index = FourImages();
        Assert.Equal(1.0, index.Features(1)[0] * index.Features(1)[0] + index.Features(1)[1] * index.Features(1)[1], 6);
        var top = index.Query([10f, 0f], k: 3);
        Assert.Equal(["a.jpg", "b.jpg", "c.jpg"], top.Select(r => r.Image.Path));
        Assert.Equal([1.0, 0.8, 0.0], top.Select(r => Math.Round(r.Cosine, 6)));
        Assert.Equal(["b.jpg", "c.jpg"], index.Query(index.Features(0), k: 2, exclude: 0).Select(r => r.Image.Path));
        Assert.Throws<ArgumentException>(() => index.Query([1f, 2f, 3f], k: 1));
    }

    [Fact]
    public void A_class_match_adds_one_to_the_score_as_in_the_seed()
    {
        var index = FourImages();
        int[] predicted = [0, 0, 1, 1];
        // Query points right but is predicted class 1: C (cosine 0, +1) beats B (0.8), and D (-1, +1) ties at 0.
        var top = index.Query([1f, 0f], k: 3, exclude: 0, queryClass: 1, candidateClasses: predicted);
        Assert.Equal(["c.jpg", "b.jpg", "d.jpg"], top.Select(r => r.Image.Path));
        Assert.Equal([1.0, 0.8, 0.0], top.Select(r => Math.Round(r.Score, 6)));
        Assert.Equal([0.0, 0.8, -1.0], top.Select(r => Math.Round(r.Cosine, 6)));
    }

    [Fact]
    public void Leave_one_out_precision_at_k_has_the_known_answer()
    {
        var index = FourImages();
        // Nearest other image: A->B right, B->A right, C->B wrong, D->C right.
        Assert.Equal(0.75, index.LeaveOneOutPrecision(1), 10);
        // Top 2: A {B, C} 1/2, B {A, C} 1/2, C {B, A}/{B, D} ties: B 0.6, then A and D at 0: A by index, 0/2; D {C, A or B}: C 0, B -0.8, A -1 -> {C, B} 1/2.
        Assert.Equal((0.5 + 0.5 + 0 + 0.5) / 4, index.LeaveOneOutPrecision(2), 10);
        // A perfect classifier's bonus makes every top-1 right.
        Assert.Equal(1.0, index.LeaveOneOutPrecision(1, predictedClasses: [0, 0, 1, 1]), 10);
    }

    [Fact]
    public void Save_and_load_round_trip_exactly()
    {
        using var folder = new TemporaryFolder();
        var index = new ImageFeatureIndex([new("ü/ñ.jpg", 3), new("plain.png")], [0.1f, 0.2f, 0.3f, -1f, 5f, 1e-8f], 3, ["x", "y", "z", "w"], "ResNet-18 ONNX");
        string path = folder.File("index.bin");
        index.Save(path);
        var loaded = ImageFeatureIndex.Load(path);
        Assert.Equal(index.Images, loaded.Images);
        Assert.Equal(index.ClassNames, loaded.ClassNames);
        Assert.Equal("ResNet-18 ONNX", loaded.FeatureDescription);
        for (int i = 0; i < index.Count; i++) Assert.Equal(index.Features(i).ToArray(), loaded.Features(i).ToArray());
    }

    [Fact]
    public void Bad_index_files_fail_naming_the_file_and_the_problem()
    {
        using var folder = new TemporaryFolder();
        string good = folder.File("good.bin");
        FourImages().Save(good);
        byte[] bytes = File.ReadAllBytes(good);

        string wrongMagic = folder.File("magic.bin");
        File.WriteAllBytes(wrongMagic, [.. "NOTINDEX"u8, .. bytes.AsSpan(8)]);
        Assert.Equal($"{wrongMagic}: not an image index (it does not start with RIMGIDX1)", Assert.Throws<DataFileException>(() => ImageFeatureIndex.Load(wrongMagic)).Message);

        string truncated = folder.File("truncated.bin");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 3).ToArray());
        Assert.Equal($"{truncated}: truncated: the file ends inside an entry", Assert.Throws<DataFileException>(() => ImageFeatureIndex.Load(truncated)).Message);

        string trailing = folder.File("trailing.bin");
        File.WriteAllBytes(trailing, [.. bytes, 1, 2]);
        Assert.Contains("2 unexpected bytes", Assert.Throws<DataFileException>(() => ImageFeatureIndex.Load(trailing)).Message);

        string huge = folder.File("huge.bin");
        var header = bytes.ToArray();
        BitConverter.GetBytes(int.MaxValue).CopyTo(header, 8);
        File.WriteAllBytes(huge, header);
        Assert.Contains("more than the file holds", Assert.Throws<DataFileException>(() => ImageFeatureIndex.Load(huge)).Message);
    }
}
