using Recipes.Runtime.Models;

namespace Recipes.NcfRecommendation;

/// <summary>
/// What, besides the weights, is needed to use a saved <see cref="NeuralCF"/> again (the description of its
/// <c>model.json</c>): its shape, the task, the rating scale of an explicit model (null for implicit feedback), and the
/// original user and item ids of each embedding row.
/// </summary>
public sealed record RecommenderInfo(string Dataset, string Task, NeuralCFSettings Model, RatingScale? Scale, int[] UserIds, int[] ItemIds)
    : ISavedModelDescription
{
    public static string Recipe => "ncf-recommendation";

    public string? FindProblem()
    {
        try
        {
            Model.Validate();
        }
        catch (ArgumentException error)
        {
            return error.Message;
        }
        return UserIds.Length != Model.UserCount || ItemIds.Length != Model.ItemCount
            ? $"{UserIds.Length} user ids and {ItemIds.Length} item ids for a model of {Model.UserCount} users and {Model.ItemCount} items"
            : null;
    }
}
