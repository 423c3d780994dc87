using System.Globalization;
using Recipes.Runtime.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.ObjectDetection;

/// <summary>
/// The offline fallback: GENERATED scenes of coloured shapes on textured backgrounds, written to disk in the
/// plain-folder layout (<c>scene-00000.jpg</c> with <c>scene-00000.xml</c> in VOC format beside it) so they go through
/// the same reader as real data. Six classes, one per shape (<see cref="ClassNames"/>); colours are drawn independently
/// of the class, so only the shape tells them apart. Each scene is 240..400 pixels on a side and holds 1 to 6 objects
/// from 20 pixels across to 60% of its shorter side; later shapes may overlap earlier ones, but a placement that would
/// hide more than <see cref="MaxHiddenShare"/> of an earlier object is refused, and each recorded box is the extent of the
/// object's visible pixels (VOC's convention), so a box always frames what can be seen.
/// </summary>
/// <remarks>
/// Each scene draws from its own generator seeded from (seed, index), so scenes can be painted in parallel and the
/// files depend only on (count, seed, <see cref="GeneratorVersion"/>): the same bytes within a process and on one
/// platform (the maths library's last bit may differ on another). The folder is keyed by those three and reused
/// when its completion marker, written last, is there; it is drawn aside and renamed into place whole, so only an
/// interrupted run of an older version leaves a folder without its marker, which is generated again.
/// </remarks>
public static class GeneratedScenes
{
    /// <summary>Part of the cache key: bump it whenever a change to the drawing changes the files.</summary>
    public const int GeneratorVersion = 1;
    public const string CacheSubfolder = "generated-scenes";
    public const string CompleteMarkerName = ".complete";
    public const int MinSide = 240, MaxSide = 400;
    public const int MinObjectSize = 20;
    public const double MaxObjectShare = 0.6;
    public const int MaxObjects = 6;
    /// <summary>The most of an earlier object a later one may cover.</summary>
    public const double MaxHiddenShare = 0.4;
    public const int JpegQuality = 90;

    /// <summary>The shape kinds, which are the classes (sorted, as the folder reader sorts names it finds).</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["circle", "cross", "ring", "square", "star", "triangle"];

    /// <summary>The folder for (count, seed) below a cache folder: <c>generated-scenes/v1-n1500-seed42</c>.</summary>
    public static string FolderFor(string cacheFolder, int count, int seed) =>
        Path.Combine(cacheFolder, CacheSubfolder, string.Create(CultureInfo.InvariantCulture, $"v{GeneratorVersion}-n{count}-seed{seed}"));

    /// <summary>The name of scene <paramref name="index"/>'s files, without extension.</summary>
    public static string SceneId(int index) => string.Create(CultureInfo.InvariantCulture, $"scene-{index:D5}");

    /// <summary>
    /// The folder of <paramref name="count"/> scenes for <paramref name="seed"/> below <paramref name="cacheFolder"/>:
    /// reused when complete, else generated in parallel into a staging folder of this call's own, completion marker
    /// last, which is then renamed into place whole. Several processes may share a cache (two cluster workers on one
    /// machine start together): each draws its own copy aside, the first rename wins, and the others find the same
    /// scenes (same count, seed and version) in place and drop theirs, so no process ever deletes files another is
    /// writing or reads a folder another is still filling. Progress goes to <paramref name="log"/> about every 10%.
    /// </summary>
    public static string Generate(string cacheFolder, int count, int seed, TextWriter log, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheFolder);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentNullException.ThrowIfNull(log);
        string folder = FolderFor(cacheFolder, count, seed);
        string expectedMarker = MarkerText(count, seed);
        if (IsComplete(folder, expectedMarker))
        {
            log.WriteLine($"GENERATED scenes: reusing the {count:N0} in {folder}");
            return folder;
        }
        if (Directory.Exists(folder))
        {
            // Only an interrupted run of an older layout, which drew in place, leaves the folder without its marker.
            log.WriteLine($"GENERATED scenes: {folder} is incomplete (an interrupted run): generating it again");
            DeleteIfThere(folder);
        }
        string staging = string.Create(CultureInfo.InvariantCulture, $"{folder}.{Environment.ProcessId}.{Guid.NewGuid():N}.partial");
        Directory.CreateDirectory(staging);
        log.WriteLine($"GENERATED scenes: drawing {count:N0} scenes (seed {seed}) into {folder}");
        try
        {
            var encoder = new JpegEncoder { Quality = JpegQuality };
            int done = 0, step = Math.Max(1, count / 10);
            object logLock = new();
            Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellation }, index =>
            {
                GeneratedScene scene = Draw(seed, index);
                string id = SceneId(index);
                using (var image = Image.LoadPixelData<Rgb24>(scene.Pixels, scene.Width, scene.Height))
                    AtomicFile.WriteByRename(Path.Combine(staging, id + ".jpg"), stream => image.SaveAsJpeg(stream, encoder));
                string xml = VocAnnotations.ToXml(CacheSubfolder, id + ".jpg", scene.Width, scene.Height, scene.Objects);
                AtomicFile.WriteByRename(Path.Combine(staging, id + ".xml"), stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(xml)));
                int finished = Interlocked.Increment(ref done);
                if (finished % step == 0 && finished < count)
                    lock (logLock) log.WriteLine($"GENERATED scenes: {finished:N0}/{count:N0}");
            });
            AtomicFile.WriteAllText(Path.Combine(staging, CompleteMarkerName), expectedMarker);
            try
            {
                Directory.Move(staging, folder);
                log.WriteLine($"GENERATED scenes: {count:N0}/{count:N0} written");
            }
            catch (IOException) when (IsComplete(folder, expectedMarker))
            {
                // Another process sharing the cache renamed its copy first: the same files, so ours goes.
                log.WriteLine($"GENERATED scenes: {count:N0}/{count:N0} drawn; another process put the same scenes in {folder} first, using those");
                DeleteIfThere(staging);
            }
        }
        catch
        {
            DeleteIfThere(staging);
            throw;
        }
        return folder;
    }

    static bool IsComplete(string folder, string expectedMarker)
    {
        string marker = Path.Combine(folder, CompleteMarkerName);
        return File.Exists(marker) && File.ReadAllText(marker) == expectedMarker;
    }

    /// <summary>Deletes a folder that another process sharing the cache may be deleting at the same time.</summary>
    static void DeleteIfThere(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (DirectoryNotFoundException) { }
    }

    static string MarkerText(int count, int seed) =>
        string.Create(CultureInfo.InvariantCulture, $"generator-version {GeneratorVersion}\ncount {count}\nseed {seed}\n");

    /// <summary>Scene <paramref name="index"/> of <paramref name="seed"/>: its pixels (row-major) and its objects.</summary>
    internal static GeneratedScene Draw(int seed, int index) => new SceneCanvas(new Random(SceneSeed(seed, index))).Draw();

    /// <summary>Mixes (seed, index) into one generator seed (SplitMix64's finaliser), so neighbouring scenes are unrelated.</summary>
    static int SceneSeed(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }
}

/// <summary>A drawn scene: row-major pixels and the objects with their visible-extent boxes.</summary>
sealed record GeneratedScene(int Width, int Height, Rgb24[] Pixels, IReadOnlyList<VocObject> Objects);
