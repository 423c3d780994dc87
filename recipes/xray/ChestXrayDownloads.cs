using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.Xray;

/// <summary>
/// NIH ChestX-ray14 from where it is published: the 12 image archives (about 42 GB in all) at the NIH Box
/// shared links that NIH's own batch_download_zips.py lists, and the labels CSV and the official split lists
/// from the Hugging Face mirror alkzar90/NIH-Chest-X-ray-dataset (NIH's Box folder has no direct links for
/// them). NIH publishes no checksums, so the SHA-256 of each file's first download is recorded beside it and
/// every later use is held to it: a copy that changed is deleted and fetched again, never used.
/// </summary>
/// <remarks>
/// The cache folder (<c>&lt;cache&gt;/chestxray14</c>) is also the data set's folder, in NIH's layout:
/// <c>Data_Entry_2017_v2020.csv</c>, <c>train_val_list.txt</c> and <c>test_list.txt</c> directly in it, and
/// archive N unpacked into <c>images_00N/images/*.png</c>. The archives stay beside them, since their
/// checksums are what vouch for the images on the next run: the whole set takes about 84 GB.
/// </remarks>
public static class ChestXrayDownloads
{
    public const int ArchiveCount = 12;
    public const string CacheSubfolder = "chestxray14";
    public const string LabelsFileName = "Data_Entry_2017_v2020.csv";
    public const string TrainValListFileName = "train_val_list.txt";
    public const string TestListFileName = "test_list.txt";

    /// <summary>Written (atomically) beside archive N once it is fully unpacked: <c>images_00N.extracted</c>.</summary>
    const string ExtractedMarkerSuffix = ".extracted";

    public static readonly Uri NihBox = new("https://nihcc.box.com/shared/static/");
    public static readonly Uri MetadataMirror = new("https://huggingface.co/datasets/alkzar90/NIH-Chest-X-ray-dataset/resolve/main/data/");

    // images_001.tar.gz .. images_012.tar.gz in order, as NIH's batch_download_zips.py lists them.
    static readonly string[] BoxSharedLinks =
    [
        "vfk49d74nhbxq3nqjg0900w5nvkorp5c.gz", "i28rlmbvmfjbl8p2n3ril0pptcmcu9d1.gz", "f1t00wrtdk94satdfb9olcolqx20z2jp.gz",
        "0aowwzs5lhjrceb3qp67ahp0rd1l1etg.gz", "v5e3goj22zr6h8tzualxfsqlqaygfbsn.gz", "asi7ikud9jwnkrnkj99jnpfkjdes7l6l.gz",
        "jn1b4mw4n6lnh74ovmcjb8y48h8xj07n.gz", "tvpxmn7qyrgl0w8wfh9kqfjskv6nmm1j.gz", "upyy3ml7qdumlgk2rfcvlb9k6gvqq2pj.gz",
        "l6nilvfa9cg3s28tqv1qc1olm3gnz54p.gz", "hhq8fkdgvcari67vfhs7ppg2w6ni4jze.gz", "ioqwiy20ihqwyr8pf4c24eazhh281pbu.gz",
    ];

    /// <summary>The 12 image archives, <c>images_001.tar.gz</c> .. <c>images_012.tar.gz</c>, each unpacking to <c>images/*.png</c>.</summary>
    public static IReadOnlyList<RemoteFile> Archives { get; } =
        BoxSharedLinks.Select((link, index) => RemoteFile.WithoutPublishedChecksum(new Uri(NihBox, link), ArchiveFileName(index + 1))).ToArray();

    /// <summary>The labels CSV (112,120 rows) and the official patient-level split lists.</summary>
    public static IReadOnlyList<RemoteFile> MetadataFiles { get; } =
        new[] { LabelsFileName, TrainValListFileName, TestListFileName }
            .Select(name => RemoteFile.WithoutPublishedChecksum(new Uri(MetadataMirror, name), name)).ToArray();

    /// <summary>"images_001.tar.gz" for part 1.</summary>
    public static string ArchiveFileName(int part) => $"{ImagesFolderName(part)}.tar.gz";

    /// <summary>"images_001" for part 1: the folder archive 1 is unpacked into, inside the data folder.</summary>
    public static string ImagesFolderName(int part) => $"images_{part:000}";

