using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Connection;

/// <summary>
/// The HTTP client of every command: Basic credentials on each request, one reply per call read whole (bounded),
/// or a streaming reply for a watch. Failures come out as <see cref="CliFailure"/>: a server refusal with its code,
/// or a connection failure (refused, reset, timed out, not a Kv4 reply).
/// </summary>
public sealed class Kv4Client : IDisposable
{
    /// <summary>The most kv4 reads of one reply. The server's pages stay under its reply budget (4 MiB by default).</summary>
    public const int MaxReplyBytes = 64 << 20;

    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;
    private readonly string _base;

    public Kv4Client(ConnectionSettings settings, TimeSpan timeout)
    {
        if (settings.User is null || settings.Secret is null)
            throw CliFailure.Usage("no login: the user or the secret is missing",
                "set KV4_USER and KV4_SECRET, give --user and --secret, or name a profile (--profile NAME)");
        Url = settings.Url;
        _base = settings.Url.GetLeftPart(UriPartial.Path).TrimEnd('/');
        _timeout = timeout;
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = MaxReplyBytes };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes(settings.User + ":" + settings.Secret)));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("kv4", "0.1.0"));
        User = settings.User;
    }

    public Uri Url { get; }

    public string User { get; }

    public Task<ApiReply> GetAsync(ApiTarget target, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, target, null, cancellationToken);

    /// <summary>One call, its reply read whole within the timeout.</summary>
    public async Task<ApiReply> SendAsync(HttpMethod method, ApiTarget target, string? body, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        var what = method + " " + target;
        try
        {
            using var request = new HttpRequestMessage(method, Address(target));
            if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            return ApiReply.Parse(text, (int)response.StatusCode, what);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw CliFailure.Connection($"no reply to {what} from {Url} within {_timeout.TotalSeconds:0.#} s", "is the server up and reachable? --timeout SECONDS waits longer");
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
    }

    /// <summary>
    /// Opens a streaming GET (a watch, a backup) of <paramref name="mediaType"/>: answers the response once its
    /// headers are in, for the caller to read and dispose. A refusal before the stream (an error envelope) is thrown
    /// like any other.
    /// </summary>
    public async Task<HttpResponseMessage> OpenStreamAsync(ApiTarget target, string mediaType, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        var what = "GET " + target;
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Address(target));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw CliFailure.Connection($"no reply to {what} from {Url} within {_timeout.TotalSeconds:0.#} s", "is the server up and reachable?");
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentType?.MediaType == mediaType) return response;
        using (response)
        {
            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(deadline.Token);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw CliFailure.Connection($"the reply to {what} broke off: {e.Message}", inner: e);
            }
            ApiReply.Parse(text, (int)response.StatusCode, what);
            throw CliFailure.Connection($"{what} answered without a {mediaType} stream", "is the URL a Kv4 server?");
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// The URL as built, not canonicalized: System.Uri would resolve a `..` segment (even escaped as `%2E%2E`) and
    /// send a request for another path than the user named; the server must see it, and refuse it.
    /// </summary>
    private Uri Address(ApiTarget target) =>
        new(_base + target, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    private CliFailure Unreachable(HttpRequestException e) =>
        CliFailure.Connection($"cannot reach {Url}: {e.Message}", "is the server running there? (--url, KV4_URL or the profile)", e);
}
