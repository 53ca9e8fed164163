using System.Text;

namespace Kv4.BareKestrel;

/// <summary>
/// The three reply bodies the bare endpoint sends, fixed at start. bench/http.sh captures them from a
/// running Kv4 (the very bytes Kv4 answered for the same request) and passes them as files, so both
/// servers send bodies of the same size; without files, stand-ins of typical size are used.
/// </summary>
public sealed class FixedReplies
{
    public required byte[] GetLatest { get; init; }
    public required byte[] Put { get; init; }
    public required byte[] TimeSeries { get; init; }

    public static FixedReplies From(IConfiguration config) => new()
    {
        GetLatest = Load(config["Bare:GetReply"],
            """{"s":"ok","v":{"name":"Elena Novak","email":"elena@example.com","plan":"pro","active":true,"score":12345,"_ver_":"42"}}"""),
        Put = Load(config["Bare:PutReply"], """{"s":"ok","v":{"_ver_":"43"}}"""),
        TimeSeries = Load(config["Bare:SeriesReply"], StandInSeries()),
    };

    private static byte[] Load(string? file, string standIn) =>
        string.IsNullOrEmpty(file) ? Encoding.UTF8.GetBytes(standIn) : File.ReadAllBytes(file);

    private static string StandInSeries()
    {
        var entries = Enumerable.Range(0, 100).Select(i => $$"""[1763900000,"bench",{"t":{{99 - i}},"celsius":21.5}]""");
        return """{"s":"ok","v":[""" + string.Join(",", entries) + "]}";
    }
}