    /// <summary>
    /// Fetches the metadata files and the first <paramref name="parts"/> archives into the downloader's cache
    /// folder (make it with <c>new Downloader(Path.Combine(cache, ChestXrayDownloads.CacheSubfolder), ...)</c>),
    /// with its progress reports and resumption of partial downloads; records each new file's SHA-256 and checks
    /// every cached one against its record (deleting, and saying so, any that no longer match); unpacks each
    /// archive safely into <c>images_00N/</c> unless a marker says it already was, from this very archive, and
    /// every file it wrote is still there. Returns the folder. Makes no request when everything is in place.
    /// </summary>
    /// <param name="archives">Other addresses for the archives (tests); the same file names as <see cref="Archives"/>.</param>
    /// <param name="metadata">Other addresses for the metadata files (tests); the same file names as <see cref="MetadataFiles"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parts"/> is not 1 to 12.</exception>
    /// <exception cref="DownloadFailedException">A server could not be reached, refused, stalled or cut the transfer off.</exception>
    /// <exception cref="DataFileException">A download does not match its recorded checksum, an archive is corrupt or
    /// has an entry that would land outside its folder (it is deleted with its record), or another process is
    /// fetching into the same folder.</exception>
    public static string Fetch(Downloader downloader, int parts, TextWriter log,
        IReadOnlyList<RemoteFile>? archives = null, IReadOnlyList<RemoteFile>? metadata = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(downloader);
        ArgumentNullException.ThrowIfNull(log);
        CheckParts(parts);
        archives = CheckSameNames(archives, Archives, parts, nameof(archives));
        metadata = CheckSameNames(metadata, MetadataFiles, MetadataFiles.Count, nameof(metadata));

        string folder = downloader.CacheFolderPath;
        Directory.CreateDirectory(folder);
        using FileStream folderLock = UnpackedArchives.LockFolder(folder, "ChestX-ray14");
        log.WriteLine($"ChestX-ray14 in {folder}: the labels, the official split and {parts} of its {ArchiveCount} image archives " +
                      "(about 3.5 GB each, and as much again unpacked).");

        foreach (RemoteFile file in metadata)
            UnpackedArchives.Obtain(downloader, file, file.FileName, log, cancellation);

        for (int part = 1; part <= parts; part++)
        {
            RemoteFile archive = archives[part - 1];
            string archiveSha256 = UnpackedArchives.Obtain(downloader, archive, $"{archive.FileName} (archive {part} of {parts})", log, cancellation);
            string imagesFolder = Path.Combine(folder, ImagesFolderName(part));
            string marker = MarkerPath(folder, part);
            if (IsUnpacked(folder, part, archiveSha256, out string? problem)) continue;
            if (problem is not null) log.WriteLine($"{ImagesFolderName(part)}/ {problem}: unpacking {archive.FileName} again.");

            // Only this process can be extracting here (the lock): whatever a killed run left behind is garbage.
            int abandoned = ArchiveExtractor.DeleteAbandonedStaging(imagesFolder);
            if (abandoned > 0) log.WriteLine($"Deleted {abandoned} half-unpacked copy(ies) of {archive.FileName} left by an interrupted run.");
            // The marker goes before the files change: a run killed while they do must not find it still valid.
            File.Delete(marker);
            log.WriteLine($"Unpacking {archive.FileName} into {ImagesFolderName(part)}/ ...");
            IReadOnlyList<string> written;
            try
            {
                written = ArchiveExtractor.Extract(downloader.CachedPath(archive), imagesFolder);
            }
            catch (DataFileException refused)
            {
                // Its checksum only says it is the file first downloaded; that file is unusable, so is its record.
                File.Delete(downloader.CachedPath(archive));
                File.Delete(downloader.ChecksumRecordPath(archive));
                log.WriteLine($"Deleted {archive.FileName} and its recorded checksum: it cannot be unpacked ({refused.Problem}).");
                throw new DataFileException(refused.FilePath,
                    $"{refused.Problem} (the archive and its recorded checksum were deleted, so the next run downloads it again)", refused);
            }
            UnpackedArchives.WriteMarker(marker, imagesFolder, archiveSha256, written);
            log.WriteLine($"{ImagesFolderName(part)}/: {written.Count:N0} files.");
        }
        return folder;
    }

    /// <summary>
    /// The downloader's cache folder if it holds a complete earlier download of the metadata files and the first
    /// <paramref name="parts"/> archives: each file matching its recorded SHA-256 (this reads every archive: about
    /// 3.5 GB each) and each archive fully unpacked. Null otherwise; a file that no longer matches its record is
    /// deleted and <paramref name="log"/> says so. Makes no request.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parts"/> is not 1 to 12.</exception>
    public static string? FindCached(Downloader downloader, int parts, TextWriter log,
        IReadOnlyList<RemoteFile>? archives = null, IReadOnlyList<RemoteFile>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(downloader);
        ArgumentNullException.ThrowIfNull(log);
        CheckParts(parts);
        archives = CheckSameNames(archives, Archives, parts, nameof(archives));
        metadata = CheckSameNames(metadata, MetadataFiles, MetadataFiles.Count, nameof(metadata));
        string folder = downloader.CacheFolderPath;

        foreach (RemoteFile file in metadata)
            if (UnpackedArchives.VerifyCached(downloader, file, log) is null) return null;
        for (int part = 1; part <= parts; part++)
        {
            if (UnpackedArchives.VerifyCached(downloader, archives[part - 1], log) is not { } archiveSha256) return null;
            if (!IsUnpacked(folder, part, archiveSha256, out string? problem))
            {
                if (problem is not null) log.WriteLine($"{ImagesFolderName(part)}/ in the cache {problem}.");
                return null;
            }
        }
        return folder;
    }

    static void CheckParts(int parts)
    {
        if (parts is < 1 or > ArchiveCount)
            throw new ArgumentOutOfRangeException(nameof(parts), parts,
                $"ChestX-ray14 comes in {ArchiveCount} image archives of about 3.5 GB each: ask for 1 to {ArchiveCount} of them");
    }

    static IReadOnlyList<RemoteFile> CheckSameNames(IReadOnlyList<RemoteFile>? given, IReadOnlyList<RemoteFile> official, int needed, string parameter)
    {
        if (given is null) return official;
        if (given.Count < needed)
            throw new ArgumentException($"{needed} files are needed, {given.Count} were given", parameter);
        for (int i = 0; i < needed; i++)
            if (given[i].FileName != official[i].FileName)
                throw new ArgumentException($"file {i + 1} is named '{given[i].FileName}'; the data set's readers expect '{official[i].FileName}'", parameter);
        return given;
    }

    static string MarkerPath(string folder, int part) => Path.Combine(folder, ImagesFolderName(part) + ExtractedMarkerSuffix);

    static bool IsUnpacked(string folder, int part, string archiveSha256, out string? problem) =>
        UnpackedArchives.IsUnpacked(MarkerPath(folder, part), Path.Combine(folder, ImagesFolderName(part)), archiveSha256, out problem);

}
