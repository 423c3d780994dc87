using Recipes.ObjectDetection;
using static TorchSharp.torch;

namespace Recipes.Tests.ObjectDetection;

/// <summary>Default boxes, box encoding, matching and the multibox loss on cases small enough to work out by hand.</summary>
public class SsdBoxesTests
{
    [Fact]
    public void Default_boxes_of_a_two_by_two_map_are_centred_on_its_cells_with_the_papers_shapes()
    {
        var boxes = new DefaultBoxes([new FeatureMapBoxes(2, 0.2, 0.45, [2])]);
        Assert.Equal(2 * 2 * 4, boxes.Count);
        float[] c = boxes.CentreForm;
        // Cell (row 0, column 0): centre (0.25, 0.25); a 0.2 square, a sqrt(0.2 x 0.45) = 0.3 square, then 0.2·√2 x 0.2/√2 and its transpose.
        Assert.Equal([0.25f, 0.25f, 0.2f, 0.2f], c[0..4]);
        Assert.Equal(0.3f, c[6], 5);
        Assert.Equal(0.2f * MathF.Sqrt(2), c[10], 5);
        Assert.Equal(0.2f / MathF.Sqrt(2), c[11], 5);
        Assert.Equal(0.2f / MathF.Sqrt(2), c[14], 5);
        // The second cell of the first row: same shapes, centre moved right by half the image's width over two cells.
        Assert.Equal([0.75f, 0.25f], c[16..18]);
        // The last cell: row 1, column 1.
        Assert.Equal([0.75f, 0.75f], c[(15 * 4)..(15 * 4 + 2)]);
    }

    [Fact]
    public void The_ssd_layout_gives_8732_default_boxes_for_the_ssd300_maps_and_the_papers_scales()
    {
        var boxes = DefaultBoxes.Ssd([38, 19, 10, 5, 3, 1]);
        // The paper's count: 38²·4 + 19²·6 + 10²·6 + 5²·6 + 3²·4 + 1·4.
        Assert.Equal(8732, boxes.Count);
        Assert.Equal([0.1, 0.2, 0.375, 0.55, 0.725, 0.9], boxes.Maps.Select(m => Math.Round(m.MinScale, 3)));
        Assert.Equal([4, 6, 6, 6, 4, 4], boxes.Maps.Select(m => m.BoxesPerCell));
        // No side exceeds the image.
        Assert.All(Enumerable.Range(0, boxes.Count), b => Assert.InRange(boxes.CentreForm[4 * b + 2], 0, 1));
    }

