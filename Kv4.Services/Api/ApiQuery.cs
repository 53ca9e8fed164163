namespace Kv4.Services.Api;

/// <summary>The query string of a request, as the services see it (the host adapts its own collection to this).</summary>
public abstract class ApiQuery
{
    public static readonly ApiQuery Empty = new DictionaryQuery(new Dictionary<string, string>());

    public abstract bool TryGet(string name, out string value);

    public string? Get(string name) => TryGet(name, out var value) ? value : null;

    public bool Has(string name) => TryGet(name, out _);

    /// <summary>True for "1", "true" and "yes" (case-insensitive).</summary>
    public bool Flag(string name) =>
        TryGet(name, out var v) && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Every parameter, for the few callers that pass the query on as a whole (forwarding to an external
    /// service host). A host adapter that does not override this forwards no query parameters.
    /// </summary>
    public virtual IEnumerable<KeyValuePair<string, string>> Pairs => [];

    public static ApiQuery From(IReadOnlyDictionary<string, string> values) => new DictionaryQuery(values);

    private sealed class DictionaryQuery(IReadOnlyDictionary<string, string> values) : ApiQuery
    {
        public override bool TryGet(string name, out string value) => values.TryGetValue(name, out value!);

        public override IEnumerable<KeyValuePair<string, string>> Pairs => values;
    }
}
