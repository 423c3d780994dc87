using Recipes.Runtime.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Recipes.AnomalyDetection;

/// <summary>
/// The seed's anomaly-detection forecaster: LSTM(20, returning the whole sequence) -> Dropout(0.2) ->
/// LSTM(10, returning its last step) -> Dropout(0.2) -> Dense(1). Input: [batch, steps, features]
/// (batch first); output: [batch, 1], the forecast of the next value. 3,291 parameters with 3 features.
/// </summary>
/// <remarks>
/// The seed's Keras-style LSTM gates use a hard sigmoid; libtorch's LSTM uses the logistic sigmoid, and its
/// weights start uniform in ±1/sqrt(hidden) instead of Glorot/orthogonal. Both train the same way here.
/// </remarks>
public sealed class LstmForecaster : Module<Tensor, Tensor>
{
    readonly LSTM _sequence;
    readonly SeededDropout _sequenceDropout;
    readonly LSTM _summary;
    readonly SeededDropout _summaryDropout;
    readonly Linear _output;

    /// <param name="featureCount">Features per time step (3 in the seed: value, hour, awake).</param>
    /// <param name="dropoutStream">Seeds the dropout masks; give each replica of a data-parallel run its own.</param>
    public LstmForecaster(int featureCount, int firstUnits = 20, int secondUnits = 10, double dropout = 0.2, long dropoutStream = 0)
        : base(nameof(LstmForecaster))
    {
        _sequence = LSTM(featureCount, firstUnits, batchFirst: true);
        _sequenceDropout = new SeededDropout(dropout, dropoutStream * 2);
        _summary = LSTM(firstUnits, secondUnits, batchFirst: true);
        _summaryDropout = new SeededDropout(dropout, dropoutStream * 2 + 1);
        _output = Linear(secondUnits, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (sequence, _, _) = _sequence.call(input);
        var (summary, _, _) = _summary.call(_sequenceDropout.call(sequence));
        var last = summary.select(1, summary.shape[1] - 1);
        return _output.call(_summaryDropout.call(last)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sequence.Dispose();
            _sequenceDropout.Dispose();
            _summary.Dispose();
            _summaryDropout.Dispose();
            _output.Dispose();
        }
        base.Dispose(disposing);
    }
}