    [Fact]
    public void Encoding_a_box_against_a_default_box_gives_the_papers_offsets_and_decoding_inverts_it()
    {
        float[] prior = [0.5f, 0.5f, 0.2f, 0.4f];
        float[] box = [0.42f, 0.3f, 0.62f, 0.9f]; // centre (0.52, 0.6), size 0.2 x 0.6
        var (dx, dy, dw, dh) = BoxEncoding.Encode(box, prior);
        Assert.Equal(0.02f / (0.1f * 0.2f), dx, 4);   // 1
        Assert.Equal(0.1f / (0.1f * 0.4f), dy, 4);    // 2.5
        Assert.Equal(0f, dw, 5);                      // log(0.2 / 0.2) / 0.2
        Assert.Equal(MathF.Log(1.5f) / 0.2f, dh, 4);  // 2.027
        var (x1, y1, x2, y2) = BoxEncoding.Decode([dx, dy, dw, dh], prior);
        Assert.Equal(box, [x1, y1, x2, y2], new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void Matching_gives_each_object_its_best_default_box_then_every_box_above_the_threshold()
    {
        // Three default boxes in a row, each 0.2 wide; object A sits exactly on the first; object B overlaps only
        // the third, by IoU 1/6 (below 0.5), so it gets the third anyway as its best; the second matches nothing.
        float[] priors = [0.1f, 0.5f, 0.2f, 0.2f, 0.5f, 0.5f, 0.2f, 0.2f, 0.9f, 0.5f, 0.2f, 0.2f];
        float[] objects = [0.0f, 0.4f, 0.2f, 0.6f, 0.7f, 0.4f, 0.85f, 0.6f];
        int[] matched = DefaultBoxMatching.Match(objects, priors);
        Assert.Equal([0, -1, 1], matched);
        // No objects: every default box is background.
        Assert.Equal([-1, -1, -1], DefaultBoxMatching.Match([], priors));
    }

    [Fact]
    public void Targets_hold_the_matched_offsets_and_labels_then_the_objects_for_evaluation()
    {
        var boxes = new DefaultBoxes([new FeatureMapBoxes(1, 0.5, 0.5, [])]); // two default boxes, both the centre 0.5 square
        var targets = new SsdTargets(boxes, maxObjects: 3);
        var rows = new float[targets.ValuesPerImage];
        targets.Write([new SsdTargets.ObjectTarget(0.25f, 0.25f, 0.75f, 0.75f, 4, false), new SsdTargets.ObjectTarget(0f, 0f, 0.1f, 0.1f, 1, true)], rows);
        // Both default boxes equal the object: both take it (label 4 + 1), offsets zero. The difficult one is not taught.
        Assert.Equal([0f, 0f, 0f, 0f, 5f, 0f, 0f, 0f, 0f, 0f, 5f, 0f], rows[..12]);
        var objects = SsdTargets.ReadObjects(rows, boxes.Count);
        Assert.Equal(2, objects.Count);
        Assert.Equal(new SsdTargets.ObjectTarget(0f, 0f, 0.1f, 0.1f, 1, true), objects[1]);
    }

    [Fact]
    public void The_multibox_loss_counts_three_hard_negatives_per_positive_and_divides_by_the_positives()
    {
        // One image, five default boxes, two classes (background + 1): box 0 is positive, boxes 1-4 negative.
        // Scores are chosen so each box's cross-entropy is known: zero logits give ln 2 per box; a logit of +10 on
        // the wrong class gives about 10. The three hardest negatives are 1, 2, 3 (10, 10, 10); box 4 (ln 2) is left out.
        float[] output =
        [
            0.5f, 0, 0, 0,   0, 0,     // positive, offsets off by 0.5 in dx: smooth L1 = 0.5 · 0.5² = 0.125
            0, 0, 0, 0,      0, 10,
            0, 0, 0, 0,      0, 10,
            0, 0, 0, 0,      0, 10,
            0, 0, 0, 0,      0, 0,
        ];
        float[] target = new float[5 * SsdTargets.Width];
        target[4] = 1; // box 0: label 1, offsets 0
        using var scope = NewDisposeScope();
        var (total, localisation, classification) = MultiBoxLoss.Compute(tensor(output, [1, 5, 6]), tensor(target, [1, 5, 6]), defaultBoxes: 5);
        double hardNegative = Math.Log(1 + Math.Exp(10));
        Assert.Equal(0.125, localisation.item<float>(), 5);
        Assert.Equal(Math.Log(2) + 3 * hardNegative, classification.item<float>(), 4);
        Assert.Equal(0.125 + Math.Log(2) + 3 * hardNegative, total.item<float>(), 4);
    }

    [Fact]
    public void A_default_box_on_a_difficult_object_is_neither_a_positive_nor_a_mined_negative()
    {
        // As above, but box 1 (the hardest, a logit of +20 on the wrong class) lies on a difficult object: it is
        // ignored, so the three hardest negatives are now 2, 3 (+10 each) and 4 (ln 2).
        float[] output =
        [
            0, 0, 0, 0,      0, 0,
            0, 0, 0, 0,      0, 20,
            0, 0, 0, 0,      0, 10,
            0, 0, 0, 0,      0, 10,
            0, 0, 0, 0,      0, 0,
        ];
        float[] target = new float[5 * SsdTargets.Width];
        target[4] = 1;
        target[SsdTargets.Width + 4] = SsdTargets.Ignored;
        using var scope = NewDisposeScope();
        var (_, _, classification) = MultiBoxLoss.Compute(tensor(output, [1, 5, 6]), tensor(target, [1, 5, 6]), defaultBoxes: 5);
        Assert.Equal(2 * Math.Log(2) + 2 * Math.Log(1 + Math.Exp(10)), classification.item<float>(), 4);
    }

    sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
