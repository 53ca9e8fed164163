using System.Text;
using Kv4.Engine.Rules;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class JsonValueRulesTests
{
    [Theory]
    [InlineData("{ \"a\" : [1, 2 ,\n 3] }", "{\"a\":[1,2,3]}")]
    [InlineData("  \"x y\"  ", "\"x y\"")]
    [InlineData("{\"s\":\"keep  \\\" spaces \\\\ \"}", "{\"s\":\"keep  \\\" spaces \\\\ \"}")]
    [InlineData("1.50e3", "1.50e3")]
    [InlineData("null", "null")]
    [InlineData("[true, false]", "[true,false]")]
    public void Values_are_stored_compact_and_otherwise_verbatim(string input, string expected)
    {
        var stored = JsonValueRules.ValidateAndCompact(Encoding.UTF8.GetBytes(input), 1024);
        Assert.Equal(expected, Encoding.UTF8.GetString(stored));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("{\"a\":}")]
    [InlineData("{'a':1}")]
    [InlineData("[1,2,]")]
    [InlineData("1 2")]
    [InlineData("{} {}")]
    [InlineData("// comment\n1")]
    [InlineData("undefined")]
    public void Malformed_json_is_bad_json(string input)
    {
        var ex = Assert.Throws<EngineException>(() => JsonValueRules.ValidateAndCompact(Encoding.UTF8.GetBytes(input), 1024));
        Assert.Equal(EngineError.BadJson, ex.Error);
    }

    [Fact]
    public void Invalid_utf8_is_bad_json()
    {
        var ex = Assert.Throws<EngineException>(() => JsonValueRules.ValidateAndCompact(new byte[] { (byte)'"', 0xC3, 0x28, (byte)'"' }, 1024));
        Assert.Equal(EngineError.BadJson, ex.Error);
    }

    [Fact]
    public void Size_limit_applies_to_the_compact_form()
    {
        var padded = "[" + new string(' ', 5000) + "1]";
        Assert.Equal("[1]", Encoding.UTF8.GetString(JsonValueRules.ValidateAndCompact(Encoding.UTF8.GetBytes(padded), 16)));
        var big = "\"" + new string('x', 100) + "\"";
        var ex = Assert.Throws<EngineException>(() => JsonValueRules.ValidateAndCompact(Encoding.UTF8.GetBytes(big), 100));
        Assert.Equal(EngineError.ValueTooLarge, ex.Error);
    }

    [Fact]
    public void Nesting_is_bounded()
    {
        var deep = new string('[', 200) + new string(']', 200);
        Assert.Equal(EngineError.BadJson, Assert.Throws<EngineException>(() => JsonValueRules.ValidateAndCompact(Encoding.UTF8.GetBytes(deep), 1024)).Error);
    }
}
