using Microsoft.Extensions.Logging.Console;

namespace Kv4.Server.Logging;

/// <summary>
/// Picks the console log format: readable text for a person at a terminal, one JSON object per line for a log
/// collector. <c>Kv4:Logging:Json</c> decides when set; otherwise JSON exactly when stdout is redirected (a
/// service manager, a container, a pipe). An explicit <c>Logging:Console:FormatterName</c> wins over both.
/// </summary>
public static class ConsoleLogFormat
{
    public const string JsonKey = "Kv4:Logging:Json";

    public static void Configure(WebApplicationBuilder builder)
    {
        if (!string.IsNullOrEmpty(builder.Configuration["Logging:Console:FormatterName"])) return;
        var json = builder.Configuration.GetValue<bool?>(JsonKey) ?? Console.IsOutputRedirected;
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = json ? ConsoleFormatterNames.Json : ConsoleFormatterNames.Simple);
        // Quotes and apostrophes stay as written (\" rather than \u0022), so a logged command reads as it is pasted.
        if (json)
            builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions
                {
                    Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
                    Indented = o.JsonWriterOptions.Indented,
                });
        // The shared FormatterOptions suit the JSON lines (scopes, full UTC timestamps); on a terminal they are noise.
        if (!json)
            builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
            {
                o.IncludeScopes = false;
                o.TimestampFormat = "HH:mm:ss ";
                o.UseUtcTimestamp = false;
            });
    }
}
