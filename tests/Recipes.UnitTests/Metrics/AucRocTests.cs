using Recipes.Runtime.Metrics;

namespace Recipes.Tests.Metrics;

public class AucRocTests
{
    static bool[] Labels(params int[] values) => values.Select(value => value == 1).ToArray();

    [Fact]
    public void Known_answers_for_small_cases()
    {
        Assert.Equal(1.0, AucRoc.Compute([0.1f, 0.2f, 0.8f, 0.9f], Labels(0, 0, 1, 1)));
        Assert.Equal(0.0, AucRoc.Compute([0.9f, 0.8f, 0.2f, 0.1f], Labels(0, 0, 1, 1)));
        Assert.Equal(0.5, AucRoc.Compute([0.3f, 0.3f, 0.3f, 0.3f, 0.3f], Labels(0, 1, 0, 1, 1)));
        // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 > 0.1, 0.35 < 0.4, 0.8 beats both -> 3 of 4 pairs.
        Assert.Equal(0.75, AucRoc.Compute([0.1f, 0.4f, 0.35f, 0.8f], Labels(0, 0, 1, 1)));
        // A positive tied with a negative at 0.5: pairs (0.5+ vs 0.2-) 1, (0.5+ vs 0.5-) 1/2, (0.9+ vs both) 2 -> 3.5 / 4.
        Assert.Equal(0.875, AucRoc.Compute([0.2f, 0.5f, 0.5f, 0.9f], Labels(0, 1, 0, 1)));
        // Two positives and a negative all tied at 0.7, one negative at 0.1, one positive at 0.9:
        // 0.9+ beats both negatives (2); each 0.7+ beats 0.1- (2) and ties 0.7- (2 x 1/2) -> 5 of 3 x 2 = 6 pairs.
        Assert.Equal(5.0 / 6, AucRoc.Compute([0.7f, 0.7f, 0.7f, 0.1f, 0.9f], Labels(1, 1, 0, 0, 1)), 12);
    }

    [Fact]
    public void One_outcome_only_is_undefined_never_one_half()
    {
        Assert.True(double.IsNaN(AucRoc.Compute([0.1f, 0.9f, 0.5f], Labels(1, 1, 1))));
        Assert.True(double.IsNaN(AucRoc.Compute([0.1f, 0.9f, 0.5f], Labels(0, 0, 0))));
        Assert.True(double.IsNaN(AucRoc.Compute([], [])));
        Assert.Null(AucRoc.Curve([0.1f, 0.9f], Labels(0, 0)));
    }

