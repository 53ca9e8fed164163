using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Generic;
using Kv4.Services.Paging;

namespace Kv4.Services.Access;

/// <summary>
/// `_auth`: the bucket's IP deny list. `PUT /_auth/rooms {"k":"203.0.113.7"}` stores entry (auth, "rooms",
/// "203.0.113.7") with the rule's canonical text as its value (see <see cref="DenyRule"/>), `DELETE ?k=` lifts one
/// rule, `DELETE` without `k` every rule at the path and below, `GET` lists the rules at exactly that path.
/// Every write is followed by a rebuild of the bucket's in-memory <see cref="AccessPolicy"/>.
/// </summary>
public sealed class AuthService(AccessPolicy policy) : ApiService(BuiltInServices.Auth)
{
    /// <summary>The rules at exactly the path; with `time_series=1` their history (of one rule with `k`, in its canonical form).</summary>
    protected override ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        if (!TimeSeriesQuery.IsAsked(request))
            return PagedArray.KeysAsync(request.Query, request.Store, AccessPolicy.Layer, request.Path, request.CancellationToken);
        string? key = null;
        if (request.Query.TryGet("k", out var text))
        {
            if (!DenyRule.TryParse(text, out var rule)) return new(ErrorCode.BadParam);
            key = rule.Text;
        }
        return TimeSeriesQuery.ReadAsync(request, AccessPolicy.Layer, key);
    }

    protected override async ValueTask<ApiReply> PutAsync(ApiRequest request)
    {
        if (!RequestBody.TryParse(request.Body, out var body, out var error)) return error;
        if (!DenyRule.TryParse(body.Key, out var rule)) return ErrorCode.BadParam;
        var value = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(rule.Text);
        await request.Store.PutAsync(AccessPolicy.Layer, request.Path, rule.Text, value, request.Caller.Actor, WriteCondition.None, SecondaryKeys.None,
            request.CancellationToken).ConfigureAwait(false);
        await policy.RebuildAsync(request.Caller.Bucket).ConfigureAwait(false);
        return ApiReply.OkString(rule.Text);
    }

    protected override async ValueTask<ApiReply> DeleteAsync(ApiRequest request)
    {
        long removed;
        if (request.Query.TryGet("k", out var text))
        {
            if (!DenyRule.TryParse(text, out var rule)) return ErrorCode.BadParam;
            var result = await request.Store.DeleteAsync(AccessPolicy.Layer, request.Path, rule.Text, request.Caller.Actor, WriteCondition.None,
                request.CancellationToken).ConfigureAwait(false);
            removed = result.Applied ? 1 : 0;
        }
        else
        {
            removed = await request.Store.DeleteTreeAsync(AccessPolicy.Layer, request.Path, request.Caller.Actor,
                request.CancellationToken).ConfigureAwait(false);
        }
        await policy.RebuildAsync(request.Caller.Bucket).ConfigureAwait(false);
        return ApiReply.OkNumber(removed);
    }
}
