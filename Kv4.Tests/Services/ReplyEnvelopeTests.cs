using System.Buffers;
using System.Text;
using Kv4.Engine.Model;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

[Trait("Category", "Unit")]
public class ReplyEnvelopeTests
{
    private static string Render(ApiReply reply)
    {
        var buffer = new ArrayBufferWriter<byte>();
        ReplyEnvelope.Write(buffer, reply);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Stored_objects_carry_their_version() =>
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"_ver_\":\"42\",\"a\":1}}", Render(ApiReply.OkStored("{\"a\":1}"u8.ToArray(), new VersionId(42))));

    [Fact]
    public void Empty_stored_object_gets_only_the_version() =>
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"_ver_\":\"7\"}}", Render(ApiReply.OkStored("{}"u8.ToArray(), new VersionId(7))));

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("3.5")]
    [InlineData("null")]
    public void Stored_non_objects_are_written_as_stored(string json) =>
        Assert.Equal($"{{\"s\":\"ok\",\"v\":{json}}}", Render(ApiReply.OkStored(Encoding.UTF8.GetBytes(json), new VersionId(1))));

    [Fact]
    public void Errors_use_the_wire_code() =>
        Assert.Equal("{\"s\":\"error\",\"v\":\"_ver_missing\"}", Render(ApiReply.Fail(ErrorCode.VerMissing)));

    [Fact]
    public void Ok_without_value_has_no_v() => Assert.Equal("{\"s\":\"ok\"}", Render(ApiReply.Ok()));

    [Fact]
    public void Lists_numbers_and_strings_are_json() =>
        Assert.Equal(
            ["{\"s\":\"ok\",\"v\":[\"a\",\"b\\\"\"]}", "{\"s\":\"ok\",\"v\":12}", "{\"s\":\"ok\",\"v\":\"x\"}"],
            new[] { Render(ApiReply.OkStrings(["a", "b\""])), Render(ApiReply.OkNumber(12)), Render(ApiReply.OkString("x")) });

    [Fact]
    public void Every_code_has_a_wire_name_and_a_4xx_or_5xx_status()
    {
        var wires = new HashSet<string>();
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            Assert.True(wires.Add(ErrorCodes.Wire(code)));
            Assert.InRange(ErrorCodes.HttpStatus(code), 400, 599);
        }
        Assert.Equal(401, ErrorCodes.HttpStatus(ErrorCode.Unauthorized));
        Assert.Equal(413, ErrorCodes.HttpStatus(ErrorCode.ValueTooLarge));
        Assert.Equal("unknown_service", ErrorCodes.Wire(ErrorCode.UnknownService));
    }
}
