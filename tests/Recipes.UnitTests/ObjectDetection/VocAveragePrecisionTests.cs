using Recipes.ObjectDetection;
using Recipes.Runtime.Vision;

namespace Recipes.Tests.ObjectDetection;

public class VocAveragePrecisionTests
{
    // Every expected AP below is a small rational computed by hand; 1e-12 only absorbs the rounding of the sums.
    const double Tolerance = 1e-12;

    /// <summary>A box given as VOC's inclusive 1-based pixel coordinates, converted to edges.</summary>
    static PixelBox Inclusive(double xmin, double ymin, double xmax, double ymax) => new(xmin - 1, ymin - 1, xmax, ymax);

    static PixelBox Edges(double left, double top, double right, double bottom) => new(left, top, right, bottom);

    static AnnotatedObject Truth(int classIndex, PixelBox box, bool difficult = false) => new(classIndex, box, difficult);

    static Detection Found(int classIndex, float score, PixelBox box) => new(classIndex, score, box);

    static ImageDetections Image(string id, AnnotatedObject[] truth, params Detection[] detections) => new(id, truth, detections);

    [Fact]
    public void Edge_IoU_equals_the_devkit_inclusive_overlap_of_25_over_175()
    {
        // The devkit: iw = min(10,15) - max(1,6) + 1 = 5, ih = 5, union = 10*10 + 10*10 - 25 = 175.
        double iou = VocAveragePrecision.IntersectionOverUnion(Inclusive(1, 1, 10, 10), Inclusive(6, 6, 15, 15));
        Assert.Equal(25.0 / 175.0, iou);
        Assert.Equal(1.0, VocAveragePrecision.IntersectionOverUnion(Inclusive(3, 4, 3, 4), Inclusive(3, 4, 3, 4)));
        // Neighbouring pixels share an edge but no area.
        Assert.Equal(0.0, VocAveragePrecision.IntersectionOverUnion(Inclusive(1, 1, 5, 5), Inclusive(6, 1, 10, 5)));
    }

    // Class 0 "cat": image a holds A, B and the difficult D; image b holds C. Three non-difficult objects.
    static readonly PixelBox A = Edges(0, 0, 10, 10), B = Edges(20, 0, 30, 10), C = Edges(0, 0, 10, 10), D = Edges(40, 0, 50, 10);
    static readonly PixelBox Nowhere = Edges(100, 100, 110, 110);

    // Ranked: 0.9 A (TP), 0.8 A again (duplicate: FP), 0.7 D (difficult: ignored), 0.6 nothing (FP), 0.5 B (TP),
    // 0.4 C (TP). Given out of order, across two images.
    static ImageDetections[] CatImages() =>
    [
        Image("a", [Truth(0, A), Truth(0, B), Truth(0, D, difficult: true)],
            Found(0, 0.6f, Nowhere), Found(0, 0.8f, A), Found(0, 0.5f, B), Found(0, 0.9f, A), Found(0, 0.7f, D)),
        Image("b", [Truth(0, C)], Found(0, 0.4f, C)),
    ];

    [Fact]
    public void One_class_with_a_duplicate_a_difficult_hit_and_a_miss_gives_the_hand_computed_curve_and_all_point_AP()
    {
        var result = VocAveragePrecision.Evaluate(["cat"], CatImages());
        var cat = Assert.Single(result.PerClass);
        Assert.Equal(("cat", 3, 6, 3, 2), (cat.ClassName, cat.GroundTruthCount, cat.DetectionCount, cat.TruePositives, cat.FalsePositives));
        // One point per TP or FP: the difficult hit adds none.
        Assert.Equal([1 / 3.0, 1 / 3.0, 1 / 3.0, 2 / 3.0, 1], cat.Recall);
        Assert.Equal([1, 1 / 2.0, 1 / 3.0, 2 / 4.0, 3 / 5.0], cat.Precision);
        // Precision made non-increasing from the right: 1, .6, .6, .6, .6; recall steps of 1/3 at 1, .6 and .6.
        Assert.Equal(1 / 3.0 + 0.2 + 0.2, cat.AveragePrecision!.Value, Tolerance);
        Assert.Equal(cat.AveragePrecision.Value, result.MeanAveragePrecision, Tolerance);
        Assert.Equal((ApInterpolation.AllPoints, 0.5), (result.Interpolation, result.IouThreshold));
    }

