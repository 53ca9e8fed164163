using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Platform;

/// <summary>
/// A real external service host for tests: a minimal Kestrel app on 127.0.0.1 (ephemeral port) that answers every
/// request with a Kv4 envelope describing what it received (its name, method, path, query, body, Kv4 headers).
/// </summary>
public sealed class FakeServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private FakeServiceHost(WebApplication app, string name)
    {
        _app = app;
        Name = name;
    }

    public string Name { get; }

    public Uri Url { get; private set; } = null!;

    public int Requests => Volatile.Read(ref _requests);

    public bool Stopped { get; private set; }

    /// <summary>How long the host waits before answering (a hung host, for timeout tests).</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<FakeServiceHost> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var host = new FakeServiceHost(app, name);
        app.Run(host.AnswerAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.Url = new Uri(address);
        return host;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        if (Delay > TimeSpan.Zero)
        {
            try { await Task.Delay(Delay, context.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        string Header(string name) => context.Request.Headers[name].ToString();
        var v = new Dictionary<string, object?>
        {
            ["host"] = Name,
            ["method"] = context.Request.Method,
            ["path"] = context.Request.Path.Value,
            ["query"] = context.Request.QueryString.Value,
            ["body"] = body,
            ["bucket"] = Header("X-Kv4-Bucket"),
            ["actor"] = Header("X-Kv4-Actor"),
            ["kind"] = Header("X-Kv4-Caller-Kind"),
            ["token"] = Header("X-Kv4-Proxy-Token"),
            ["authorization"] = context.Request.Headers.ContainsKey("Authorization"),
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object> { ["s"] = "ok", ["v"] = v }));
    }

    public async Task StopAsync()
    {
        if (Stopped) return;
        Stopped = true;
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}
