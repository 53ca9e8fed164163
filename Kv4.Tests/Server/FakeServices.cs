using System.Net;
using System.Text;
using Kv4.Engine.Rules;
using Kv4.Services;
using Kv4.Services.Access;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Server;

/// <summary>
/// Test-only services that let the host be tested on its own (no engine): `probe` echoes what the host handed
/// it, `open` does the same without credentials, `fail?code=..` answers any error code, `boom` throws,
/// `refused` throws an engine refusal. Logins: `$sys:SysSecret`, `elena:elena-secret`, `elena#lily:lily-secret`.
/// </summary>
public sealed class FakeServices : ICallerAuthenticator, IAccessPolicy
{
    public int ProbeCalls;
    public volatile string? DeniedBucket;
    public readonly List<string> LoginNamesSeen = [];

    /// <summary>The production runtime on the server's data directory, serving only these fakes with these logins and deny rule.</summary>
    public static Action<WebApplicationBuilder> Install(FakeServices fake) => TestRuntimeFactory.Install(fake.Adjust);

    public RuntimeSettings Adjust(RuntimeSettings settings) => settings with
    {
        Services = [new Probe(this, "probe", false), new Probe(this, "open", true), new Fail(), new Boom(), new Refused()],
        Authenticator = this,
        AccessPolicy = this,
    };

    /// <summary>Every caller these logins produced keeps standing (the fake has no records to lose).</summary>
    public ValueTask<bool> StandsAsync(Caller caller, CancellationToken cancellationToken = default) => new(true);

    public ValueTask<LoginResult> AuthenticateAsync(string userName, string password, IPAddress? client, CancellationToken cancellationToken = default)
    {
        lock (LoginNamesSeen) LoginNamesSeen.Add(userName);
        Caller? caller = (userName, password) switch
        {
            ("$sys", Kv4TestServer.SysSecret) => new Caller("$sys", "$sys", CallerKind.System, ["admin"]),
            ("elena", "elena-secret") => new Caller("elena", "elena", CallerKind.Account, []),
            ("elena#lily", "lily-secret") => new Caller("elena#lily", "elena#lily", CallerKind.SubAccount, []),
            _ => null,
        };
        return new(caller is null ? LoginResult.Refused : LoginResult.Accepted(caller));
    }

    public bool IsDenied(string bucket, string path, IPAddress address) => bucket == DeniedBucket;

    public bool IsDeniedInSubtree(string bucket, string path, IPAddress address) => bucket == DeniedBucket;

    private sealed class Probe(FakeServices owner, string name, bool anonymous) : IApiService
    {
        public ServiceDeclaration Declaration { get; } = new()
        {
            Name = name,
            AnonymousCalls = anonymous ? [(ApiMethod.Get, ""), (ApiMethod.Get, "x"), (ApiMethod.Post, ""), (ApiMethod.Post, "x")] : [],
        };

        public ValueTask<ApiReply> HandleAsync(ApiRequest request)
        {
            Interlocked.Increment(ref owner.ProbeCalls);
            var body = Encoding.UTF8.GetString(request.Body.Span);
            return new(ApiReply.OkWriter(w =>
            {
                w.WriteStartObject();
                w.WriteString("method", request.Method.ToString());
                w.WriteString("service", request.Service);
                w.WriteString("path", request.Path);
                w.WriteString("k", request.Query.Get("k"));
                w.WriteNumber("bodyLength", request.Body.Length);
                w.WriteString("body", body.Length <= 200 ? body : body[..200]);
                w.WriteString("bucket", request.Caller.Bucket);
                w.WriteString("actor", request.Caller.Actor);
                w.WriteString("kind", request.Caller.Kind.ToString());
                w.WriteString("session", request.Caller.SessionId);
                w.WriteStartArray("roles");
                foreach (var role in request.Caller.Roles) w.WriteStringValue(role);
                w.WriteEndArray();
                w.WriteEndObject();
            }));
        }
    }

    private sealed class Fail : IApiService
    {
        public ServiceDeclaration Declaration { get; } = new() { Name = "fail" };

        public ValueTask<ApiReply> HandleAsync(ApiRequest request)
        {
            var wanted = request.Query.Get("code");
            foreach (var code in Enum.GetValues<ErrorCode>())
                if (ErrorCodes.Wire(code) == wanted) return new(ApiReply.Fail(code));
            return new(ApiReply.Fail(ErrorCode.BadParam));
        }
    }

    private sealed class Boom : IApiService
    {
        public ServiceDeclaration Declaration { get; } = new() { Name = "boom" };

        public ValueTask<ApiReply> HandleAsync(ApiRequest request) => throw new InvalidOperationException("secret-that-must-not-leak");
    }

    private sealed class Refused : IApiService
    {
        public ServiceDeclaration Declaration { get; } = new() { Name = "refused" };

        public ValueTask<ApiReply> HandleAsync(ApiRequest request) => throw new EngineException(EngineError.VersionConflict, "moved on");
    }
}