    [Fact]
    public void The_same_class_with_eleven_point_interpolation()
    {
        var result = VocAveragePrecision.Evaluate(["cat"], CatImages(), ApInterpolation.ElevenPoint);
        // Levels 0..0.3 reach precision 1 (recall 1/3), levels 0.4..1 reach 0.6 (at recall 1): (4 + 7 * 0.6) / 11.
        Assert.Equal((4 + 7 * 0.6) / 11, result.PerClass[0].AveragePrecision!.Value, Tolerance);
        Assert.Equal(ApInterpolation.ElevenPoint, result.Interpolation);
    }

    [Fact]
    public void A_class_without_ground_truth_has_no_AP_and_a_class_without_detections_has_AP_zero_both_in_the_table_but_only_one_in_the_mean()
    {
        var images = CatImages().ToList();
        // "dog" (1) is detected but never annotated; "bird" (2) is annotated but never detected. A dog detection on
        // a cat's box must not match the cat.
        images.Add(Image("c", [Truth(2, A)], Found(1, 0.95f, A)));
        images[1] = images[1] with { Detections = [.. images[1].Detections, Found(1, 0.3f, C)] };

        var result = VocAveragePrecision.Evaluate(["cat", "dog", "bird"], images);
        var (cat, dog, bird) = (result.PerClass[0], result.PerClass[1], result.PerClass[2]);
        Assert.Equal(11 / 15.0, cat.AveragePrecision!.Value, Tolerance);
        Assert.Null(dog.AveragePrecision);
        Assert.Equal((0, 2, 0, 2), (dog.GroundTruthCount, dog.DetectionCount, dog.TruePositives, dog.FalsePositives));
        Assert.Empty(dog.Recall);
        Assert.Equal(0.0, bird.AveragePrecision);
        Assert.Equal((1, 0), (bird.GroundTruthCount, bird.DetectionCount));
        Assert.Equal((11 / 15.0 + 0) / 2, result.MeanAveragePrecision, Tolerance);
    }

    [Fact]
    public void Without_any_ground_truth_the_mean_is_NaN()
    {
        var result = VocAveragePrecision.Evaluate(["dog"], [Image("a", [], Found(0, 0.5f, A))]);
        Assert.Null(result.PerClass[0].AveragePrecision);
        Assert.True(double.IsNaN(result.MeanAveragePrecision));
    }

    [Fact]
    public void Equal_confidences_keep_their_input_order_within_and_across_images()
    {
        // One object; a miss and a hit of equal score. Miss first: FP then TP, precision 1/2 at recall 1.
        var missFirst = VocAveragePrecision.Evaluate(["cat"], [Image("a", [Truth(0, A)], Found(0, 0.5f, Nowhere), Found(0, 0.5f, A))]);
        Assert.Equal([0, 1.0], missFirst.PerClass[0].Recall);
        Assert.Equal(0.5, missFirst.PerClass[0].AveragePrecision!.Value, Tolerance);
        var hitFirst = VocAveragePrecision.Evaluate(["cat"], [Image("a", [Truth(0, A)], Found(0, 0.5f, A), Found(0, 0.5f, Nowhere))]);
        Assert.Equal(1.0, hitFirst.PerClass[0].AveragePrecision!.Value, Tolerance);

        // Across images the image order decides: the miss in the first image ranks before the hit in the second.
        var acrossImages = VocAveragePrecision.Evaluate(["cat"],
            [Image("x", [], Found(0, 0.5f, Nowhere)), Image("y", [Truth(0, A)], Found(0, 0.5f, A))]);
        Assert.Equal([0, 0.5], acrossImages.PerClass[0].Precision);
        Assert.Equal(0.5, acrossImages.PerClass[0].AveragePrecision!.Value, Tolerance);
    }

    [Fact]
    public void An_IoU_of_exactly_the_threshold_is_a_hit_as_in_the_devkit()
    {
        // Half of the object: IoU = 50 / 100 = 0.5 exactly. The devkit tests ovmax >= minoverlap (voc_eval.py's > would miss it).
        var half = Edges(0, 0, 10, 5);
        Assert.Equal(0.5, VocAveragePrecision.IntersectionOverUnion(half, A));
        var images = new[] { Image("a", [Truth(0, A)], Found(0, 0.9f, half)) };
        Assert.Equal(1, VocAveragePrecision.Evaluate(["cat"], images).PerClass[0].TruePositives);
        Assert.Equal(1, VocAveragePrecision.Evaluate(["cat"], images, iouThreshold: 0.5000001).PerClass[0].FalsePositives);
    }

