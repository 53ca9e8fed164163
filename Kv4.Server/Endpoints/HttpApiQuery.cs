using Kv4.Services.Api;

namespace Kv4.Server.Endpoints;

/// <summary>The request's query string as the services see it; a repeated parameter counts with its first value.</summary>
public sealed class HttpApiQuery(IQueryCollection query) : ApiQuery
{
    public override bool TryGet(string name, out string value)
    {
        if (query.TryGetValue(name, out var values) && values.Count > 0 && values[0] is { } first)
        {
            value = first;
            return true;
        }
        value = "";
        return false;
    }

    /// <summary>Every parameter with its first value (forwarding to an external service host).</summary>
    public override IEnumerable<KeyValuePair<string, string>> Pairs
    {
        get
        {
            foreach (var (name, values) in query)
                if (values.Count > 0 && values[0] is { } first)
                    yield return new KeyValuePair<string, string>(name, first);
        }
    }
}
