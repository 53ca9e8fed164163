using Kv4.Services.Api;

namespace Kv4.Services.External;

/// <summary>`/_&lt;name&gt;/...` for a registered external service: the host authenticated the caller; this forwards.</summary>
public sealed class ExternalService(string name, ExternalServiceForwarder forwarder) : IApiService
{
    public ServiceDeclaration Declaration { get; } = BuiltInServices.External(name);

    public ValueTask<ApiReply> HandleAsync(ApiRequest request) => forwarder.ForwardAsync(request, name);
}
