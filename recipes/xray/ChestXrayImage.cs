namespace Recipes.Xray;

/// <summary>
/// One labelled chest X-ray: its NIH file name (<c>00000001_000.png</c>), the patient it belongs to (the CSV's
/// <c>Patient ID</c> as written, which is what splits must keep together), its multi-hot labels over
/// <see cref="ChestXrayFindings.Names"/>, and the full path of the PNG.
/// </summary>
public sealed record ChestXrayImage(string ImageIndex, string PatientId, float[] Labels, string Path);
