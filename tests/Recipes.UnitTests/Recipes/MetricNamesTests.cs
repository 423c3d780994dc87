using Recipes.Runtime.Recipes;

namespace Recipes.Tests.Recipes;

public class MetricNamesTests
{
    [Theory]
    [InlineData("test_accuracy")]
    [InlineData("train_loss")]
    [InlineData("validation_map@0.5")]
    [InlineData("hr@10")]
    [InlineData("ndcg@10")]
    [InlineData("precision@1")]
    [InlineData("precision@5_with_class_bonus")]
    [InlineData("test_ap@0.5_raccoon")]
    [InlineData("test_auc_pleural_thickening")]
    [InlineData("test_first_100_accuracy")]
    [InlineData("heatmap_peak_in_lesion_by_chance")]
    public void Keys_that_follow_the_convention_pass(string key) => Assert.Null(MetricNames.Problem(key));

    [Theory]
    [InlineData("precision_at_1", "@")]
    [InlineData("precision_at_5_with_class_bonus", "@")]
    [InlineData("recall_at10", "@")]
    [InlineData("test_auc_Pleural_Thickening", "snake_case")]
    [InlineData("TestAccuracy", "snake_case")]
    [InlineData("test accuracy", "snake_case")]
    [InlineData("map@", "snake_case")]
    [InlineData("val_loss", "prefix")]
    [InlineData("eval_accuracy", "prefix")]
    [InlineData("accuracy_test", "prefix")]
    [InlineData("map_validation@0.5", "prefix")]
    public void Keys_that_break_it_are_refused_saying_how(string key, string hint)
    {
        string? problem = MetricNames.Problem(key);
        Assert.NotNull(problem);
        Assert.Contains(key, problem);
        Assert.Contains(hint, problem);
    }

    [Fact]
    public void Class_names_become_key_parts()
    {
        Assert.Equal("pleural_thickening", MetricNames.Part("Pleural_Thickening"));
        Assert.Equal("no_finding", MetricNames.Part("No Finding"));
        Assert.Equal("t_shirt", MetricNames.Part("T-shirt"));
        Assert.Equal("raccoon", MetricNames.Part("raccoon"));
        Assert.Null(MetricNames.Problem($"test_auc_{MetricNames.Part("Pleural_Thickening")}"));
        Assert.Throws<ArgumentException>(() => MetricNames.Part("--"));
    }
}
