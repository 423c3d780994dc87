using Recipes.Xray;
using static Recipes.Tests.Xray.ChestXrayTestFiles;

namespace Recipes.Tests.Xray;

public class PatientSplitTests
{
    static ChestXrayImage Image(int patient, int followUp) =>
        new($"{patient:D8}_{followUp:D3}.png", patient.ToString(), new float[ChestXrayFindings.Count], $"/nowhere/{patient:D8}_{followUp:D3}.png");

    /// <summary><paramref name="patients"/> patients with 1 to 6 images each (a fixed pattern, not random).</summary>
    static List<ChestXrayImage> ManyPatients(int patients) =>
        [.. Enumerable.Range(1, patients).SelectMany(patient => Enumerable.Range(0, 1 + patient * 7 % 6).Select(followUp => Image(patient, followUp)))];

    static int Patients(IEnumerable<ChestXrayImage> images) => images.Select(image => image.PatientId).Distinct().Count();

    static string[] Names(IEnumerable<ChestXrayImage> images) => [.. images.Select(image => image.ImageIndex).Order(StringComparer.Ordinal)];

    [Fact]
    public void A_seeded_split_keeps_every_patient_in_one_part_and_divides_patients_70_10_20()
    {
        var images = ManyPatients(500);

        var split = PatientSplit.Split(images, null, null, seed: 1);

        Assert.Equal(0, split.PatientOverlap);
        Assert.Equal((350, 50, 100), (Patients(split.Train), Patients(split.Validation), Patients(split.Test)));
        Assert.Equal(Names(images), Names([.. split.Train, .. split.Validation, .. split.Test])); // every image exactly once
        Assert.Equal("70/10/20 by patient (seed 1)", split.Method);
        // Within a part the images keep their input order.
        Assert.Equal(images.Where(split.Test.Contains), split.Test);
    }

    [Fact]
    public void The_same_seed_gives_the_same_split_in_any_input_order_and_another_seed_another_split()
    {
        var images = ManyPatients(300);
        var shuffled = images.ToList();
        new Random(99).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled));

        var first = PatientSplit.Split(images, null, null, seed: 7);
        var again = PatientSplit.Split(shuffled, null, null, seed: 7);
        var other = PatientSplit.Split(images, null, null, seed: 8);

        Assert.Equal(Names(first.Train), Names(again.Train));
        Assert.Equal(Names(first.Validation), Names(again.Validation));
        Assert.Equal(Names(first.Test), Names(again.Test));
        Assert.NotEqual(Names(first.Test), Names(other.Test));
        Assert.NotEqual(Names(first.Validation), Names(other.Validation));
        Assert.Equal(0, other.PatientOverlap);
    }

    [Theory]
    [InlineData(1, 1, 0, 0)]
    [InlineData(2, 1, 0, 1)]
    [InlineData(3, 1, 1, 1)]
    [InlineData(4, 2, 1, 1)]
    [InlineData(10, 7, 1, 2)]
    public void Each_part_gets_a_patient_as_soon_as_there_are_three(int patients, int train, int validation, int test)
    {
        var split = PatientSplit.Split(ManyPatients(patients), null, null, seed: 3);

        Assert.Equal((train, validation, test), (Patients(split.Train), Patients(split.Validation), Patients(split.Test)));
        Assert.Equal(0, split.PatientOverlap);
    }

    [Fact]
    public void With_the_official_lists_the_test_part_is_exactly_the_listed_images()
    {
        var images = ManyPatients(200);
        // Patients 1..40 are the test patients; patient 200's images are in neither list.
        var test = images.Where(image => int.Parse(image.PatientId) <= 40).Select(image => image.ImageIndex).ToHashSet();
        var trainVal = images.Where(image => int.Parse(image.PatientId) is > 40 and < 200).Select(image => image.ImageIndex).ToHashSet();
        int inNeither = images.Count(image => image.PatientId == "200");

        var split = PatientSplit.Split(images, trainVal, test, seed: 1);

        Assert.Equal(test.Order(StringComparer.Ordinal), Names(split.Test));
        Assert.Equal(trainVal.Order(StringComparer.Ordinal), Names([.. split.Train, .. split.Validation]));
        Assert.Equal(0, split.PatientOverlap);
        Assert.Equal((143, 16), (Patients(split.Train), Patients(split.Validation))); // 159 patients, 10% rounded
        Assert.Equal($"official NIH lists; train/validation 90/10 by patient (seed 1); {inNeither} images in neither list left out", split.Method);
        Assert.NotEqual(Names(split.Validation), Names(PatientSplit.Split(images, trainVal, test, seed: 2).Validation));
    }

    [Fact]
    public void Lists_that_put_one_patient_in_test_and_train_are_refused()
    {
        var images = ManyPatients(20);
        var test = new HashSet<string> { "00000005_000.png" };
        var trainVal = images.Select(image => image.ImageIndex).Where(name => !test.Contains(name)).ToHashSet();

        var error = Assert.Throws<ArgumentException>(() => PatientSplit.Split(images, trainVal, test, seed: 1));
        Assert.StartsWith("1 patient has images in both the official test list and train/validation list (patient 5: 00000005_000.png is a test image", error.Message);
    }

    [Fact]
    public void Only_one_list_means_no_official_split()
    {
        var images = ManyPatients(30);
        var split = PatientSplit.Split(images, images.Select(image => image.ImageIndex).ToHashSet(), null, seed: 1);

        Assert.Equal("70/10/20 by patient (seed 1)", split.Method);
        Assert.NotEmpty(split.Test);
    }

    [Fact]
    public void Patient_overlap_counts_patients_in_more_than_one_part()
    {
        ChestXrayImage[] a = [Image(1, 0), Image(2, 0)], b = [Image(2, 1), Image(3, 0)], c = [Image(3, 1), Image(2, 2), Image(4, 0)];

        Assert.Equal(2, ChestXraySplit.CountPatientOverlap(a, b, c)); // patients 2 (three parts) and 3 (two)
        Assert.Equal(0, ChestXraySplit.CountPatientOverlap(a, [Image(3, 0)], [Image(4, 0), Image(4, 1)]));
        Assert.Equal(2, new ChestXraySplit(a, b, c, "by hand").PatientOverlap);
    }

    [Fact]
    public void The_full_official_lists_split_all_112120_images_without_a_shared_patient()
    {
        var data = ChestXrayDataSet.Load(FullLabelsFolder, skipMissing: true);
        var rows = ChestXrayLabelsCsv.Read(data.LabelsFile);
        var images = rows.Select(row => new ChestXrayImage(row.ImageIndex, row.PatientId, row.Labels, "/fake/" + row.ImageIndex)).ToList();

        var split = PatientSplit.Split(images, data.OfficialTrainVal, data.OfficialTest, seed: 1);

        Assert.Equal(0, split.PatientOverlap);
        Assert.Equal(25_596, split.Test.Count);
        Assert.True(split.Test.All(image => data.OfficialTest!.Contains(image.ImageIndex)));
        Assert.Equal(86_524, split.Train.Count + split.Validation.Count);
        Assert.Equal("official NIH lists; train/validation 90/10 by patient (seed 1)", split.Method);
        int trainValPatients = Patients(split.Train) + Patients(split.Validation);
        Assert.Equal((int)Math.Round(trainValPatients * 0.1), Patients(split.Validation));
    }
}
