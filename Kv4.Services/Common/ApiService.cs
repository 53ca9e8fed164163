using System.Text.Json;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Common;

/// <summary>
/// The base of every service: it routes a request to the handler of its method (a method without a handler
/// answers <see cref="ErrorCode.MethodNotAllowed"/>) and is the ONE place where an engine refusal
/// (<see cref="EngineException"/>) becomes a contract error code, through <see cref="ErrorCodes.FromEngine"/>.
/// The engine writes nothing when it refuses, so a mapped refusal never leaves a partial write behind.
/// A call that completes synchronously (the hot latest-value GET) allocates nothing here.
/// </summary>
public abstract class ApiService : IApiService
{
    protected ApiService(ServiceDeclaration declaration) => Declaration = declaration;

    public ServiceDeclaration Declaration { get; }

    public string Name => Declaration.Name;

    public ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        ValueTask<ApiReply> pending;
        try
        {
            pending = request.Method switch
            {
                ApiMethod.Get => GetAsync(request),
                ApiMethod.Put => PutAsync(request),
                ApiMethod.Post => PostAsync(request),
                ApiMethod.Delete => DeleteAsync(request),
                _ => new(ErrorCode.MethodNotAllowed),
            };
        }
        catch (Exception e) when (TryMap(e, out var code))
        {
            return new(code);
        }
        return pending.IsCompletedSuccessfully ? pending : AwaitMapped(pending);
    }

    protected virtual ValueTask<ApiReply> GetAsync(ApiRequest request) => new(ErrorCode.MethodNotAllowed);

    protected virtual ValueTask<ApiReply> PutAsync(ApiRequest request) => new(ErrorCode.MethodNotAllowed);

    protected virtual ValueTask<ApiReply> PostAsync(ApiRequest request) => new(ErrorCode.MethodNotAllowed);

    protected virtual ValueTask<ApiReply> DeleteAsync(ApiRequest request) => new(ErrorCode.MethodNotAllowed);

    private static async ValueTask<ApiReply> AwaitMapped(ValueTask<ApiReply> pending)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (Exception e) when (TryMap(e, out var code))
        {
            return code;
        }
    }

    private static bool TryMap(Exception exception, out ErrorCode code)
    {
        switch (exception)
        {
            case EngineException engine:
                code = ErrorCodes.FromEngine(engine.Error);
                return true;
            // A safety net: request bodies are parsed defensively, but a JSON error that slips through is still the client's.
            case JsonException:
                code = ErrorCode.BadJson;
                return true;
            default:
                code = default;
                return false;
        }
    }
}
