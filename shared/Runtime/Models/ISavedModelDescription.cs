namespace Recipes.Runtime.Models;

/// <summary>
/// A recipe's record of what, besides the weights, is needed to use its saved model again: enough to rebuild the
/// network, feed it inputs as it was trained and name its outputs. It is written as the <c>description</c> of
/// <c>model.json</c> (see <see cref="SavedModel"/>), its properties in lower snake_case.
/// </summary>
public interface ISavedModelDescription
{
    /// <summary>The recipe whose models this record describes: written as <c>recipe</c>, so that a model saved by
    /// another recipe is refused with its name instead of failing somewhere inside the network.</summary>
    static abstract string Recipe { get; }

    /// <summary>Why this description cannot describe a usable model, or null when it can. Checked before a save (a
    /// bug in the recipe) and after a load (a hand-edited or damaged <c>model.json</c>).</summary>
    string? FindProblem() => null;
}
