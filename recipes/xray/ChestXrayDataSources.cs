using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;
using Recipes.Runtime.Recipes;

namespace Recipes.Xray;

/// <summary>The data a run uses: the labelled images, where they came from, and for phantoms the drawn lesions.</summary>
public sealed record ChestXrayData(ChestXrayDataSet Set, DataSourceKind Source, string Name,
    IReadOnlyDictionary<string, IReadOnlyList<PhantomLesion>>? Lesions);

/// <summary>
/// Finds the run's data in the order every recipe uses (DESIGN.md 5): <c>--data</c>; a complete download in
/// the cache; <c>--download</c> (42 GB in full, so never started without being asked); otherwise generated
/// phantom radiographs, written in the NIH layout so they go through the same reader as the real release.
/// </summary>
public static class ChestXrayDataSources
{
    public static ChestXrayData Resolve(CommonOptions options, XraySettings settings, TextWriter log)
    {
        if (options.Data is string folder)
        {
            if (!Directory.Exists(folder)) throw new DataFileException(folder, "--data must be a folder in the NIH layout (Data_Entry_2017*.csv, PNGs below it)");
            return Loaded(ChestXrayDataSet.Load(folder, settings.SkipMissing), DataSourceKind.Local, log);
        }
        // A complete, verified download of the archives asked for (--parts) is the cache tier; --download fetches
        // what is missing. Either way the images of other archives are not read.
        var downloader = new Downloader(Path.Combine(options.CacheFolder, ChestXrayDownloads.CacheSubfolder), progress: new LineDownloadProgress(log));
        if (ChestXrayDownloads.FindCached(downloader, settings.Parts, log) is string cached)
            return Loaded(ChestXrayDataSet.Load(cached, skipMissing: true), DataSourceKind.Cache, log);
        if (settings.Download && !options.Offline)
        {
            log.WriteLine($"Downloading NIH ChestX-ray14: the labels, the official lists and {settings.Parts} of the {ChestXrayDownloads.ArchiveCount} image archives (about 3.5 GB each)");
            string fetched = ChestXrayDownloads.Fetch(downloader, settings.Parts, log);
            // Only the images of the archives fetched so far are there: the other rows of the labels file are skipped.
            return Loaded(ChestXrayDataSet.Load(fetched, skipMissing: true), DataSourceKind.Download, log);
        }

        string phantoms = Path.Combine(options.Output, "data", "phantoms");
        log.WriteLine($"Data: no --data and no downloaded release (--download fetches it): GENERATED {settings.Phantoms:N0} phantom radiographs " +
                      $"with drawn findings in {phantoms}");
        PhantomRadiographs.Generate(phantoms, settings.Phantoms, options.Seed);
        var set = ChestXrayDataSet.Load(phantoms);
        return new ChestXrayData(set, DataSourceKind.Generated, "GENERATED phantom radiographs", PhantomRadiographs.ReadLesions(phantoms));
    }

    static ChestXrayData Loaded(ChestXrayDataSet set, DataSourceKind source, TextWriter log)
    {
        string name = $"NIH ChestX-ray14 ({Path.GetFileName(Path.TrimEndingDirectorySeparator(set.Folder))})";
        log.WriteLine($"Data: {set.Images.Count:N0} labelled images from {set.Folder} ({source.ToMetricName()}), labels {Path.GetFileName(set.LabelsFile)}" +
                      (set.MissingSkipped > 0 ? $"; skipped {set.MissingSkipped:N0} listed images not found" : "") +
                      (set.UnlistedImages > 0 ? $"; {set.UnlistedImages:N0} images not in the labels file ignored" : "") +
                      (set.OfficialTest is not null ? "; official train_val/test lists found" : ""));
        if (set.Images.Count == 0) throw new DataFileException(set.Folder, "no labelled images to train on");
        return new ChestXrayData(set, source, name, null);
    }
}
