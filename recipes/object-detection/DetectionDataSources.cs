using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.ObjectDetection;

/// <summary>
/// Finds a detection run's data in the order every recipe uses (DESIGN.md 5): <c>--data</c> (a VOC folder or a plain
/// folder of images with VOC XML); a complete, verified PASCAL VOC download in the cache; <c>--download</c> (VOC2007 is
/// about 870 MB, VOC2012 1.9 GB, so never fetched unasked); otherwise GENERATED scenes of shapes. The log says which.
/// </summary>
public static class DetectionDataSources
{
    /// <summary>The generated scenes' split: train, validation, test.</summary>
    public static readonly (double Train, double Validation, double Test) GeneratedShares = (0.8, 0.1, 0.1);

    /// <summary>Resolves <paramref name="request"/>; see the class summary.</summary>
    /// <exception cref="DataFileException">The data given or found is unusable (the message names the file).</exception>
    /// <exception cref="DownloadFailedException">A download was asked for and failed.</exception>
    public static DetectionDataSet Resolve(DetectionDataRequest request, TextWriter log, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(log);

        if (request.DataPath is string path)
        {
            if (!Directory.Exists(path))
                throw new DataFileException(path, "--data must be a folder: a PASCAL VOC folder (Annotations/, JPEGImages/) or images with VOC XML files");
            var folder = DetectionFolderReader.Read(path, request.SkipBad, log);
            string name = folder.Layout == DetectionLayout.Voc
                ? $"PASCAL VOC layout ({Path.GetFileName(Path.TrimEndingDirectorySeparator(folder.Folder))})"
                : $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder.Folder))} (images with VOC XML)";
            return Report(DetectionDataSet.FromFolder(folder, DataSourceKind.Local, name, request.Seed), folder, log);
        }

        // Checked before any request: an unknown year is a usage error, whatever else is available.
        VocDownloads.Archives(request.VocYear, request.VocBaseUrl);
        var downloader = new Downloader(Path.Combine(request.CacheFolder, VocDownloads.CacheSubfolder), progress: new LineDownloadProgress(log));
        if (VocDownloads.FindCached(downloader, request.VocYear, log, request.VocBaseUrl) is string cached)
        {
            log.WriteLine($"Data: PASCAL VOC{request.VocYear} from the cache ({cached})");
            return ReadVoc(cached, request, DataSourceKind.Cache, log);
        }
        if (request.Download)
        {
            log.WriteLine($"Data: downloading PASCAL VOC{request.VocYear} into {downloader.CacheFolderPath}");
            string fetched = VocDownloads.Fetch(downloader, request.VocYear, log, request.VocBaseUrl, cancellation);
            return ReadVoc(fetched, request, DataSourceKind.Download, log);
        }

        log.WriteLine($"Data: no --data and no downloaded PASCAL VOC (--download fetches it): GENERATED {request.GeneratedScenes:N0} scenes " +
                      $"of {GeneratedScenes.ClassNames.Count} shape classes ({string.Join(", ", GeneratedScenes.ClassNames)})");
        string scenes = GeneratedScenes.Generate(request.CacheFolder, request.GeneratedScenes, request.Seed, log, cancellation);
        // Generated files are ours: any bad one is a bug, never something to skip.
        var generated = DetectionFolderReader.Read(scenes, skipBad: false, log, GeneratedScenes.ClassNames);
        var set = DetectionDataSet.FromFolder(generated, DataSourceKind.Generated, "GENERATED shape scenes", request.Seed, GeneratedShares);
        return Report(set, generated, log);
    }

    static DetectionDataSet ReadVoc(string folder, DetectionDataRequest request, DataSourceKind source, TextWriter log)
    {
        var read = DetectionFolderReader.Read(folder, request.SkipBad, log);
        return Report(DetectionDataSet.FromFolder(read, source, $"PASCAL VOC{request.VocYear}", request.Seed), read, log);
    }

    static DetectionDataSet Report(DetectionDataSet set, DetectionFolder folder, TextWriter log)
    {
        int boxes = set.Train.Concat(set.Validation).Concat(set.Test).Sum(image => image.Objects.Count);
        log.WriteLine($"Data: {set.Name} ({set.Source.ToMetricName()}): {set.Train.Count:N0} train / {set.Validation.Count:N0} validation / " +
                      $"{set.Test.Count:N0} test images, {boxes:N0} boxes, {set.ClassNames.Count} {(set.ClassNames.Count == 1 ? "class" : "classes")}; split: {set.SplitMethod}" +
                      (set.SkippedFiles > 0 ? $"; skipped {set.SkippedFiles:N0} bad files" : "") +
                      (folder.ClippedBoxes > 0 ? $"; clipped {folder.ClippedBoxes:N0} boxes overrunning the image slightly" : ""));
        if (set.Train.Count == 0 || set.Test.Count == 0)
            throw new DataFileException(folder.Folder, "no training or no test images after the split");
        return set;
    }
}
