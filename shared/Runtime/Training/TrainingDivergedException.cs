namespace Recipes.Runtime.Training;

/// <summary>The loss became NaN or infinite: the run cannot go on, and the user can fix it (a lower learning
/// rate, other data scaling), so the recipe host reports it in one line instead of a stack trace.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
