using Recipes.Runtime.Vision;

namespace Recipes.Tests.Vision;

public class NonMaximumSuppressionTests
{
    // 0: A; 1: B, A moved right by 1 (IoU(A, B) = 90 / 110 = 0.818); 2: C, far from the others;
    // 3: D, A moved right by 5 (IoU(A, D) = 50 / 150 = 1/3, IoU(B, D) = 60 / 140 = 0.43).
    static readonly PixelBox[] Boxes = [new(0, 0, 10, 10), new(1, 0, 11, 10), new(20, 20, 30, 30), new(5, 0, 15, 10)];
    static readonly float[] Scores = [0.9f, 0.8f, 0.7f, 0.85f];

    [Fact]
    public void Three_overlapping_boxes_and_a_far_one()
    {
        // Ranked A, D, B, C. A is kept; D overlaps A by 1/3 <= 0.5: kept; B overlaps A by 0.82: gone; C is alone.
        Assert.Equal([0, 3, 2], NonMaximumSuppression.Select(Boxes, Scores, 0.5));
        // At 0.3 the third of D that overlaps A is too much.
        Assert.Equal([0, 2], NonMaximumSuppression.Select(Boxes, Scores, 0.3));
        // At 0.9 even B survives, and the order is the score order.
        Assert.Equal([0, 3, 1, 2], NonMaximumSuppression.Select(Boxes, Scores, 0.9));
    }

    [Fact]
    public void A_box_exactly_at_the_threshold_survives_because_only_greater_suppresses()
    {
        PixelBox[] boxes = [new(0, 0, 10, 10), new(0, 0, 10, 5)]; // IoU 50 / 100 = 0.5, exact in binary
        float[] scores = [0.9f, 0.8f];
        Assert.Equal([0, 1], NonMaximumSuppression.Select(boxes, scores, 0.5));
        Assert.Equal([0], NonMaximumSuppression.Select(boxes, scores, 0.49));
        // The ends of the range: 1 suppresses nothing, 0 still keeps boxes that only touch.
        PixelBox[] same = [new(0, 0, 4, 4), new(0, 0, 4, 4), new(4, 0, 8, 4)];
        Assert.Equal([0, 1, 2], NonMaximumSuppression.Select(same, [0.5f, 0.4f, 0.3f], 1));
        Assert.Equal([0, 2], NonMaximumSuppression.Select(same, [0.5f, 0.4f, 0.3f], 0));
    }

    [Fact]
    public void Equal_scores_rank_the_lower_index_first()
    {
        PixelBox[] twins = [new(0, 0, 4, 4), new(0, 0, 4, 4)];
        Assert.Equal([0], NonMaximumSuppression.Select(twins, [0.5f, 0.5f], 0.5));
        PixelBox[] apart = [new(0, 0, 1, 1), new(2, 0, 3, 1), new(4, 0, 5, 1)];
        Assert.Equal([1, 0, 2], NonMaximumSuppression.Select(apart, [0.5f, 0.7f, 0.5f], 0.5));
    }

    [Fact]
    public void Candidate_limit_cuts_before_suppression_and_max_kept_after()
    {
        // The top 3 candidates are A, D, B: C never competes.
        Assert.Equal([0, 3], NonMaximumSuppression.Select(Boxes, Scores, 0.5, candidateLimit: 3));
        // Suppression over all four, then the first two kept.
        Assert.Equal([0, 3], NonMaximumSuppression.Select(Boxes, Scores, 0.5, maxKept: 2));
        Assert.Equal([0, 3, 2], NonMaximumSuppression.Select(Boxes, Scores, 0.5, maxKept: 3));
        Assert.Empty(NonMaximumSuppression.Select(Boxes, Scores, 0.5, candidateLimit: 0));
    }

    [Fact]
    public void Empty_input_gives_nothing()
    {
        Assert.Empty(NonMaximumSuppression.Select([], [], 0.5));
        Assert.Empty(NonMaximumSuppression.SelectPerClass([], [], [], 0.5));
    }

    [Fact]
    public void Per_class_suppression_never_crosses_classes()
    {
        // 0: A class 0; 1: B class 1 (overlaps A by 0.82); 2: a copy of B in class 0, the best score; 3: C class 1.
        PixelBox[] boxes = [new(0, 0, 10, 10), new(1, 0, 11, 10), new(1, 0, 11, 10), new(20, 20, 30, 30)];
        float[] scores = [0.9f, 0.8f, 0.95f, 0.6f];
        int[] classes = [0, 1, 0, 1];
        // Class 0: 2 beats 0. Class 1: 1 and 3 do not overlap. All kept, ranked by score.
        Assert.Equal([2, 1, 3], NonMaximumSuppression.SelectPerClass(boxes, scores, classes, 0.5));
        Assert.Equal([2, 1], NonMaximumSuppression.SelectPerClass(boxes, scores, classes, 0.5, maxKept: 2));
        Assert.Equal([2, 1], NonMaximumSuppression.SelectPerClass(boxes, scores, classes, 0.5, candidateLimitPerClass: 1));
        // Across classes, 1 would have gone with 2.
        Assert.Equal([2, 3], NonMaximumSuppression.Select(boxes, scores, 0.5));
    }

    [Fact]
    public void Bad_input_is_refused_with_a_reason()
    {
        Assert.Throws<ArgumentException>(() => NonMaximumSuppression.Select(Boxes, [0.5f], 0.5));
        Assert.Throws<ArgumentException>(() => NonMaximumSuppression.Select(Boxes, [0.5f, float.NaN, 0.1f, 0.2f], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => NonMaximumSuppression.Select(Boxes, Scores, 1.5));
        Assert.Throws<ArgumentException>(() => NonMaximumSuppression.SelectPerClass(Boxes, Scores, [0, 1], 0.5));
    }
}
