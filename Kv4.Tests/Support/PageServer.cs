using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Support;

/// <summary>
/// A second Kestrel on 127.0.0.1 (its own port, so its own origin) that serves one HTML page to a headless browser,
/// and whatever else a test maps on it (somewhere for the page to post what it saw).
/// </summary>
internal sealed class PageServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PageServer(WebApplication app)
    {
        _app = app;
        Origin = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    /// <summary>Where the page is served from: `http://127.0.0.1:port`.</summary>
    public string Origin { get; }

    public static async Task<PageServer> StartAsync(string path, string html, Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet(path, () => Results.Content(html, "text/html; charset=utf-8"));
        app.MapGet("/favicon.ico", () => Results.NoContent()); // what a browser asks for by itself
        map?.Invoke(app);
        await app.StartAsync();
        return new PageServer(app);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
