namespace Kv4.Services.Api;

/// <summary>
/// Told once about every authenticated call the host dispatches to a service (http-api.md §5.9 `_stats`: each call is measurement
/// `api:3` at entity `/&lt;service&gt;/&lt;METHOD&gt;`, key = the caller). Must be cheap and must not throw.
/// </summary>
public interface IApiCallRecorder
{
    void RecordCall(string service, ApiMethod method, Caller caller);
}
