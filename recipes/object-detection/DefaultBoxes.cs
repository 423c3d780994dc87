namespace Recipes.ObjectDetection;

/// <summary>One feature map the detector predicts from: its side in cells, and the default boxes of each cell.</summary>
/// <param name="Size">Cells per side (the map is square: the input is square).</param>
/// <param name="MinScale">The side of the small square box, as a fraction of the image (the paper's s_k).</param>
/// <param name="MaxScale">The next map's scale: the extra square box has side sqrt(s_k · s_k+1).</param>
/// <param name="AspectRatios">Ratios besides 1; each adds two boxes, w/h = r and w/h = 1/r.</param>
public sealed record FeatureMapBoxes(int Size, double MinScale, double MaxScale, IReadOnlyList<double> AspectRatios)
{
    /// <summary>Default boxes per cell: two squares plus two per extra aspect ratio (4 or 6 in SSD300).</summary>
    public int BoxesPerCell => 2 + 2 * AspectRatios.Count;
}

/// <summary>
/// SSD's default boxes ("priors", "anchors"): at every cell of every feature map, boxes of a few shapes centred on
/// the cell. Early, fine maps carry small boxes and late, coarse maps large ones, so each object is the
/// responsibility of the map whose scale suits it (Liu et al. 2016, section 2.2). Boxes are (cx, cy, w, h) as
/// fractions of the image, in the order the network's heads emit their predictions: map by map, then row, column,
/// then box within the cell.
/// </summary>
public sealed class DefaultBoxes
{
    public DefaultBoxes(IReadOnlyList<FeatureMapBoxes> maps)
    {
        if (maps.Count == 0) throw new ArgumentException("at least one feature map is needed", nameof(maps));
        Maps = maps;
        var boxes = new List<float>();
        foreach (var map in maps)
        {
            double extraSide = Math.Sqrt(map.MinScale * map.MaxScale);
            for (int row = 0; row < map.Size; row++)
                for (int column = 0; column < map.Size; column++)
                {
                    double cx = (column + 0.5) / map.Size, cy = (row + 0.5) / map.Size;
                    void Add(double w, double h) => boxes.AddRange([(float)cx, (float)cy, (float)Math.Min(w, 1), (float)Math.Min(h, 1)]);
                    Add(map.MinScale, map.MinScale);
                    Add(extraSide, extraSide);
                    foreach (double ratio in map.AspectRatios)
                    {
                        double root = Math.Sqrt(ratio);
                        Add(map.MinScale * root, map.MinScale / root);
                        Add(map.MinScale / root, map.MinScale * root);
                    }
                }
        }
        CentreForm = boxes.ToArray();
    }

    public IReadOnlyList<FeatureMapBoxes> Maps { get; }

    /// <summary>All default boxes, four values each: cx, cy, w, h as fractions of the image.</summary>
    public float[] CentreForm { get; }

    public int Count => CentreForm.Length / 4;

    /// <summary>
    /// The paper's layout for the given map sizes (SSD300: 38, 19, 10, 5, 3, 1): scales spaced evenly from 0.2 to
    /// 0.9 over the maps after the first, the first map at 0.1 (the paper's conv4_3), and aspect ratios {2} on the
    /// first and the last two maps, {2, 3} elsewhere.
    /// </summary>
    public static DefaultBoxes Ssd(IReadOnlyList<int> mapSizes, double smallest = 0.1, double minScale = 0.2, double maxScale = 0.9)
    {
        int count = mapSizes.Count;
        if (count < 2) throw new ArgumentException("SSD predicts from at least two feature maps", nameof(mapSizes));
        // s_k for the maps after the first, plus one more step so the last map has an s_k+1 for its extra square.
        var scales = new double[count + 1];
        scales[0] = smallest;
        for (int k = 1; k <= count; k++) scales[k] = minScale + (maxScale - minScale) * (k - 1) / (count - 2 == 0 ? 1 : count - 2);
        var maps = new List<FeatureMapBoxes>();
        for (int k = 0; k < count; k++)
        {
            double[] ratios = k == 0 || k >= count - 2 ? [2] : [2, 3];
            maps.Add(new FeatureMapBoxes(mapSizes[k], scales[k], scales[k + 1], ratios));
        }
        return new DefaultBoxes(maps);
    }
}