    [Fact]
    public void A_box_that_only_touches_an_object_is_a_miss_even_at_threshold_zero()
    {
        // The devkit only considers objects whose intersection has positive width and height.
        var touching = Edges(10, 0, 20, 10);
        var result = VocAveragePrecision.Evaluate(["cat"], [Image("a", [Truth(0, A)], Found(0, 0.9f, touching))], iouThreshold: 0);
        Assert.Equal((0, 1), (result.PerClass[0].TruePositives, result.PerClass[0].FalsePositives));
    }

    [Fact]
    public void A_detection_takes_the_object_it_overlaps_most_even_when_that_one_is_taken()
    {
        // P and Q overlap. The second detection overlaps P by 80/120 and Q by 70/130: it takes P, already matched,
        // and is a duplicate although Q is free and above the threshold.
        var p = Edges(0, 0, 10, 10);
        var q = Edges(5, 0, 15, 10);
        var second = Edges(2, 0, 12, 10);
        var result = VocAveragePrecision.Evaluate(["cat"], [Image("a", [Truth(0, p), Truth(0, q)], Found(0, 0.9f, p), Found(0, 0.8f, second))]);
        var cat = result.PerClass[0];
        Assert.Equal((1, 1), (cat.TruePositives, cat.FalsePositives));
        Assert.Equal([0.5, 0.5], cat.Recall);
        Assert.Equal(0.5, cat.AveragePrecision!.Value, Tolerance);
    }

    [Fact]
    public void Detections_that_only_find_difficult_objects_give_AP_zero_and_no_curve()
    {
        var result = VocAveragePrecision.Evaluate(["cat"],
            [Image("a", [Truth(0, A), Truth(0, D, difficult: true)], Found(0, 0.9f, D), Found(0, 0.8f, D))], ApInterpolation.ElevenPoint);
        var cat = result.PerClass[0];
        Assert.Equal((1, 2, 0, 0), (cat.GroundTruthCount, cat.DetectionCount, cat.TruePositives, cat.FalsePositives));
        Assert.Empty(cat.Precision);
        Assert.Equal(0.0, cat.AveragePrecision);
    }

    [Fact]
    public void Eleven_point_levels_are_MATLABs_0_to_1_by_0_1_so_a_recall_of_exactly_0_3_misses_the_fourth_level()
    {
        // MATLAB builds 0:0.1:1 from both ends; only 3 * 0.1 = 0.30000000000000004 differs from k / 10.
        double[] expected = [0, 0.1, 0.2, 3 * 0.1, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
        Assert.Equal(expected, VocAveragePrecision.ElevenRecallLevels);
        Assert.True(VocAveragePrecision.ElevenRecallLevels[3] > 0.3);

        // Ten objects, the first three found (precision 1): recall 0.1, 0.2, 0.3 reaches levels 0, 0.1 and 0.2 only.
        Assert.Equal(3 / 11.0, ElevenPointApOfFirstHits(3), Tolerance);
        // Six found: recall 0.6 does reach the level 0.6 (1 - 4 * 0.1 is the double nearest 0.6): levels 0..0.6.
        Assert.Equal(7 / 11.0, ElevenPointApOfFirstHits(6), Tolerance);
    }

    static double ElevenPointApOfFirstHits(int hits)
    {
        var objects = Enumerable.Range(0, 10).Select(k => Truth(0, Edges(20 * k, 0, 20 * k + 10, 10))).ToArray();
        var detections = objects.Take(hits).Select((item, k) => Found(0, 1f - 0.05f * k, item.Box)).ToArray();
        return VocAveragePrecision.Evaluate(["cat"], [Image("a", objects, detections)], ApInterpolation.ElevenPoint).PerClass[0].AveragePrecision!.Value;
    }

    [Fact]
    public void Bad_input_is_refused_with_the_image_named()
    {
        var duplicate = Assert.Throws<ArgumentException>(() =>
            VocAveragePrecision.Evaluate(["cat"], [Image("a", []), Image("a", [])]));
        Assert.Contains("\"a\"", duplicate.Message);
        var unknownClass = Assert.Throws<ArgumentException>(() =>
            VocAveragePrecision.Evaluate(["cat"], [Image("img7", [], Found(1, 0.5f, A))]));
        Assert.Contains("img7", unknownClass.Message);
        Assert.Throws<ArgumentException>(() => VocAveragePrecision.Evaluate(["cat"], [Image("a", [], Found(0, float.NaN, A))]));
        Assert.Throws<ArgumentException>(() => VocAveragePrecision.Evaluate(["cat"], [], iouThreshold: 1.5));
    }
}
