using System.Runtime.CompilerServices;

namespace Kv4.Cli.Connection;

/// <summary>Every page of a listing: the first request, then one per `next` cursor until a reply has none (docs/api.md, "Paging").</summary>
public static class Pages
{
    public static async IAsyncEnumerable<ApiReply> ReadAsync(Kv4Client client, Func<string?, ApiTarget> target,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var reply = await client.GetAsync(target(cursor), cancellationToken);
            yield return reply;
            cursor = reply.Next;
        }
        while (cursor is not null);
    }

    /// <summary>The strings of every page of a listing of names, in order.</summary>
    public static async IAsyncEnumerable<string> NamesAsync(Kv4Client client, Func<string?, ApiTarget> target,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var page in ReadAsync(client, target, cancellationToken))
            foreach (var name in page.V.EnumerateArray())
                yield return name.GetString()!;
    }
}
