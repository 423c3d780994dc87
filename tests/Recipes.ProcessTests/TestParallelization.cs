// libtorch has one process-wide random generator. Tests that check exact repeatability (same seed, same
// weights; dropout masks; local[N] == local[1]) seed it and then draw from it, so another test drawing
// from it at the same moment would make them fail at random. Test classes therefore run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
