using System.Buffers;
using System.Text.Json;
using Kv4.Services.Api;

namespace Kv4.Services.Paging;

/// <summary>
/// The one rule every paged listing follows: write a JSON array of items into a <see cref="ReplyStream"/> until
/// the page size is reached or the next item would pass the stream's byte budget, and when anything remains,
/// answer the cursor of the last item written. A page always carries at least one item, so paging always
/// advances, even past an item larger than the budget. Example: items "a", "bb", "c" with page size 2 write
/// `["a","bb"]` and answer the cursor after "bb"; the next page writes `["c"]` and answers null.
/// </summary>
public static class PagedArray
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        SkipValidation = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// One page of the live keys at a path of a layer: what every key listing answers (`_data`, `_cfg`, `_acc`,
    /// `_auth`, `_subs`), with `limit` and `cursor` read from <paramref name="query"/>; a bad one is `bad_param`.
    /// </summary>
    public static async ValueTask<ApiReply> KeysAsync(ApiQuery query, Kv4.Services.Storage.IBucketReadView store, string layer, string path,
        CancellationToken cancellationToken) =>
        await PageRequest.ReadAsync(query, Common.QueryValues.DefaultListingPageSize, store, "keys", [layer, path], cancellationToken).ConfigureAwait(false)
            is { } page
            ? Reply(await store.ListKeysAsync(layer, path, page.AfterItem, page.Limit + 1, cancellationToken).ConfigureAwait(false), page)
            : ApiReply.Fail(ErrorCode.BadParam);

    /// <summary>
    /// <see cref="KeysAsync"/> as of an instant (`at`): the keys live then. The cursor is bound to the instant too, so
    /// a page of one instant never continues a listing of another.
    /// </summary>
    public static async ValueTask<ApiReply> KeysAtAsync(ApiQuery query, Kv4.Services.Storage.IBucketReadView store, string layer, string path,
        long atMs, CancellationToken cancellationToken) =>
        await PageRequest.ReadAsync(query, Common.QueryValues.DefaultListingPageSize, store, "keys-at",
                [layer, path, atMs.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false)
            is { } page
            ? Reply(await store.ListKeysAtAsync(layer, path, atMs, page.AfterItem, page.Limit + 1, cancellationToken).ConfigureAwait(false), page)
            : ApiReply.Fail(ErrorCode.BadParam);

    /// <summary>A page of items already in memory (an engine page of up to limit + 1 items tells whether more remain).</summary>
    public static ApiReply Reply(IReadOnlyList<string> items, PageRequest page) =>
        ApiReply.OkStream(new Page<string>(new ListCursor<string>(items), items.Count > 0, page.Limit,
            static (writer, item) => writer.WriteStringValue(item), page.CursorAfter));

    /// <summary>A page of items in memory written by <paramref name="writeItem"/>; the cursor continues after <paramref name="keyOf"/> of the last.</summary>
    public static ApiReply Reply<T>(IReadOnlyList<T> items, PageRequest page, Action<Utf8JsonWriter, T> writeItem, Func<T, string> keyOf) =>
        ApiReply.OkStream(new Page<T>(new ListCursor<T>(items), items.Count > 0, page.Limit, writeItem, item => page.CursorAfter(keyOf(item))));

    /// <summary>A page of a stream the caller has moved to its first item (<paramref name="hasCurrent"/>: whether there is one).</summary>
    public static ApiReply Reply<T>(IAsyncEnumerator<T> items, bool hasCurrent, int limit, Action<Utf8JsonWriter, T> writeItem,
        Func<T, string> cursorAfter) =>
        ApiReply.OkStream(new Page<T>(items, hasCurrent, limit, writeItem, cursorAfter));

    private sealed class Page<T>(IAsyncEnumerator<T> items, bool hasCurrent, int limit, Action<Utf8JsonWriter, T> writeItem,
        Func<T, string> cursorAfter) : StreamedValue
    {
        public override ValueTask<string?> WriteAsync(ReplyStream output, CancellationToken cancellationToken) =>
            PagedArray.WriteAsync(output, items, hasCurrent, limit, writeItem, cursorAfter, cancellationToken);

        public override ValueTask DisposeAsync() => items.DisposeAsync();
    }

    private static async ValueTask<string?> WriteAsync<T>(ReplyStream output, IAsyncEnumerator<T> items, bool hasCurrent, int limit,
        Action<Utf8JsonWriter, T> writeItem, Func<T, string> cursorAfter, CancellationToken cancellationToken)
    {
        // Each item is written here first, so its size is known before it goes out.
        var scratch = new ArrayBufferWriter<byte>(256);
        using var json = new Utf8JsonWriter(scratch, WriterOptions);
        output.Write("["u8);
        var count = 0;
        T last = default!;
        string? next = null;
        while (hasCurrent)
        {
            if (count == limit)
            {
                next = cursorAfter(last);
                break;
            }
            scratch.ResetWrittenCount();
            json.Reset(scratch);
            writeItem(json, items.Current);
            json.Flush();
            // The separator and the closing bracket count too.
            if (count > 0 && !output.Fits(scratch.WrittenCount + 2))
            {
                next = cursorAfter(last);
                break;
            }
            if (count > 0) output.Write(","u8);
            output.Write(scratch.WrittenSpan);
            last = items.Current;
            count++;
            await output.FlushIfFullAsync(cancellationToken).ConfigureAwait(false);
            hasCurrent = await items.MoveNextAsync().ConfigureAwait(false);
        }
        output.Write("]"u8);
        return next;
    }

    /// <summary>A list as an async enumerator already on its first item, so lists and engine streams page alike.</summary>
    private sealed class ListCursor<T>(IReadOnlyList<T> items) : IAsyncEnumerator<T>
    {
        private int _index;

        public T Current => items[_index];

        public ValueTask<bool> MoveNextAsync() => new(++_index < items.Count);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