    [Fact]
    public void Bad_input_is_refused_with_a_message()
    {
        var nan = Assert.Throws<ArgumentException>(() => AucRoc.Compute([0.1f, float.NaN], Labels(0, 1)));
        Assert.Contains("score 1 is NaN", nan.Message);
        Assert.Throws<ArgumentException>(() => AucRoc.Compute([0.1f, float.PositiveInfinity], Labels(0, 1)));
        var lengths = Assert.Throws<ArgumentException>(() => AucRoc.Compute([0.1f, 0.2f], Labels(0, 1, 1)));
        Assert.Contains("2 scores but 3 labels", lengths.Message);
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)]
    [InlineData(6)] [InlineData(7)] [InlineData(8)] [InlineData(9)] [InlineData(10)]
    public void Agrees_with_the_pairwise_count_on_random_data_with_many_ties(int seed)
    {
        var random = new Random(seed);
        int count = 200 + random.Next(300);
        // Scores from only 12 levels, and positives that score a little higher on average: many ties of both kinds.
        var positives = Enumerable.Range(0, count).Select(_ => random.NextDouble() < 0.3).ToArray();
        var scores = positives.Select(positive => (float)Math.Min(11, random.Next(9) + (positive ? random.Next(4) : 0)) / 11f).ToArray();

        double pairwise = BruteForceAuc(scores, positives);
        Assert.Equal(pairwise, AucRoc.Compute(scores, positives), 12);
        Assert.Equal(pairwise, AucRoc.Curve(scores, positives)!.Auc, 12);
        Assert.InRange(pairwise, 0.55, 0.95); // the data really separates the classes, and not perfectly
    }

    [Fact]
    public void Curve_runs_from_origin_to_one_one_monotonically_with_one_point_per_distinct_score()
    {
        var random = new Random(42);
        var positives = Enumerable.Range(0, 300).Select(_ => random.NextDouble() < 0.2).ToArray();
        var scores = positives.Select(positive => MathF.Round((float)random.NextDouble() + (positive ? 0.3f : 0), 1)).ToArray();

        var curve = AucRoc.Curve(scores, positives)!;
        int distinct = scores.Distinct().Count();
        Assert.Equal(distinct + 1, curve.FalsePositiveRates.Length);
        Assert.Equal(distinct + 1, curve.TruePositiveRates.Length);
        Assert.Equal(distinct + 1, curve.Thresholds.Length);
        Assert.Equal((0.0, 0.0, double.PositiveInfinity), (curve.FalsePositiveRates[0], curve.TruePositiveRates[0], curve.Thresholds[0]));
        Assert.Equal((1.0, 1.0, (double)scores.Min()), (curve.FalsePositiveRates[^1], curve.TruePositiveRates[^1], curve.Thresholds[^1]));
        for (int i = 1; i < curve.Thresholds.Length; i++)
        {
            Assert.True(curve.Thresholds[i] < curve.Thresholds[i - 1], $"thresholds not strictly falling at {i}");
            Assert.True(curve.FalsePositiveRates[i] >= curve.FalsePositiveRates[i - 1], $"FPR falls at {i}");
            Assert.True(curve.TruePositiveRates[i] >= curve.TruePositiveRates[i - 1], $"TPR falls at {i}");
        }
        Assert.Equal(AucRoc.Compute(scores, positives), TrapezoidArea(curve), 12);
        Assert.Equal(curve.Auc, TrapezoidArea(curve), 12);
    }

    [Fact]
    public void A_tied_group_moves_diagonally()
    {
        // Thresholds 0.9, 0.5, 0.2: the group at 0.5 holds one positive and one negative.
        var curve = AucRoc.Curve([0.2f, 0.5f, 0.5f, 0.9f], Labels(0, 1, 0, 1))!;
        Assert.Equal([0, 0, 0.5, 1], curve.FalsePositiveRates);
        Assert.Equal([0, 0.5, 1, 1], curve.TruePositiveRates);
        Assert.Equal([double.PositiveInfinity, 0.9f, 0.5f, 0.2f], curve.Thresholds);
        Assert.Equal(0.875, curve.Auc);
        Assert.Equal(0.875, TrapezoidArea(curve), 12);
    }

    [Fact]
    public void Multi_label_AUC_is_per_class_and_the_mean_leaves_undefined_classes_out()
    {
        string[] names = ["perfect", "reversed", "no positives", "tied"];
        // Four samples, row-major [sample, class].
        float[] scores =
        [
            0.9f, 0.1f, 0.3f, 0.5f,
            0.8f, 0.2f, 0.7f, 0.5f,
            0.2f, 0.9f, 0.1f, 0.5f,
            0.1f, 0.8f, 0.4f, 0.5f,
        ];
        float[] labels =
        [
            1, 1, 0, 1,
            1, 1, 0, 0,
            0, 0, 0, 1,
            0, 0, 0, 0,
        ];
        var auc = MultiLabelAuc.Compute(scores, labels, names);
        Assert.Equal(names, auc.Names);
        Assert.Equal(1.0, auc.PerClass[0]);
        Assert.Equal(0.0, auc.PerClass[1]);
        Assert.True(double.IsNaN(auc.PerClass[2]));
        Assert.Equal(0.5, auc.PerClass[3]);
        Assert.Equal(3, auc.DefinedClasses);
        Assert.Equal(0.5, auc.Mean, 12); // (1 + 0 + 0.5) / 3, not / 4
        Assert.Equal(["no positives"], auc.UndefinedClasses);
    }

    [Fact]
    public void Multi_label_AUC_of_a_set_with_no_defined_class_has_a_NaN_mean()
    {
        var auc = MultiLabelAuc.Compute([0.1f, 0.2f, 0.3f, 0.4f], [0, 1, 0, 1], ["a", "b"]);
        Assert.Equal(0, auc.DefinedClasses);
        Assert.True(double.IsNaN(auc.Mean));
        Assert.Equal(["a", "b"], auc.UndefinedClasses);
    }

    [Fact]
    public void Multi_label_AUC_matches_the_single_class_AUC_of_each_column()
    {
        var random = new Random(7);
        const int samples = 150, classes = 5;
        var scores = Enumerable.Range(0, samples * classes).Select(_ => (float)Math.Round(random.NextDouble(), 2)).ToArray();
        var labels = scores.Select(score => random.NextDouble() < 0.2 + 0.5 * score ? 1f : 0f).ToArray();
        var auc = MultiLabelAuc.Compute(scores, labels, ["a", "b", "c", "d", "e"]);
        for (int c = 0; c < classes; c++)
        {
            var column = Enumerable.Range(0, samples).Select(s => scores[s * classes + c]).ToArray();
            var positives = Enumerable.Range(0, samples).Select(s => labels[s * classes + c] >= 0.5f).ToArray();
            Assert.Equal(BruteForceAuc(column, positives), auc.PerClass[c], 12);
        }
        Assert.Equal(auc.PerClass.Average(), auc.Mean, 12);
    }

    [Fact]
    public void Multi_label_AUC_refuses_shapes_that_do_not_fit_and_names_the_bad_value()
    {
        Assert.Throws<ArgumentException>(() => MultiLabelAuc.Compute([0.1f, 0.2f, 0.3f], [0, 1, 0], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => MultiLabelAuc.Compute([0.1f, 0.2f], [0, 1, 0, 1], ["a", "b"]));
        var nan = Assert.Throws<ArgumentException>(() => MultiLabelAuc.Compute([0.1f, 0.2f, float.NaN, 0.4f], [0, 1, 1, 0], ["a", "b"]));
        Assert.Contains("sample 1 for 'a'", nan.Message);
        var label = Assert.Throws<ArgumentException>(() => MultiLabelAuc.Compute([0.1f, 0.2f, 0.3f, 0.4f], [0, 1, 1, float.NaN], ["a", "b"]));
        Assert.Contains("sample 1 for 'b'", label.Message);
    }

    /// <summary>The definition itself: every positive-negative pair, a win 1, a tie 1/2.</summary>
    static double BruteForceAuc(float[] scores, bool[] positives)
    {
        double wins = 0;
        long pairs = 0;
        for (int p = 0; p < scores.Length; p++)
        {
            if (!positives[p]) continue;
            for (int n = 0; n < scores.Length; n++)
            {
                if (positives[n]) continue;
                pairs++;
                if (scores[p] > scores[n]) wins += 1;
                else if (scores[p] == scores[n]) wins += 0.5;
            }
        }
        return wins / pairs;
    }

    static double TrapezoidArea(RocCurve curve)
    {
        double area = 0;
        for (int i = 1; i < curve.FalsePositiveRates.Length; i++)
            area += (curve.FalsePositiveRates[i] - curve.FalsePositiveRates[i - 1]) * (curve.TruePositiveRates[i] + curve.TruePositiveRates[i - 1]) / 2;
        return area;
    }
}
