using System.Text;
using Recipes.Runtime.Summaries;

namespace Recipes.Tests.Summaries;

public class Crc32CTests
{
    [Fact]
    public void Check_value_of_the_Castagnoli_CRC_matches_the_standard()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Matches_the_iSCSI_test_vectors_of_RFC_3720()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(value => (byte)value).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(value => (byte)(31 - value)).ToArray()));
    }

    [Fact]
    public void Empty_input_has_CRC_zero()
    {
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Mask_rotates_right_by_15_and_adds_the_TFRecord_constant()
    {
        Assert.Equal(0xA282EAD8u, Crc32C.Mask(0));
        // 1 rotated right by 15 bits is 1 << 17.
        Assert.Equal(0xA282EAD8u + (1u << 17), Crc32C.Mask(1));
        Assert.Equal(unchecked(0xFFFFFFFFu + 0xA282EAD8u), Crc32C.Mask(0xFFFFFFFF));
    }
}
