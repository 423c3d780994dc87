using Recipes.Runtime.Data;
using TorchSharp.Modules;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// Saves and restores an optimizer's state (momentum buffers, Adam's moments and step counts, each group's
/// hyper-parameters) in TorchSharp's own format, so training resumes exactly where it stopped.
/// </summary>
/// <remarks>
/// Loading through TorchSharp directly inside a dispose scope is a trap: SGD creates its momentum buffers
/// while loading, the scope disposes them, and the next step fails with "Tensor invalid -- empty handle".
/// <see cref="Load"/> keeps every tensor created while loading out of the caller's scopes.
/// </remarks>
public static class OptimizerCheckpoint
{
    public static void Save(optim.Optimizer optimizer, Stream destination)
    {
        OptimizerHelper serializable = Serializable(optimizer);
        ArgumentNullException.ThrowIfNull(destination);
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        serializable.save_state_dict(writer);
        writer.Flush();
    }

    /// <summary>
    /// Replaces the optimizer's state with the one in <paramref name="source"/>. <paramref name="sourceName"/>
    /// (usually the checkpoint's path) names the source in errors. The optimizer must have been built the same
    /// way (same kind, same parameter groups in the same order); if loading fails, discard the optimizer,
    /// because part of its state may already have been replaced.
    /// </summary>
    public static void Load(optim.Optimizer optimizer, Stream source, string sourceName)
    {
        OptimizerHelper serializable = Serializable(optimizer);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);

        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        using DisposeScope loading = NewDisposeScope();
        try
        {
            serializable.load_state_dict(reader);
        }
        catch (EndOfStreamException error)
        {
            throw new DataFileException(sourceName, "optimizer state is truncated", error);
        }
        catch (Exception error) when (error is InvalidDataException or ArgumentException or FormatException)
        {
            throw new DataFileException(sourceName, $"optimizer state does not fit this optimizer: {error.Message}", error);
        }
        finally
        {
            // The tensors created while loading now belong to the optimizer, not to any dispose scope.
            loading.Detach(loading.DisposablesView.ToArray());
        }
    }

    static OptimizerHelper Serializable(optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return optimizer as OptimizerHelper
            ?? throw new ArgumentException($"{optimizer.GetType().Name} keeps its state in native code, which TorchSharp cannot save.", nameof(optimizer));
    }
}
