using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Kv4.Tests.Realtime;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Members of one signal channel talking at once: each member broadcasts `{"n":0}`, `{"n":1}`, ... every 20 ms until
/// stopped. The signal protocol has no acknowledgement, so a message counts as acknowledged to its sender when its
/// socket's send completed and the socket is still open at the end. <see cref="CheckAsync"/> reads what every member
/// received and holds the conversation to what a member relies on: every acknowledged message of every other member,
/// once, in its sender's order, with no close frame on any socket.
/// </summary>
internal sealed class SignalConversation : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Speaker> _speakers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();

    private sealed class Speaker(string user, SignalClient client, bool joinedLate)
    {
        public string User { get; } = user;
        public SignalClient Client { get; } = client;
        public bool JoinedLate { get; } = joinedLate;
        public int Sent;
        public Task Talking = Task.CompletedTask;
    }

    /// <summary>
    /// Adds a member that starts talking now. A member added after others started (<paramref name="joinedLate"/>) is
    /// held to a gapless tail of what each earlier member said, not to all of it.
    /// </summary>
    public void Add(string user, SignalClient client, bool joinedLate = false)
    {
        var speaker = new Speaker(user, client, joinedLate);
        if (!_speakers.TryAdd(user, speaker)) throw new InvalidOperationException($"{user} is already talking");
        speaker.Talking = Task.Run(() => TalkAsync(speaker));
    }

    private async Task TalkAsync(Speaker speaker)
    {
        while (!_stop.IsCancellationRequested)
        {
            await speaker.Client.SendAsync("{\"t\":\"u\",\"m\":{\"o\":\"message\"},\"p\":{\"n\":" + speaker.Sent + "}}");
            Interlocked.Increment(ref speaker.Sent);
            try { await Task.Delay(20, _stop.Token); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>The fewest messages any member has sent so far.</summary>
    public int LeastSent => _speakers.Values.Min(s => Volatile.Read(ref s.Sent));

    /// <summary>Waits until every member has sent at least <paramref name="count"/> messages.</summary>
    public Task WaitSentAsync(int count, string what) =>
        ClusterProcesses.WaitUntilAsync(() => Task.FromResult(LeastSent >= count), what);

    /// <summary>
    /// Stops every member, then reads each one's frames until it has every other member's last message, and checks
    /// them: each sender's messages once and in order (from the first for members that were there before it, a gapless
    /// tail for one that joined late); besides messages only <paramref name="expectedPresence"/>(receiver) frames, each once.
    /// </summary>
    public async Task CheckAsync(Func<string, IReadOnlyCollection<string>> expectedPresence)
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_speakers.Values.Select(s => s.Talking));
        var speakers = _speakers.Values.ToList();
        foreach (var receiver in speakers)
        {
            var heard = speakers.Where(s => s != receiver).ToDictionary(s => "/room/" + s.User, _ => new List<int>(), StringComparer.Ordinal);
            var last = speakers.Where(s => s != receiver).ToDictionary(s => "/room/" + s.User, s => s.Sent - 1, StringComparer.Ordinal);
            var presence = new List<string>();
            while (last.Any(l => heard[l.Key].Count == 0 || heard[l.Key][^1] != l.Value))
            {
                var frame = await receiver.Client.NextAsync();
                using var document = JsonDocument.Parse(frame);
                var m = document.RootElement.GetProperty("m");
                if (m.GetProperty("o").GetString() != "message")
                {
                    presence.Add(frame);
                    continue;
                }
                var from = m.GetProperty("f").GetString()!;
                Assert.True(heard.ContainsKey(from), $"{receiver.User} got a message from {from}: {frame}");
                var n = document.RootElement.GetProperty("p").GetProperty("n").GetInt32();
                Assert.True(n <= last[from], $"{receiver.User} got {from} #{n}, beyond its last #{last[from]}");
                heard[from].Add(n);
            }
            Assert.False(receiver.Client.TryPeekQueued(out var extra), $"{receiver.User} got more than was sent: {extra}");
            foreach (var sender in speakers.Where(s => s != receiver))
            {
                var got = heard["/room/" + sender.User];
                var first = receiver.JoinedLate && !sender.JoinedLate ? got[0] : 0;
                Assert.True(Enumerable.Range(first, sender.Sent - first).SequenceEqual(got),
                    $"{receiver.User} heard {sender.User}'s {sender.Sent} messages as [{Runs(got)}]");
            }
            Assert.Equal(expectedPresence(receiver.User).Order(), presence.Order());
            Assert.Equal(WebSocketState.Open, receiver.Client.Socket.State);
            Assert.False(receiver.Client.Closed.IsCompleted, $"{receiver.User}'s socket was closed");
        }
    }

    /// <summary>A list of numbers as runs, "0-41, 43-99", so a gap or a repeat shows in a failure's message.</summary>
    private static string Runs(List<int> numbers)
    {
        var runs = new List<string>();
        for (var i = 0; i < numbers.Count;)
        {
            var j = i;
            while (j + 1 < numbers.Count && numbers[j + 1] == numbers[j] + 1) j++;
            runs.Add(i == j ? $"{numbers[i]}" : $"{numbers[i]}-{numbers[j]}");
            i = j + 1;
        }
        return string.Join(", ", runs);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await Task.WhenAll(_speakers.Values.Select(s => s.Talking)); }
        catch (WebSocketException) { }
        _stop.Dispose();
    }
}
