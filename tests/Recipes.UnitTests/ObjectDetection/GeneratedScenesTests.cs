using Recipes.ObjectDetection;
using Recipes.Runtime.Data;

namespace Recipes.Tests.ObjectDetection;

/// <summary>The GENERATED shape scenes: deterministic files, sane boxes, every class present, the cache folder reused.</summary>
public sealed class GeneratedScenesTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), $"recipes-generated-scenes-tests-{Guid.NewGuid():N}");
    readonly StringWriter log = new();

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static Dictionary<string, byte[]> Files(string folder) =>
        Directory.GetFiles(folder).Where(p => !Path.GetFileName(p).StartsWith('.'))
            .ToDictionary(p => Path.GetFileName(p), File.ReadAllBytes);

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_other_scenes()
    {
        string first = GeneratedScenes.Generate(Path.Combine(root, "a"), 24, seed: 5, log);
        string second = GeneratedScenes.Generate(Path.Combine(root, "b"), 24, seed: 5, log);
        string other = GeneratedScenes.Generate(Path.Combine(root, "c"), 24, seed: 6, log);

        var firstFiles = Files(first);
        Assert.Equal(48, firstFiles.Count);   // a JPEG and an XML per scene
        var secondFiles = Files(second);
        Assert.Equal(firstFiles.Keys.Order(), secondFiles.Keys.Order());
        Assert.All(firstFiles, pair => Assert.Equal(pair.Value, secondFiles[pair.Key]));
        Assert.NotEqual(firstFiles["scene-00000.jpg"], Files(other)["scene-00000.jpg"]);
    }

    [Fact]
    public void Scenes_read_back_with_boxes_inside_their_images_sizes_and_counts_in_range_and_every_class_present()
    {
        string folder = GeneratedScenes.Generate(root, 120, seed: 1, log);

        var read = DetectionFolderReader.Read(folder, skipBad: false, log, GeneratedScenes.ClassNames);

        Assert.Equal(120, read.Images.Count);
        Assert.Equal(GeneratedScenes.ClassNames, read.ClassNames);
        Assert.All(read.Images, image =>
        {
            Assert.InRange(image.Width, GeneratedScenes.MinSide, GeneratedScenes.MaxSide);
            Assert.InRange(image.Height, GeneratedScenes.MinSide, GeneratedScenes.MaxSide);
            Assert.InRange(image.Objects.Count, 1, GeneratedScenes.MaxObjects);
            Assert.All(image.Objects, o =>
            {
                Assert.True(o.Box.Left >= 0 && o.Box.Top >= 0 && o.Box.Right <= image.Width && o.Box.Bottom <= image.Height, $"{image.Id}: {o.Box}");
                // Visible extent of a shape at least 20 px across with at most 40% hidden: never a sliver.
                Assert.True(o.Box.Width >= 8 && o.Box.Height >= 8, $"{image.Id}: {o.Box}");
                Assert.True(o.Box.Width <= GeneratedScenes.MaxObjectShare * Math.Min(image.Width, image.Height) + 2, $"{image.Id}: {o.Box}");
            });
        });
        var classes = read.Images.SelectMany(i => i.Objects).GroupBy(o => o.ClassIndex).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Enumerable.Range(0, GeneratedScenes.ClassNames.Count), classes.Keys.Order());
        // Several scales: both small (< 40 px) and large (> 120 px) objects occur.
        var widths = read.Images.SelectMany(i => i.Objects).Select(o => o.Box.Width).ToList();
        Assert.Contains(widths, w => w < 40);
        Assert.Contains(widths, w => w > 120);
        // Several objects per scene on average, and some overlap.
        Assert.True(read.Images.Average(i => i.Objects.Count) > 2.5);
        Assert.Contains(read.Images, i => i.Objects.Any(a => i.Objects.Any(b => !ReferenceEquals(a, b) && Overlap(a, b))));
    }

    static bool Overlap(AnnotatedObject a, AnnotatedObject b) =>
        a.Box.Left < b.Box.Right && b.Box.Left < a.Box.Right && a.Box.Top < b.Box.Bottom && b.Box.Top < a.Box.Bottom;

    [Fact]
    public void A_complete_folder_is_reused_and_a_partial_one_is_generated_again()
    {
        string folder = GeneratedScenes.Generate(root, 6, seed: 2, log);
        string scene = Path.Combine(folder, "scene-00003.jpg");
        var before = File.ReadAllBytes(scene);
        File.SetLastWriteTimeUtc(scene, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        GeneratedScenes.Generate(root, 6, seed: 2, log);
        Assert.Equal(new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc), File.GetLastWriteTimeUtc(scene));
        Assert.Contains("reusing", log.ToString());

        // An interrupted run: no marker, a scene missing.
        File.Delete(Path.Combine(folder, GeneratedScenes.CompleteMarkerName));
        File.Delete(scene);
        GeneratedScenes.Generate(root, 6, seed: 2, log);
        Assert.Equal(before, File.ReadAllBytes(scene));
        Assert.Contains("incomplete", log.ToString());
        Assert.Equal(12, Files(folder).Count);
    }

    [Fact]
    public async Task Processes_sharing_the_cache_and_drawing_at_once_all_get_the_whole_folder()
    {
        // Two cluster workers on one machine share --cache and start together. Before the scenes were drawn aside,
        // the second took the first's half-written folder for an interrupted run and deleted it under the first,
        // whose next rename failed. Four callers released together by a barrier, over a few rounds.
        string reference = GeneratedScenes.Generate(Path.Combine(root, "alone"), 30, seed: 4, TextWriter.Null);
        for (int round = 0; round < 3; round++)
        {
            string cache = Path.Combine(root, $"shared-{round}");
            using var start = new Barrier(4);
            var callers = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait(TimeSpan.FromSeconds(30));
                return GeneratedScenes.Generate(cache, 30, seed: 4, new StringWriter());
            }, TaskCreationOptions.LongRunning)).ToArray();
            string[] folders = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(2));

            string folder = Assert.Single(folders.Distinct());
            Assert.Equal(Files(reference), Files(folder));
            Assert.True(File.Exists(Path.Combine(folder, GeneratedScenes.CompleteMarkerName)));
            // Every caller's staging folder is gone: the winner's became the folder, the others' were deleted.
            Assert.Equal([folder], Directory.GetDirectories(Path.GetDirectoryName(folder)!));
        }
    }

    [Fact]
    public void Resolve_without_data_or_download_gives_GENERATED_scenes_split_80_10_10()
    {
        var request = new DetectionDataRequest(null, Download: false, "2007", SkipBad: false, GeneratedScenes: 50, Seed: 9, root);

        var set = DetectionDataSources.Resolve(request, log);

        Assert.Equal(DataSourceKind.Generated, set.Source);
        Assert.Contains("GENERATED", set.Name);
        Assert.Equal(GeneratedScenes.ClassNames, set.ClassNames);
        Assert.Equal((40, 5, 5), (set.Train.Count, set.Validation.Count, set.Test.Count));
        Assert.Contains("seeded 80/10/10", set.SplitMethod);
        Assert.Contains("GENERATED 50 scenes", log.ToString());
        // No cached VOC was there, and nothing was fetched.
        Assert.False(Directory.Exists(Path.Combine(root, VocDownloads.CacheSubfolder, VocDownloads.UnpackedFolderName)));
    }

    [Fact]
    public void Generating_1500_scenes_writes_them_all()
    {
        // Only a sanity run at the size the recipe uses; how long it takes is not asserted.
        string folder = GeneratedScenes.Generate(root, 1500, seed: 42, log);

        Assert.Equal(3000, Files(folder).Count);
        Assert.True(File.Exists(Path.Combine(folder, GeneratedScenes.CompleteMarkerName)));
    }
}
