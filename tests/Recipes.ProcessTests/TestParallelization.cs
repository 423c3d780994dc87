// One test at a time. Each of these tests starts processes that use the machine's cores themselves (recipe runs,
// cluster drivers and workers, ring peers, a browser) or binds many ports, and several train in this process too:
// libtorch has one process-wide random generator, and tests that check exact repeatability (same seed, same
// weights; local[N] == local[1]) seed it and then draw from it, so another test drawing from it at the same moment
// would make them fail at random.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
