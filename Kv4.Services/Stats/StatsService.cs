using System.Text.Json;
using Kv4.Engine.Rules;
using Kv4.Services.Api;
using Kv4.Services.Common;

namespace Kv4.Services.Stats;

/// <summary>
/// `_stats` (http-api.md §5.9).
/// <list type="bullet">
/// <item>`POST /_stats/&lt;entity&gt;?l=&lt;measurement&gt;[&amp;k=&lt;key&gt;] {"v":&lt;number&gt;}` records one value at the current minute; the key
///   defaults to the caller (its actor). The value shows in queries after the next flush. `l=api:3` is reserved for
///   the host's call counts (forbidden).</item>
/// <item>`GET /_stats/&lt;entity&gt;?l=&lt;measurement&gt;[&amp;k=..][&amp;gs=..&amp;ge=..][&amp;break=1]`: `{"sum","min","max","count"}` over the
///   range (bounds widened to whole minutes); with `break=1` an object keyed by group ("2016:3:16:5") at the depth of
///   `gs` (else of `ge`, else years), at most minutes, in time order.</item>
/// <item>PUT and DELETE: method_not_allowed (stats cannot be deleted).</item>
/// </list>
/// </summary>
public sealed class StatsService(StatsRecorder recorder) : ApiService(BuiltInServices.Stats)
{
    private const int MinuteDepth = 5;

    protected override ValueTask<ApiReply> PostAsync(ApiRequest request)
    {
        if (request.Path.Length == 0) return new(ErrorCode.BadPath);
        if (!TryReadSeries(request, out var measurement, out var key, out var error)) return new(error);
        // api:3 is counted by the host; a tenant cannot add to (or inflate) its own call counts.
        if (measurement == StatsRecorder.ApiCallsMeasurement) return new(ErrorCode.Forbidden);
        if (!TryReadNumber(request.Body, out var value, out error)) return new(error);
        return recorder.Record(request.Caller.Bucket, request.Path, measurement, key ?? request.Caller.Actor, value)
            ? new(ApiReply.Ok())
            : new(ErrorCode.RateLimited);
    }

    protected override async ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        if (!TryReadSeries(request, out var measurement, out var key, out var error)) return error;
        var gs = request.Query.Get("gs");
        var ge = request.Query.Get("ge");
        if (!TimeGroup.TryParseRange(gs, ge, out var fromMs, out var toMs)) return ErrorCode.BadParam;
        var perGroup = request.Query.Flag("break");
        var depth = 0;
        if (perGroup)
        {
            depth = gs is not null && TimeGroup.TryParse(gs, out var start) ? start.Depth
                : ge is not null && TimeGroup.TryParse(ge, out var end) ? end.Depth
                : 1;
            depth = Math.Min(depth, MinuteDepth);
        }
        var groups = await recorder.Rollups.QueryAsync(request.Caller.Bucket, request.Path, measurement, key, fromMs, toMs, depth, request.CancellationToken)
            .ConfigureAwait(false);
        if (!perGroup)
        {
            var total = groups.Count == 0 ? Rollup.Empty : groups[0].Rollup;
            return ApiReply.OkWriter(w => StatsRollupStore.WriteRollup(w, total));
        }
        return ApiReply.OkWriter(w =>
        {
            w.WriteStartObject();
            foreach (var (group, rollup) in groups)
            {
                w.WritePropertyName(group);
                StatsRollupStore.WriteRollup(w, rollup);
            }
            w.WriteEndObject();
        });
    }

    private static bool TryReadSeries(ApiRequest request, out string measurement, out string? key, out ErrorCode error)
    {
        measurement = request.Query.Get("l") ?? "";
        key = null;
        error = ErrorCode.BadParam;
        if (!StatsSeries.IsValidMeasurement(measurement)) return false;
        error = ErrorCode.BadKey;
        if (!QueryValues.TryGetKey(request.Query, "k", out key)) return false;
        if (!StatsSeries.IsValidKey(measurement, key ?? request.Caller.Actor)) return false;
        return true;
    }

    /// <summary>The body's `v`, a finite JSON number.</summary>
    private static bool TryReadNumber(ReadOnlyMemory<byte> body, out double value, out ErrorCode error)
    {
        value = 0;
        if (!RequestBody.TryParse(body, out var parsed, out error)) return false;
        error = ErrorCode.BadParam;
        if (parsed.Value is not { } v) return false;
        var reader = new Utf8JsonReader(v.Span);
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out value) && double.IsFinite(value);
    }
}
