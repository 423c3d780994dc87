using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.ObjectDetection;

/// <summary>
/// PASCAL VOC from its official site: VOC2007 as two tars (trainval, 439 MB; test, 430 MB) and VOC2012 as one
/// (trainval, 1.9 GB), each unpacking to <c>VOCdevkit/VOC&lt;year&gt;/</c>. The site publishes MD5 sums only, which
/// the runtime's downloader does not check, so each tar is fetched <see cref="RemoteFile.WithoutPublishedChecksum"/>:
/// the SHA-256 of its first download is recorded beside it (<c>.sha256</c>) and every later use is held to it.
/// </summary>
/// <remarks>
/// Layout of the cache folder (<c>&lt;cache&gt;/pascal-voc</c>): the tars, their <c>.sha256</c> records, and
/// <c>unpacked/VOCdevkit/VOC2007</c> (both 2007 tars unpack into the same folder, so it gets train, val, trainval and
/// test lists) and <c>unpacked/VOCdevkit/VOC2012</c>. A marker beside each tar (<c>&lt;tar&gt;.unpacked</c>, written last)
/// records the tar's SHA-256 and every file it unpacked with its size; the tars stay, since their checksums are
/// what vouch for the unpacked files on the next run.
/// </remarks>
public static class VocDownloads
{
    public const string CacheSubfolder = "pascal-voc";
    public const string UnpackedFolderName = "unpacked";
    public static readonly Uri OfficialBaseUrl = new("http://host.robots.ox.ac.uk/pascal/VOC/");
    public static IReadOnlyList<string> Years { get; } = ["2007", "2012"];

    const string MarkerSuffix = ".unpacked";

    /// <summary>The tars of VOC <paramref name="year"/>, under <paramref name="baseUrl"/> (the official site when null).</summary>
    /// <exception cref="ArgumentException">The year is neither "2007" nor "2012".</exception>
    public static IReadOnlyList<RemoteFile> Archives(string year, Uri? baseUrl = null)
    {
        Uri root = baseUrl ?? OfficialBaseUrl;
        string[] paths = year switch
        {
            "2007" => ["voc2007/VOCtrainval_06-Nov-2007.tar", "voc2007/VOCtest_06-Nov-2007.tar"],
            "2012" => ["voc2012/VOCtrainval_11-May-2012.tar"],
            _ => throw new ArgumentException($"VOC year '{year}' is not one of {string.Join(", ", Years)}", nameof(year)),
        };
        return paths.Select(path => RemoteFile.WithoutPublishedChecksum(new Uri(root, path), Path.GetFileName(path))).ToArray();
    }

    /// <summary>Where VOC <paramref name="year"/> lands below the downloader's folder: <c>unpacked/VOCdevkit/VOC&lt;year&gt;</c>.</summary>
    public static string VocFolder(Downloader downloader, string year) =>
        Path.Combine(downloader.CacheFolderPath, UnpackedFolderName, "VOCdevkit", "VOC" + year);

    /// <summary>
    /// Fetches (or resumes) each tar of VOC <paramref name="year"/> into the downloader's folder (make it with
    /// <c>new Downloader(Path.Combine(cache, VocDownloads.CacheSubfolder), ...)</c>), checks cached ones against their
    /// recorded SHA-256, and unpacks each safely (<see cref="ArchiveExtractor"/>) unless its marker says it already was,
    /// from this very tar, with every file still there. Returns the VOC folder. Makes no request when all is in place.
    /// </summary>
    /// <exception cref="DownloadFailedException">The server could not be reached, refused, stalled or cut the transfer off.</exception>
    /// <exception cref="DataFileException">A tar does not match its record, is corrupt or has an entry that would land
    /// outside its folder (it is deleted with its record), or does not hold <c>VOCdevkit/VOC&lt;year&gt;</c>, or another
    /// process is fetching into the same folder.</exception>
    public static string Fetch(Downloader downloader, string year, TextWriter log, Uri? baseUrl = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(downloader);
        ArgumentNullException.ThrowIfNull(log);
        var archives = Archives(year, baseUrl);
        string folder = downloader.CacheFolderPath;
        Directory.CreateDirectory(folder);
        using FileStream folderLock = UnpackedArchives.LockFolder(folder, "PASCAL VOC");
        string unpacked = Path.Combine(folder, UnpackedFolderName);

        foreach (RemoteFile archive in archives)
        {
            string archiveSha256 = UnpackedArchives.Obtain(downloader, archive, $"{archive.FileName} (no SHA-256 is published: the first download's is recorded)", log, cancellation);
            string marker = downloader.CachedPath(archive) + MarkerSuffix;
            if (UnpackedArchives.IsUnpacked(marker, unpacked, archiveSha256, out string? problem)) continue;
            if (problem is not null) log.WriteLine($"{archive.FileName} {problem}: unpacking it again.");

            // Only this process can be extracting here (the lock): whatever a killed run left behind is garbage.
            int abandoned = ArchiveExtractor.DeleteAbandonedStaging(unpacked);
            if (abandoned > 0) log.WriteLine($"Deleted {abandoned} half-unpacked copy(ies) left by an interrupted run.");
            // The marker goes before the files change: a run killed while they do must not find it still valid.
            File.Delete(marker);
            log.WriteLine($"Unpacking {archive.FileName} into {unpacked} ...");
            IReadOnlyList<string> written;
            try
            {
                written = ArchiveExtractor.Extract(downloader.CachedPath(archive), unpacked);
            }
            catch (DataFileException refused)
            {
                // Its checksum only says it is the file first downloaded; that file is unusable, and so is its record.
                File.Delete(downloader.CachedPath(archive));
                File.Delete(downloader.ChecksumRecordPath(archive));
                throw new DataFileException(refused.FilePath,
                    $"{refused.Problem} (the archive and its recorded checksum were deleted, so the next run downloads it again)", refused);
            }
            UnpackedArchives.WriteMarker(marker, unpacked, archiveSha256, written);
            log.WriteLine($"{archive.FileName}: {written.Count:N0} files unpacked.");
        }

        string voc = VocFolder(downloader, year);
        if (!Directory.Exists(Path.Combine(voc, "Annotations")))
            throw new DataFileException(unpacked, $"the VOC{year} archives did not unpack to VOCdevkit/VOC{year}/Annotations");
        return voc;
    }

    /// <summary>
    /// The VOC folder if the downloader's folder holds a complete earlier download of VOC <paramref name="year"/>: each
    /// tar matching its recorded SHA-256 (this reads every tar) and fully unpacked. Null otherwise; a tar that no longer
    /// matches is deleted and <paramref name="log"/> says so. Makes no request.
    /// </summary>
    public static string? FindCached(Downloader downloader, string year, TextWriter log, Uri? baseUrl = null)
    {
        ArgumentNullException.ThrowIfNull(downloader);
        ArgumentNullException.ThrowIfNull(log);
        string unpacked = Path.Combine(downloader.CacheFolderPath, UnpackedFolderName);
        foreach (RemoteFile archive in Archives(year, baseUrl))
        {
            if (UnpackedArchives.VerifyCached(downloader, archive, log) is not { } archiveSha256) return null;
            if (!UnpackedArchives.IsUnpacked(downloader.CachedPath(archive) + MarkerSuffix, unpacked, archiveSha256, out string? problem))
            {
                if (problem is not null) log.WriteLine($"{archive.FileName} in the cache {problem}.");
                return null;
            }
        }
        string voc = VocFolder(downloader, year);
        return Directory.Exists(voc) ? voc : null;
    }

}
