using Recipes.Runtime.Distributed;
using Recipes.Runtime.Metrics;
using Recipes.Runtime.Training;
using Recipes.Xray;
using static TorchSharp.torch;

namespace Recipes.Tests.Xray;

[Collection(ProcessWideState.Name)] // the Trainer seeds libtorch's generator and sets its threads
public sealed class MultiLabelAucValidationTests
{
    [Fact]
    public void Rows_recorded_batch_by_batch_score_like_the_whole_set_at_once()
    {
        // Two classes; class 1 has no positive in the set, so it is undefined and left out of the mean.
        float[] logits = [2f, 0f, -1f, 0f, 0.5f, 0f, 3f, 0f];
        float[] labels = [1, 0, 0, 0, 0, 0, 1, 0];
        var method = new MultiLabelAucValidation(["a", "b"]);
        double[] rows = new double[4 * method.ValuesPerSample];
        using (var output = tensor(logits, [4, 2]))
        using (var target = tensor(labels, [4, 2]))
        {
            method.Record(output[..2], target[..2], rows.AsSpan(0, 2 * method.ValuesPerSample));
            method.Record(output[2..], target[2..], rows.AsSpan(2 * method.ValuesPerSample));
        }
        var scores = method.Score(rows, 4);
        // Positives score 2 and 3, negatives -1 and 0.5: every pair ranked right.
        Assert.Equal(1.0, scores["auc_a"]);
        Assert.True(double.IsNaN(scores["auc_b"]));
        Assert.Equal(1.0, scores[MultiLabelAucValidation.MeanName]);
        Assert.Equal(["b"], method.Last!.UndefinedClasses);
        var curves = method.LastCurves();
        Assert.NotNull(curves[0]);
        Assert.Null(curves[1]);
    }

    [Fact]
    public void The_trainer_scores_a_validation_set_split_across_replicas_as_one_set()
    {
        using var generator = new Generator().manual_seed(4);
        var inputs = randn([157, 6], generator: generator);
        var targets = (inputs[.., ..3] + 0.8 * randn([157, 3], generator: generator)).gt(0).to(ScalarType.Float32);
        using var data = new InMemoryBatchSource(inputs, targets);
        var method = new MultiLabelAucValidation(["x", "y", "z"]);
        using var trainer = new Trainer(() => nn.Linear(6, 3), parameters => optim.Adam(parameters, lr: 0.01), MultiLabelLoss.BinaryCrossEntropyWithLogits(),
            new TrainerSettings { GlobalBatchSize = 20, Epochs = 1, Master = LocalMaster.Parse("local[2]", cores: 2), SetValidationMethods = [method] });
        var scores = trainer.Evaluate(data, [], batchSize: 20, setMethods: [method]);

        using var noGrad = no_grad();
        var (input, target) = data.GetBatch(Enumerable.Range(0, 157).ToArray());
        float[] direct = trainer.Model.forward(input).sigmoid().contiguous().data<float>().ToArray();
        var expected = MultiLabelAuc.Compute(direct, target.contiguous().data<float>().ToArray(), ["x", "y", "z"]);
        // The replicas compute with 1 thread each, the direct call with 2: scores equal up to float32 rounding,
        // which can only swap near-ties, so the AUCs agree to a pair or two in 157 x 157.
        Assert.Equal(expected.Mean, scores[MultiLabelAucValidation.MeanName], 3);
        Assert.Equal(expected.PerClass[2], scores["auc_z"], 3);
    }
}
