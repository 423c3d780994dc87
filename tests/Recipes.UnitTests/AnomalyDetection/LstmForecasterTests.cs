using Recipes.AnomalyDetection;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Models;
using Recipes.Runtime.Training;
using Recipes.Tests.Summaries;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.AnomalyDetection;

[Collection(ProcessWideState.Name)] // the Trainer seeds libtorch's generator; exact repeats are checked
public sealed class LstmForecasterTests
{
    [Fact]
    public void Has_the_seeds_layers_and_forecasts_one_value_per_window()
    {
        using var model = new LstmForecaster(featureCount: 3);
        // LSTM(3->20): 4*20*(3+20) + 2*4*20; LSTM(20->10): 4*10*(20+10) + 2*4*10; Dense(10->1): 11.
        Assert.Equal(2000 + 1280 + 11, model.parameters().Sum(p => p.numel()));
        using var input = randn(4, 50, 3);
        model.eval();
        using var output = model.forward(input);
        Assert.Equal([4L, 1], output.shape);
        using var again = model.forward(input);
        Assert.True(Same(output, again)); // no dropout in evaluation
    }

    [Fact]
    public void The_call_counter_is_saved_with_the_weights_so_a_reload_continues_the_same_masks()
    {
        using var folder = new TemporaryFolder();
        using var input = randn(8, 50, 3, generator: new Generator(3));
        using var trained = new LstmForecaster(3, dropoutStream: 5);
        trained.train();
        trained.forward(input).Dispose();
        ModelWeightsFile.Save(folder.File("model.bin"), trained);
        using var next = trained.forward(input);
        using var reloaded = ModelWeightsFile.LoadInto(folder.File("model.bin"), new LstmForecaster(3, dropoutStream: 5));
        reloaded.train();
        using var reloadedNext = reloaded.forward(input);
        Assert.True(Same(next, reloadedNext));
    }

    [Fact]
    public void Two_replica_training_with_dropout_repeats_exactly()
    {
        // libtorch's own dropout would draw from one process-wide generator shared by the replica threads,
        // so which replica got which mask would change from run to run.
        float[] first = TrainTwoReplicas(), second = TrainTwoReplicas();
        Assert.Equal(first, second);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().ToBoolean();

    static float[] TrainTwoReplicas()
    {
        var random = new Random(11);
        float[] inputs = Enumerable.Range(0, 256 * 10 * 3).Select(_ => (float)random.NextDouble()).ToArray();
        float[] targets = Enumerable.Range(0, 256).Select(i => inputs[i * 30] + inputs[i * 30 + 27]).ToArray();
        using var data = new InMemoryBatchSource(tensor(inputs).reshape(256, 10, 3), tensor(targets).reshape(256, 1));
        int built = 0;
        using var trainer = new Trainer(
            () => new LstmForecaster(3, dropoutStream: built++),
            parameters => optim.RMSProp(parameters, lr: 0.01, alpha: 0.9),
            (output, target) => nn.functional.mse_loss(output, target),
            new TrainerSettings { GlobalBatchSize = 64, Epochs = 2, Seed = 3, Master = LocalMaster.Parse("local[2]", cores: 2) });
        trainer.Fit(data);
        return trainer.Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
    }
}
