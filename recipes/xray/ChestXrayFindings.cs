namespace Recipes.Xray;

/// <summary>
/// The 14 findings of NIH ChestX-ray14 in the fixed order every file, tensor and metric of this recipe uses
/// (the order of the NIH paper and of CheXNet). An image's labels are a multi-hot vector over them;
/// "No Finding" is the all-zeros vector, not a fifteenth class.
/// </summary>
public static class ChestXrayFindings
{
    public const string NoFinding = "No Finding";

    public static IReadOnlyList<string> Names { get; } =
    [
        "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
        "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
    ];

    public static int Count => Names.Count;

    /// <summary>The index of a finding name (exact, case-sensitive as in the NIH files), or -1.</summary>
    public static int IndexOf(string name)
    {
        for (int i = 0; i < Names.Count; i++)
            if (Names[i] == name) return i;
        return -1;
    }

    /// <summary>"Cardiomegaly|Effusion" to a multi-hot vector; "No Finding" to zeros. An unknown name is a
    /// <see cref="FormatException"/> saying which, so a reader can add the file and line.</summary>
    public static float[] Parse(string findingLabels)
    {
        var labels = new float[Count];
        string text = findingLabels.Trim();
        if (text == NoFinding) return labels;
        if (text.Length == 0) throw new FormatException($"no finding labels (write '{NoFinding}' for none)");
        foreach (string part in text.Split('|'))
        {
            string name = part.Trim();
            int index = IndexOf(name);
            if (index < 0)
                throw new FormatException(name == NoFinding
                    ? $"'{NoFinding}' combined with findings in '{text}'"
                    : $"unknown finding '{name}' (known: {string.Join(", ", Names)}, or '{NoFinding}')");
            labels[index] = 1;
        }
        return labels;
    }

    /// <summary>A multi-hot vector back to the NIH spelling: "No Finding" or names joined by '|'.</summary>
    public static string Format(ReadOnlySpan<float> labels)
    {
        var names = new List<string>();
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= 0.5f) names.Add(Names[i]);
        return names.Count == 0 ? NoFinding : string.Join('|', names);
    }
}
