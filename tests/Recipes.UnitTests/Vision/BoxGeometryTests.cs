using Recipes.Runtime.Vision;

namespace Recipes.Tests.Vision;

public class BoxGeometryTests
{
    [Fact]
    public void Area_is_width_times_height_and_zero_for_empty_or_inverted_boxes()
    {
        Assert.Equal(12, BoxGeometry.Area(new PixelBox(1, 2, 5, 5)));
        Assert.Equal(0, BoxGeometry.Area(new PixelBox(3, 3, 3, 9)));
        Assert.Equal(0, BoxGeometry.Area(new PixelBox(5, 0, 1, 4))); // right of left edge: empty, not -16
    }

    [Fact]
    public void Intersection_area_of_overlapping_touching_and_nested_boxes()
    {
        Assert.Equal(4, BoxGeometry.IntersectionArea(new PixelBox(0, 0, 4, 4), new PixelBox(2, 2, 6, 6)));
        Assert.Equal(0, BoxGeometry.IntersectionArea(new PixelBox(0, 0, 2, 2), new PixelBox(2, 0, 4, 2))); // shared edge only
        Assert.Equal(0, BoxGeometry.IntersectionArea(new PixelBox(0, 0, 2, 2), new PixelBox(5, 5, 6, 6)));
        Assert.Equal(6, BoxGeometry.IntersectionArea(new PixelBox(0, 0, 10, 10), new PixelBox(1, 1, 4, 3)));
    }

    [Fact]
    public void IoU_known_answers()
    {
        // 4 shared of 16 + 16 - 4 = 28.
        Assert.Equal(4.0 / 28, BoxGeometry.IoU(new PixelBox(0, 0, 4, 4), new PixelBox(2, 2, 6, 6)), 12);
        Assert.Equal(1, BoxGeometry.IoU(new PixelBox(1, 2, 3, 4), new PixelBox(1, 2, 3, 4)));
        // Half of a box inside it: 50 / 100.
        Assert.Equal(0.5, BoxGeometry.IoU(new PixelBox(0, 0, 10, 10), new PixelBox(0, 0, 10, 5)));
        Assert.Equal(0, BoxGeometry.IoU(new PixelBox(0, 0, 1, 1), new PixelBox(3, 3, 4, 4)));
        // The order of the arguments does not matter.
        Assert.Equal(BoxGeometry.IoU(new PixelBox(0, 0, 3, 7), new PixelBox(1, 2, 9, 4)), BoxGeometry.IoU(new PixelBox(1, 2, 9, 4), new PixelBox(0, 0, 3, 7)));
    }

    [Fact]
    public void IoU_of_zero_area_boxes_is_zero_never_NaN()
    {
        var point = new PixelBox(2, 2, 2, 2);
        var line = new PixelBox(0, 5, 10, 5);
        Assert.Equal(0, BoxGeometry.IoU(point, point));
        Assert.Equal(0, BoxGeometry.IoU(line, line));
        Assert.Equal(0, BoxGeometry.IoU(point, new PixelBox(0, 0, 4, 4)));
        Assert.Equal(0, BoxGeometry.IoU(new PixelBox(4, 4, 0, 0), new PixelBox(0, 0, 4, 4))); // an inverted box is empty
    }

    [Fact]
    public void Clip_clamps_every_edge_and_empties_a_box_outside()
    {
        Assert.Equal(new PixelBox(0, 2, 10, 8), BoxGeometry.Clip(new PixelBox(-5, 2, 12, 20), 10, 8));
        Assert.Equal(new PixelBox(1, 1, 3, 3), BoxGeometry.Clip(new PixelBox(1, 1, 3, 3), 10, 8));
        var outside = BoxGeometry.Clip(new PixelBox(12, 1, 15, 3), 10, 8);
        Assert.Equal(0, BoxGeometry.Area(outside));
    }

    [Fact]
    public void Centre_is_the_middle_of_the_edges()
    {
        Assert.Equal((4.0, 7.0), BoxGeometry.Centre(new PixelBox(2, 4, 6, 10)));
        Assert.Equal((0.5, 0.5), BoxGeometry.Centre(new PixelBox(0, 0, 1, 1)));
    }

    [Fact]
    public void Invert_undoes_a_mapping_and_a_flip_is_its_own_inverse()
    {
        var flip = new PixelMapping(-1, 1, 10, 0);
        Assert.Equal(flip, BoxGeometry.Invert(flip));
        Assert.Equal(new PixelMapping(2, 4, -6, 8), BoxGeometry.Invert(new PixelMapping(0.5, 0.25, 3, -2)));
        var mapping = PixelMapping.Shift(7, -3).Then(PixelMapping.Scale(0.5, 0.25)).Then(flip);
        var box = new PixelBox(1, 2, 5, 9);
        var back = BoxGeometry.Invert(mapping).Map(mapping.Map(box));
        Assert.Equal(box.Left, back.Left, 12);
        Assert.Equal(box.Top, back.Top, 12);
        Assert.Equal(box.Right, back.Right, 12);
        Assert.Equal(box.Bottom, back.Bottom, 12);
        Assert.Throws<ArgumentException>(() => BoxGeometry.Invert(new PixelMapping(0, 1, 0, 0)));
    }
}
