using System.Text;
using Kv4.Services.Api;
using Kv4.Services.Common;

namespace Kv4.Tests.Services;

[Trait("Category", "Unit")]
public class RequestBodyTests
{
    private static RequestBody Parse(string json)
    {
        Assert.True(RequestBody.TryParse(Encoding.UTF8.GetBytes(json), out var body, out var error), error.ToString());
        return body;
    }

    private static ErrorCode Refused(string json)
    {
        Assert.False(RequestBody.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        return error;
    }

    [Fact]
    public void Reads_key_value_and_secondary_keys()
    {
        var body = Parse("""{"k":"a","v": {"x": [1, 2]} ,"k2":"m@x.org","k4":null,"other":{"deep":1}}""");
        Assert.Equal("a", body.Key);
        Assert.Equal("""{"x": [1, 2]}""", Encoding.UTF8.GetString(body.Value!.Value.Span));
        Assert.Equal("m@x.org", body.SecondaryKeys.K2);
        Assert.Null(body.SecondaryKeys.K4);
        Assert.True(body.HasSecondaryKeys);
        Assert.Null(body.Version);
    }

    [Theory]
    [InlineData("""{"k":"a","v":{"_ver_":"12","x":1}}""", "12")]
    [InlineData("""{"k":"a","v":{"x":1},"_ver_":"12"}""", "12")]
    [InlineData("""{"k":"a","v":{"x":1},"_ver_":12}""", "12")]
    [InlineData("""{"k":"a","v":{"_ver_":"12"},"_ver_":"12"}""", "12")]
    [InlineData("""{"k":"a","v":5}""", null)]
    public void Finds_the_expected_version_inside_or_beside_v(string json, string? expected)
    {
        Assert.True(Parse(json).TryGetExpectedVersion(out var version, out _));
        Assert.Equal(expected, version);
    }

    [Fact]
    public void Disagreeing_versions_are_a_bad_param()
    {
        Assert.False(Parse("""{"k":"a","v":{"_ver_":"12"},"_ver_":"13"}""").TryGetExpectedVersion(out _, out var error));
        Assert.Equal(ErrorCode.BadParam, error);
    }

    [Theory]
    [InlineData("""{"a":1,"_ver_":"7","b":2}""", """{"a":1,"b":2}""")]
    [InlineData("""{"_ver_":"7"}""", "{}")]
    [InlineData("""{ "_ver_" : "7" , "b" : {"_ver_":1} }""", """{"b" : {"_ver_":1}}""")]
    [InlineData("""{"a":1}""", """{"a":1}""")]
    [InlineData("[1]", "[1]")]
    public void The_stored_value_loses_a_top_level_version(string v, string stored) =>
        Assert.Equal(stored, Encoding.UTF8.GetString(Parse($$"""{"k":"a","v":{{v}}}""").StorableValue.Span));

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("\"k\"")]
    [InlineData("{\"k\":\"a\"")]
    [InlineData("{\"k\":\"a\"} x")]
    [InlineData("{\"k\":\"a\",\"k\":\"b\"}")]
    [InlineData("{\"v\":1,\"v\":2}")]
    [InlineData("{'k':'a'}")]
    public void Malformed_bodies_are_bad_json(string json) => Assert.Equal(ErrorCode.BadJson, Refused(json));

    [Theory]
    [InlineData("""{"k":1,"v":1}""")]
    [InlineData("""{"k":"","v":1}""")]
    [InlineData("""{"k":"a\u0001","v":1}""")]
    [InlineData("""{"k":"a","v":1,"k2":5}""")]
    [InlineData("""{"k":"a","v":1,"k3":""}""")]
    public void Bad_keys_are_bad_key(string json) => Assert.Equal(ErrorCode.BadKey, Refused(json));

    [Fact]
    public void Invalid_utf8_is_bad_json()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"k\":\"a\",\"v\":\"xx\"}");
        bytes[14] = 0xff;
        Assert.False(RequestBody.TryParse(bytes, out _, out var error));
        Assert.Equal(ErrorCode.BadJson, error);
    }

    [Fact]
    public void Deep_nesting_is_bad_json()
    {
        var deep = new string('[', 200) + new string(']', 200);
        Assert.Equal(ErrorCode.BadJson, Refused($$"""{"k":"a","v":{{deep}}}"""));
    }
}
