namespace Recipes.Runtime.Models;

/// <summary>A saved model read back by <see cref="SavedModel{TDescription}.Load"/>: the network with its weights, as the
/// recipe's own module type, and the recipe's own description. Disposing it disposes the network.</summary>
public sealed class LoadedModel<TModule, TDescription>(TModule model, TDescription description, string architecture) : IDisposable
    where TModule : nn.Module
{
    public TModule Model => model;
    public TDescription Description => description;

    /// <summary>The readable name of the network the saving recipe gave (<c>architecture</c> in <c>model.json</c>).</summary>
    public string Architecture => architecture;

    public void Deconstruct(out TModule loadedModel, out TDescription loadedDescription)
    {
        loadedModel = model;
        loadedDescription = description;
    }

    public void Dispose() => model.Dispose();
}
