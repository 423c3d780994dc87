namespace Recipes.Runtime.Summaries;

/// <summary>
/// CRC-32C (Castagnoli), the checksum TFRecord framing uses. System.IO.Hashing has it, but that is a
/// NuGet package rather than part of the BCL, and a table-driven version is a few lines.
/// </summary>
public static class Crc32C
{
    // The reflected form of the Castagnoli polynomial 0x1EDC6F41.
    const uint ReflectedPolynomial = 0x82F63B78;

    // TFRecord stores CRCs "masked" so that a CRC of data that itself contains CRCs stays well distributed.
    const uint MaskDelta = 0xA282EAD8;

    static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte value in data)
            crc = Table[(crc ^ value) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    public static uint ComputeMasked(ReadOnlySpan<byte> data) => Mask(Compute(data));

    static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint index = 0; index < 256; index++)
        {
            uint crc = index;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ ReflectedPolynomial : crc >> 1;
            table[index] = crc;
        }
        return table;
    }
}
