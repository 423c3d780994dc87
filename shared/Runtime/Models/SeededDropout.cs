using static TorchSharp.torch.nn;

namespace Recipes.Runtime.Models;

/// <summary>
/// Dropout whose masks come from its own random stream instead of libtorch's one process-wide generator.
/// With <c>local[N]</c> the N replicas run their forward passes at the same time on different threads; if
/// they all drew from the shared generator, which replica got which numbers would depend on thread timing
/// and two runs of the same command would train differently. Here the mask of each training call is drawn
/// from a generator seeded by (stream, call number): give every replica its own stream and a run repeats
/// exactly, however the threads interleave. The call counter is a buffer, so it is saved in checkpoints
/// and a resumed run continues the same sequence of masks. In evaluation mode it passes its input through.
/// </summary>
public sealed class SeededDropout : Module<Tensor, Tensor>
{
    readonly double _probability;
    readonly long _stream;
    readonly Generator _generator;
    readonly Tensor _calls;

    public SeededDropout(double probability, long stream) : base(nameof(SeededDropout))
    {
        if (!(probability >= 0 && probability < 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "the drop probability must be in [0, 1)");
        _probability = probability;
        _stream = stream;
        _generator = new Generator(0, CPU);
        _calls = zeros(1, ScalarType.Int64);
        register_buffer("calls", _calls);
    }

    public double Probability => _probability;

    public override Tensor forward(Tensor input)
    {
        if (!training || _probability == 0) return input.alias();
        long call;
        using (no_grad())
        {
            call = _calls.item<long>();
            _calls.add_(1);
        }
        _generator.manual_seed(MixSeed(_stream, call));
        using var uniform = rand(input.shape, input.dtype, input.device, generator: _generator);
        using var keep = uniform.ge(_probability);
        return input.mul(keep).div_(1 - _probability);
    }

    /// <summary>SplitMix64 of the stream and call number: nearby inputs give unrelated seeds.</summary>
    static long MixSeed(long stream, long call)
    {
        unchecked
        {
            ulong z = (ulong)stream * 0x9E3779B97F4A7C15UL + (ulong)call + 0x632BE59BD9B4E019UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (long)((z ^ (z >> 31)) & 0x7FFF_FFFF_FFFF_FFFFUL);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _generator.Dispose();
            _calls.Dispose();
        }
        base.Dispose(disposing);
    }
}
