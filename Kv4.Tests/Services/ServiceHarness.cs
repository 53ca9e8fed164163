using System.Buffers;
using System.Text;
using System.Text.Json;
using Kv4.Engine;
using Kv4.Engine.Rules;
using Kv4.Services;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>
/// A real <see cref="Kv4Store"/> in a temporary directory with the production <see cref="Kv4Runtime"/> on top (the
/// one the host runs), called the way the host calls it: the path normalized by <see cref="AddressRules"/>, the query
/// as a dictionary, the body as bytes, the caller from the real authenticator. Replies are rendered by the real
/// <see cref="ReplyEnvelope"/>.
/// </summary>
public sealed class ServiceHarness : IAsyncDisposable
{
    public const string SystemSecret = "test-system-secret";

    private static readonly Microsoft.IdentityModel.Tokens.SymmetricSecurityKey JwtKey =
        new(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private ServiceHarness(string directory, TestClock clock, Kv4Runtime runtime)
    {
        Directory = directory;
        Clock = clock;
        Runtime = runtime;
    }

    public string Directory { get; }

    public TestClock Clock { get; }

    public Kv4Runtime Runtime { get; private set; }

    public Kv4Store Store => Runtime.Store;

    public ServiceSet Services => Runtime.Core;

    public ServiceCatalog Catalog => Runtime.Catalog;

    public Caller Sys { get; private set; } = null!;

    public static async Task<ServiceHarness> StartAsync(DateTimeOffset? now = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "kv4-services-" + Guid.NewGuid().ToString("N"));
        var clock = new TestClock(now ?? DateTimeOffset.UtcNow);
        var harness = new ServiceHarness(directory, clock, await OpenAsync(directory, clock));
        harness.Sys = (await harness.LoginAsync("$sys", SystemSecret))!;
        return harness;
    }

    /// <summary>Closes the store and opens it again on the same directory, with a new service set (a restart).</summary>
    public async Task RestartAsync()
    {
        await Runtime.DisposeAsync();
        Runtime = await OpenAsync(Directory, Clock);
        Sys = (await LoginAsync("$sys", SystemSecret))!;
    }

    private static async Task<Kv4Runtime> OpenAsync(string directory, TestClock clock)
    {
        var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory, Durability = DurabilityMode.Sync, Clock = clock });
        return await Kv4Runtime.CreateAsync(store, new RuntimeSettings
        {
            Core = new ServiceSettings { SystemSecret = SystemSecret, Clock = clock },
            Realtime = new RealtimeSettings { NodeId = "harness", PublicUrl = () => "http://127.0.0.1:4000", Clock = clock },
            // Stats flush on this interval; service tests that count writes need it quiet.
            Platform = new PlatformSettings { Clock = clock, Stats = new Kv4.Services.Stats.StatsOptions { FlushSeconds = 86400 } },
            Signing = new Microsoft.IdentityModel.Tokens.SigningCredentials(JwtKey, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
            Validation = Kv4.Services.Tokens.TokenAuthority.Validation(JwtKey, "kv4", "kv4"),
        });
    }

    public async Task<Caller?> LoginAsync(string user, string password) =>
        (await Services.Authenticator.AuthenticateAsync(user, password, null)).Caller;

    public async Task<Reply> CallAsync(Caller caller, ApiMethod method, string service, string path = "", string? query = null,
        string? body = null, System.Net.IPAddress? from = null)
    {
        Assert.True(AddressRules.TryNormalizePath(path, out var normal), $"test path {path} is valid");
        var parameters = new Dictionary<string, string>();
        if (query is not null)
            foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                parameters[name] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            }
        Assert.True(Catalog.TryFind(service, out var target), $"service _{service} is registered");
        var request = new ApiRequest(method, service, normal, ApiQuery.From(parameters),
            body is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(body), caller, Runtime.Storage.Bucket(caller.Bucket), from);
        var reply = await target.HandleAsync(request);
        var buffer = new ArrayBufferWriter<byte>();
        await ReplyEnvelope.WriteAsync(buffer, reply);
        return new Reply(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    public Task<Reply> GetAsync(Caller caller, string service, string path = "", string? query = null) =>
        CallAsync(caller, ApiMethod.Get, service, path, query);

    public Task<Reply> PutAsync(Caller caller, string service, string path, string? body, string? query = null) =>
        CallAsync(caller, ApiMethod.Put, service, path, query, body);

    public Task<Reply> PostAsync(Caller caller, string service, string path, string body) =>
        CallAsync(caller, ApiMethod.Post, service, path, null, body);

    public Task<Reply> DeleteAsync(Caller caller, string service, string path = "", string? query = null) =>
        CallAsync(caller, ApiMethod.Delete, service, path, query);

    /// <summary>Creates account <paramref name="name"/> as <paramref name="parent"/> (`$sys` by default) and logs in with its secret.</summary>
    public async Task<(Caller Caller, string Secret)> CreateAccountAsync(string name, Caller? parent = null, string? password = null)
    {
        var details = password is null ? $$"""{"email":"{{name}}@example.com"}""" : $$"""{"email":"{{name}}@example.com","password":"{{password}}"}""";
        var reply = await PutAsync(parent ?? Sys, "acc", "accounts", $$"""{"k":"{{name}}","v":{{details}}}""");
        var secret = reply.Ok().GetProperty("secret").GetString()!;
        var login = parent is null || parent.IsSystem ? name : $"{parent.Ident}#{name}";
        var caller = await LoginAsync(login, secret);
        Assert.NotNull(caller);
        return (caller, secret);
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a background flush: the temp directory is cleaned by the OS later.
        }
    }
}

/// <summary>One rendered reply envelope.</summary>
public sealed class Reply(string text)
{
    public string Text { get; } = text;

    public JsonElement Root { get; } = JsonDocument.Parse(text).RootElement.Clone();

    public bool IsOk => Root.GetProperty("s").GetString() == "ok";

    /// <summary>The `v` of a success (fails the test on an error).</summary>
    public JsonElement Ok()
    {
        Assert.True(IsOk, Text);
        return Root.TryGetProperty("v", out var v) ? v : default;
    }

    /// <summary>Asserts an error reply with this wire code.</summary>
    public void Is(string code)
    {
        Assert.False(IsOk, $"expected {code}, got {Text}");
        Assert.Equal(code, Root.GetProperty("v").GetString());
    }

    public string[] Strings() => Ok().EnumerateArray().Select(e => e.GetString()!).ToArray();

    public override string ToString() => Text;
}

/// <summary>A clock the test sets by hand (engine timestamps and the login cache both read it).</summary>
public sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;

    public void Set(DateTimeOffset now) => _now = now;
}
