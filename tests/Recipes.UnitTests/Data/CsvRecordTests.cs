using System.Text;
using Recipes.Runtime.Data;

namespace Recipes.Tests.Data;

public class CsvRecordTests
{
    [Theory]
    [InlineData("a,b,c", new[] { "a", "b", "c" })]
    [InlineData("a,,c,", new[] { "a", "", "c", "" })]
    [InlineData("1,\"Toy Story, The (1995)\",Comedy", new[] { "1", "Toy Story, The (1995)", "Comedy" })]
    [InlineData("\"say \"\"hi\"\"\",x", new[] { "say \"hi\"", "x" })]
    [InlineData("x,y\r", new[] { "x", "y" })]
    [InlineData("\"a\",b\r", new[] { "a", "b" })]
    [InlineData("", new[] { "" })]
    public void Splits_fields_with_RFC_4180_quoting(string line, string[] expected)
    {
        var fields = new List<string> { "left over from the previous line" };
        Assert.True(CsvRecord.TrySplit(line, fields, new StringBuilder("stale")));
        Assert.Equal(expected, fields);
    }

    [Fact]
    public void An_open_quote_is_reported_rather_than_swallowing_the_rest()
    {
        Assert.False(CsvRecord.TrySplit("1,\"Toy Story,Comedy", [], new StringBuilder()));
    }
}
