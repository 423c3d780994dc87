using Recipes.Runtime.Metrics;

namespace Recipes.Tests.Metrics;

public class RegressionErrorsTests
{
    [Fact]
    public void Known_answers_for_MAE_and_RMSE()
    {
        double[] predicted = [4, 3, 5, 1], actual = [5, 3, 3, 1];
        Assert.Equal(0.75, RegressionErrors.MeanAbsolute(predicted, actual), 12);   // (1 + 0 + 2 + 0) / 4
        Assert.Equal(Math.Sqrt(1.25), RegressionErrors.RootMeanSquared(predicted, actual), 12); // sqrt((1 + 4) / 4)
        Assert.Throws<ArgumentException>(() => RegressionErrors.MeanAbsolute([1.0], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => RegressionErrors.RootMeanSquared([], []));
    }
}
