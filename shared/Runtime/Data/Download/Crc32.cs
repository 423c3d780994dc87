namespace Recipes.Runtime.Data.Download;

/// <summary>
/// The CRC-32 of gzip and zip (IEEE 802.3, reflected polynomial 0xEDB88320). The BCL's decompressors do not
/// check it, so a corrupt or truncated archive would otherwise extract silently.
/// </summary>
sealed class Crc32
{
    static readonly uint[] Table = BuildTable();

    uint state = uint.MaxValue;

    public long Length { get; private set; }

    public uint Value => ~state;

    public void Append(ReadOnlySpan<byte> data)
    {
        uint crc = state;
        foreach (byte value in data) crc = Table[(crc ^ value) & 0xFF] ^ (crc >> 8);
        state = crc;
        Length += data.Length;
    }

    static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint index = 0; index < 256; index++)
        {
            uint entry = index;
            for (int bit = 0; bit < 8; bit++) entry = (entry & 1) != 0 ? 0xEDB88320u ^ (entry >> 1) : entry >> 1;
            table[index] = entry;
        }
        return table;
    }
}
