namespace Recipes.Xray;

/// <summary>
/// The images to train on, to validate on each epoch and to test on at the end, and how they were chosen
/// (<see cref="Method"/>, for the run report). Every patient's images sit in one part only: a patient's
/// follow-up X-rays look alike, so letting them into two parts would score memory rather than diagnosis.
/// </summary>
public sealed record ChestXraySplit(IReadOnlyList<ChestXrayImage> Train, IReadOnlyList<ChestXrayImage> Validation,
    IReadOnlyList<ChestXrayImage> Test, string Method)
{
    /// <summary>Patients that appear in more than one of the three parts (0 for every split this recipe makes).</summary>
    public int PatientOverlap => CountPatientOverlap(Train, Validation, Test);

    /// <summary>How many patients have images in more than one of the three collections.</summary>
    public static int CountPatientOverlap(IEnumerable<ChestXrayImage> a, IEnumerable<ChestXrayImage> b, IEnumerable<ChestXrayImage> c)
    {
        var partsOfPatient = new Dictionary<string, int>(StringComparer.Ordinal);
        int part = 0;
        foreach (var images in new[] { a, b, c })
        {
            int bit = 1 << part++;
            foreach (var image in images)
                partsOfPatient[image.PatientId] = partsOfPatient.GetValueOrDefault(image.PatientId) | bit;
        }
        return partsOfPatient.Values.Count(parts => (parts & (parts - 1)) != 0); // more than one bit set
    }
}

/// <summary>
/// Splits ChestX-ray14 images by patient, with a seed. With the official NIH lists the test part is exactly
/// <c>test_list.txt</c> (comparable with published results) and the patients of <c>train_val_list.txt</c> are
/// divided 90/10 into training and validation; without them the patients are divided 70/10/20.
/// Patients are sorted before the seeded shuffle, so the same images and seed give the same split in any order.
/// </summary>
public static class PatientSplit
{
    public const double ValidationFractionOfTrainVal = 0.1;
    public const double ValidationFraction = 0.1;
    public const double TestFraction = 0.2;

    /// <summary>
    /// Uses the official lists when both are given (images in neither are left out and counted in the method text);
    /// otherwise a 70/10/20 patient split. Each part gets at least one patient when there are 3 patients or more
    /// (2 patients: one to train, one to test; 1 patient: training only). Within a part, images keep their input order.
    /// </summary>
    /// <exception cref="ArgumentException">no images, or the lists put one patient's images in both test and
    /// train/validation (the CSV's patient ids disagree with the lists).</exception>
    public static ChestXraySplit Split(IReadOnlyList<ChestXrayImage> images, IReadOnlySet<string>? officialTrainVal,
        IReadOnlySet<string>? officialTest, int seed)
    {
        if (images.Count == 0) throw new ArgumentException("there are no images to split", nameof(images));
        return officialTrainVal is not null && officialTest is not null
            ? SplitWithOfficialLists(images, officialTrainVal, officialTest, seed)
            : SplitAllByPatient(images, seed);
    }

    static ChestXraySplit SplitAllByPatient(IReadOnlyList<ChestXrayImage> images, int seed)
    {
        string[] patients = ShuffledPatients(images, seed);
        int n = patients.Length;
        int testCount = n >= 3 ? Math.Clamp((int)Math.Round(n * TestFraction), 1, n - 2) : n - 1;
        int validationCount = n >= 3 ? Math.Clamp((int)Math.Round(n * ValidationFraction), 1, n - testCount - 1) : 0;
        var testPatients = patients[..testCount].ToHashSet(StringComparer.Ordinal);
        var validationPatients = patients[testCount..(testCount + validationCount)].ToHashSet(StringComparer.Ordinal);

        var train = new List<ChestXrayImage>();
        var validation = new List<ChestXrayImage>();
        var test = new List<ChestXrayImage>();
        foreach (var image in images)
        {
            if (testPatients.Contains(image.PatientId)) test.Add(image);
            else if (validationPatients.Contains(image.PatientId)) validation.Add(image);
            else train.Add(image);
        }
        return new ChestXraySplit(train, validation, test, $"70/10/20 by patient (seed {seed})");
    }

    static ChestXraySplit SplitWithOfficialLists(IReadOnlyList<ChestXrayImage> images, IReadOnlySet<string> officialTrainVal,
        IReadOnlySet<string> officialTest, int seed)
    {
        var test = new List<ChestXrayImage>();
        var trainVal = new List<ChestXrayImage>();
        int inNeither = 0;
        foreach (var image in images)
        {
            if (officialTest.Contains(image.ImageIndex)) test.Add(image);
            else if (officialTrainVal.Contains(image.ImageIndex)) trainVal.Add(image);
            else inNeither++;
        }

        var testPatients = test.Select(image => image.PatientId).ToHashSet(StringComparer.Ordinal);
        var leaked = trainVal.Where(image => testPatients.Contains(image.PatientId)).ToList();
        if (leaked.Count > 0)
        {
            var example = leaked[0];
            string testImage = test.First(image => image.PatientId == example.PatientId).ImageIndex;
            int patientCount = leaked.Select(image => image.PatientId).Distinct().Count();
            throw new ArgumentException(
                $"{patientCount} patient{(patientCount == 1 ? " has" : "s have")} images in both the official test list and train/validation list " +
                $"(patient {example.PatientId}: {testImage} is a test image, {example.ImageIndex} is not); the lists and the CSV's Patient ID disagree");
        }

        string[] patients = ShuffledPatients(trainVal, seed);
        int n = patients.Length;
        int validationCount = n >= 2 ? Math.Clamp((int)Math.Round(n * ValidationFractionOfTrainVal), 1, n - 1) : 0;
        var validationPatients = patients[..validationCount].ToHashSet(StringComparer.Ordinal);
        var train = new List<ChestXrayImage>();
        var validation = new List<ChestXrayImage>();
        foreach (var image in trainVal)
            (validationPatients.Contains(image.PatientId) ? validation : train).Add(image);

        string method = $"official NIH lists; train/validation 90/10 by patient (seed {seed})";
        if (inNeither > 0) method += $"; {inNeither} image{(inNeither == 1 ? "" : "s")} in neither list left out";
        return new ChestXraySplit(train, validation, test, method);
    }

    /// <summary>The distinct patients in ordinal order, then shuffled by the seed: the result does not depend on
    /// the order of the images.</summary>
    static string[] ShuffledPatients(IEnumerable<ChestXrayImage> images, int seed)
    {
        string[] patients = images.Select(image => image.PatientId).Distinct(StringComparer.Ordinal).ToArray();
        Array.Sort(patients, StringComparer.Ordinal);
        new Random(seed).Shuffle(patients);
        return patients;
    }
}
