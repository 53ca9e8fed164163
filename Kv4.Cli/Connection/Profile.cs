using System.Text.Json.Serialization;

namespace Kv4.Cli.Connection;

/// <summary>One server and login in the profile file; any member may be left out.</summary>
public sealed class Profile
{
    [JsonPropertyName("url")]
    public string? Url { get; set; }

    [JsonPropertyName("user")]
    public string? User { get; set; }

    [JsonPropertyName("secret")]
    public string? Secret { get; set; }
}
