// Test classes run in parallel, as many at once as the machine has cores: each class is its own collection (xUnit's
// default, stated here so that it is not changed by accident). The classes that touch what libtorch or the runtime keeps
// for the whole process are in ProcessWideState (or in the ImageNet collection, which is just as exclusive) and run
// alone, after the parallel ones.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass, DisableTestParallelization = false)]

namespace Recipes.Tests;

/// <summary>
/// Tests that must not run beside any other test, because they depend on or change state of the whole process:
/// libtorch's one random generator (a test that seeds it and checks exact repeatability - same seed, same weights;
/// dropout masks; local[N] == local[1] - fails at random if another test draws from it at the same moment, and the
/// Trainer seeds it for every step), libtorch's thread count (MKL's part is process-wide), and the process's memory
/// (a test that measures resident memory growth would count what other tests allocate).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideState
{
    public const string Name = "process-wide state: libtorch's generator and threads, memory";
}
