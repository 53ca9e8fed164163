using System.Collections.Concurrent;
using System.Net;
using Kv4.Services.Storage;

namespace Kv4.Services.Access;

/// <summary>
/// The in-memory deny list the host asks before every call (http-api.md §5.10 `_auth`). The engine's layer `auth` is the truth
/// (see <see cref="AuthService"/>); this holds, per bucket, an immutable snapshot of it, rebuilt from the engine at
/// startup and after every `_auth` write, and dropped with the bucket. Example state after
/// `PUT /_auth/rooms {"k":"203.0.113.7"}` and `PUT /_auth {"k":"10.0.0.0/8"}` by elena:
/// <code>
///   _buckets["elena"] = { "" -> [10.0.0.0/8], "rooms" -> [203.0.113.7/32] }
/// </code>
/// IsDenied("elena", "rooms/lobby", 203.0.113.7) looks up "", "rooms" and "rooms/lobby" (every prefix, by whole
/// segments) and finds the rule at "rooms". IsDeniedInSubtree("elena", "", 203.0.113.7) — a delete of the whole
/// tree — also finds it, since "rooms" is below "". A bucket without rules costs one dictionary miss.
/// </summary>
public sealed class AccessPolicy : IAccessPolicy
{
    public const string Layer = "auth";

    private readonly IStore _store;
    private readonly ConcurrentDictionary<string, Dictionary<string, IPNetwork[]>> _buckets = new(StringComparer.Ordinal);
    // A semaphore, not a lock: a rebuild awaits the store's reads while it holds it.
    private readonly SemaphoreSlim _rebuildGate = new(1, 1);

    private readonly StandingChanges _changes;

    private AccessPolicy(IStore store, StandingChanges changes)
    {
        _store = store;
        _changes = changes;
        // Another node of a cluster wrote a rule: this node's snapshot of that bucket is read again.
        store.ChangedElsewhere += (bucket, layer) =>
        {
            if (layer == Layer) _ = RebuildAsync(bucket).AsTask();
        };
    }

    /// <summary>Loads the deny lists of every bucket from the engine (memory only: the path and key indexes).</summary>
    public static async ValueTask<AccessPolicy> LoadAsync(IStore store, StandingChanges changes, CancellationToken cancellationToken = default)
    {
        var policy = new AccessPolicy(store, changes);
        foreach (var bucket in await store.ListBucketsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            await policy.RebuildAsync(bucket).ConfigureAwait(false);
        return policy;
    }

    public bool IsDenied(string bucket, string path, IPAddress address)
    {
        if (_buckets.IsEmpty || !_buckets.TryGetValue(bucket, out var rules)) return false;
        var candidate = ClientAddress.Canonical(address);
        var lookup = rules.GetAlternateLookup<ReadOnlySpan<char>>();
        if (Matches(lookup, "", candidate)) return true;
        for (var i = 0; i <= path.Length; i++)
            if ((i == path.Length || path[i] == '/') && i > 0 && Matches(lookup, path.AsSpan(0, i), candidate))
                return true;
        return false;
    }

    public bool IsDeniedInSubtree(string bucket, string path, IPAddress address)
    {
        if (IsDenied(bucket, path, address)) return true;
        if (!_buckets.TryGetValue(bucket, out var rules)) return false;
        var candidate = ClientAddress.Canonical(address);
        foreach (var (rulePath, networks) in rules)
        {
            if (!Kv4.Engine.Rules.AddressRules.IsUnder(rulePath, path)) continue;
            foreach (var network in networks)
                if (network.Contains(candidate)) return true;
        }
        return false;
    }

    /// <summary>
    /// Re-reads the bucket's rules from the engine. Serialized, so the last rebuild always sees every finished write.
    /// Not cancellable: a write that landed must reach the policy even when its caller has gone.
    /// </summary>
    public async ValueTask RebuildAsync(string bucket)
    {
        await _rebuildGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var rules = new Dictionary<string, IPNetwork[]>(StringComparer.Ordinal);
            var view = _store.Bucket(bucket);
            foreach (var path in await view.ListPathsAsync(Layer, "").ConfigureAwait(false))
            {
                var networks = new List<IPNetwork>();
                foreach (var key in await view.ListKeysAsync(Layer, path).ConfigureAwait(false))
                    if (DenyRule.TryParse(key, out var rule)) networks.Add(rule.Network);
                if (networks.Count > 0) rules[path] = [.. networks];
            }
            if (rules.Count == 0) _buckets.TryRemove(bucket, out _);
            else _buckets[bucket] = rules;
        }
        finally
        {
            _rebuildGate.Release();
        }
        // A new rule may cover connections that are open now.
        await _changes.RaiseAsync().ConfigureAwait(false);
    }

    /// <summary>The bucket was dropped (its account deleted): its rules went with it.</summary>
    public async ValueTask ForgetAsync(string bucket)
    {
        await _rebuildGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _buckets.TryRemove(bucket, out _);
        }
        finally
        {
            _rebuildGate.Release();
        }
    }

    private static bool Matches(Dictionary<string, IPNetwork[]>.AlternateLookup<ReadOnlySpan<char>> lookup, ReadOnlySpan<char> path, IPAddress address)
    {
        if (!lookup.TryGetValue(path, out var networks)) return false;
        foreach (var network in networks)
            if (network.Contains(address)) return true;
        return false;
    }
}
