using System.Net;
using System.Net.Sockets;
using System.Text;
using Kv4.Server.Authentication;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Server;

/// <summary>
/// A client's broken request is answered as the client's error: bad chunked framing is 400 `bad_param`, a body
/// that trickles in below the configured rate 408 `request_timeout`, a body over Kestrel's limit 413
/// `value_too_large`, each in the envelope, with the service never called and nothing logged at Error or with a
/// stack trace. Sent over raw sockets, because HttpClient only sends well-formed requests.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClientErrorTests(ClientErrorTests.Fixture fixture) : IClassFixture<ClientErrorTests.Fixture>
{
    /// <summary>A server with the test services, a low minimum body rate and short timeouts, so the timeouts come quickly.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public FakeServices Fake { get; } = new();

        public LogRecorder Logs { get; } = new();

        public Kv4TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await Kv4TestServer.StartAsync(
            ["--Kv4:Api:MinBodyBytesPerSecond=50", "--Kv4:Api:BodyGraceSeconds=2", "--Kv4:Api:HeadersTimeoutSeconds=2"],
            builder =>
            {
                FakeServices.Install(Fake)(builder);
                builder.Logging.AddProvider(Logs);
            });

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private Kv4TestServer Server => fixture.Server;

    private string Head(string framing) =>
        $"PUT /_probe/a HTTP/1.1\r\nHost: {Server.BaseAddress.Authority}\r\nConnection: close\r\n"
        + $"Authorization: {BasicCredential.Header("$sys", Kv4TestServer.SysSecret)}\r\nContent-Type: application/json\r\n{framing}\r\n";

    [Theory]
    [InlineData("zz\r\n{}\r\n0\r\n\r\n")]
    [InlineData("fffffffffffffffffff\r\n{}\r\n0\r\n\r\n")]
    [InlineData("2\r\n{}XX0\r\n\r\n")]
    public async Task Bad_chunked_framing_is_bad_param_in_the_envelope(string chunks)
    {
        var (status, body) = await ExpectClientErrorAsync(() =>
            RawHttp.SendRawAsync(Server.BaseAddress, Head("Transfer-Encoding: chunked\r\n") + chunks));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"bad_param\"}", body);
    }

    [Fact]
    public async Task A_body_that_trickles_in_below_the_minimum_rate_is_request_timeout()
    {
        var (status, body) = await ExpectClientErrorAsync(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port);
            await using var stream = client.GetStream();
            const int declared = 100_000;
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Head($"Content-Length: {declared}\r\n") + "{"));
            var response = RawHttp.ReadResponseAsync(stream);
            // A few bytes a second, far below the 50 B/s configured: the server cuts the body off, and the loop ends
            // with its answer (long before the declared length could be sent at this pace).
            for (var sent = 1; !response.IsCompleted && sent < declared; sent++)
            {
                try { await stream.WriteAsync(" "u8.ToArray()); }
                catch (IOException) { break; }
                await Task.WhenAny(response, Task.Delay(250));
            }
            return await response;
        });
        Assert.Equal(HttpStatusCode.RequestTimeout, status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"request_timeout\"}", body);
    }

    [Fact]
    public async Task A_declared_body_over_the_hard_limit_is_value_too_large()
    {
        var (status, body) = await ExpectClientErrorAsync(() =>
            RawHttp.SendRawAsync(Server.BaseAddress, Head("Content-Length: 1000000000\r\n") + "{\"k\":"), loggedAsClientError: false);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"value_too_large\"}", body);
    }

    [Fact]
    public async Task Headers_that_never_end_are_cut_off_with_408()
    {
        // Kestrel answers this itself (no envelope: no request reached the application), after the configured timeout.
        var (status, _) = await ExpectClientErrorAsync(() =>
            RawHttp.SendRawAsync(Server.BaseAddress, $"GET /_probe/a HTTP/1.1\r\nHost: {Server.BaseAddress.Authority}\r\nX-Slow: "),
            loggedAsClientError: false);
        Assert.Equal(HttpStatusCode.RequestTimeout, status);
    }

    [Theory]
    [InlineData("--Kv4:Api:BodyGraceSeconds=1")]
    [InlineData("--Kv4:Api:MinBodyBytesPerSecond=-1")]
    [InlineData("--Kv4:Api:HeadersTimeoutSeconds=0")]
    public async Task Out_of_range_client_limits_stop_the_start(string knob)
    {
        var dataDir = Directory.CreateTempSubdirectory("kv4-limits-").FullName;
        try
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var server = await Kv4TestServer.StartAsync([knob], FakeServices.Install(new FakeServices()), dataDir);
            });
            Assert.Contains("Kv4 options", error.Message);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>
    /// Runs the exchange and checks what the server did meanwhile: the service was not called, nothing was logged
    /// at Error or with an exception, and (for a body Kestrel could not read) the client error was logged at Information.
    /// </summary>
    private async Task<(HttpStatusCode Status, string Body)> ExpectClientErrorAsync(Func<Task<(HttpStatusCode, string)>> exchange,
        bool loggedAsClientError = true)
    {
        var calls = fixture.Fake.ProbeCalls;
        var logged = fixture.Logs.Entries.Count;
        var answer = await exchange();
        var entries = fixture.Logs.Entries.Skip(logged).ToArray();
        Assert.Equal(calls, fixture.Fake.ProbeCalls);
        Assert.DoesNotContain(entries, e => e.Level >= LogLevel.Error || e.Exception is not null);
        if (loggedAsClientError)
            Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Category.EndsWith(".ApiEndpoint", StringComparison.Ordinal));
        return answer;
    }
}
