using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Kv4.Tests.Support;

/// <summary>
/// Headless Chromium (Debian's `chromium`) started by a test with its own throw-away profile and driven over the
/// DevTools protocol: HTTP /json/list finds the page, then one WebSocket carries commands and events. The page
/// starts blank so the Runtime and Log domains are listening before the test's page loads: every uncaught
/// exception, `console.error`, failed resource load and Content-Security-Policy violation from then on is in
/// <see cref="ConsoleErrors"/>. Killed and its profile removed on dispose.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>How long a DOM condition may take to hold before a wait fails (generous: the machine may be busy).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _devtools = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly List<string> _consoleErrors = [];
    private readonly CancellationTokenSource _closing = new();
    private Task _reading = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>What the page reported as an error so far, each as "source: text (url)".</summary>
    public IReadOnlyList<string> ConsoleErrors
    {
        get { lock (_consoleErrors) return [.. _consoleErrors]; }
    }

    public static async Task<HeadlessChromium> StartAsync(string executable, Uri page, int width = 1280, int height = 900)
    {
        var profile = Directory.CreateTempSubdirectory("kv4-chromium-").FullName;
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--hide-scrollbars", "--force-device-scale-factor=1", $"--window-size={width},{height}",
                     "--user-data-dir=" + profile, "--remote-debugging-port=0", "about:blank",
                 })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.AttachAsync();
            await browser.SendAsync("Runtime.enable");
            await browser.SendAsync("Log.enable");
            await browser.SendAsync("Page.enable");
            await browser.NavigateAsync(page);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task AttachAsync()
    {
        // Chromium writes the port it chose to <profile>/DevToolsActivePort.
        var portFile = Path.Combine(_profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string? port = null;
        while (port is null)
        {
            if (_process.HasExited) throw new InvalidOperationException("chromium exited with " + _process.ExitCode);
            if (DateTime.UtcNow > deadline) throw new TimeoutException("chromium did not open its DevTools port");
            if (File.Exists(portFile) && (await File.ReadAllLinesAsync(portFile)) is [var first, ..] && first.Length > 0) port = first;
            else await Task.Delay(100);
        }
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        string? debuggerUrl = null;
        while (debuggerUrl is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("chromium did not list its page");
            using var targets = JsonDocument.Parse(await http.GetStringAsync("/json/list"));
            debuggerUrl = targets.RootElement.EnumerateArray()
                .Where(t => t.GetProperty("type").GetString() == "page")
                .Select(t => t.GetProperty("webSocketDebuggerUrl").GetString())
                .FirstOrDefault();
            if (debuggerUrl is null) await Task.Delay(100);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        _devtools.Options.KeepAliveInterval = TimeSpan.Zero;
        await _devtools.ConnectAsync(new Uri(debuggerUrl), timeout.Token);
        _reading = Task.Run(ReadLoopAsync);
    }

    /// <summary>Loads <paramref name="page"/> and waits until its document has loaded.</summary>
    public async Task NavigateAsync(Uri page)
    {
        var navigated = await SendAsync("Page.navigate", new { url = page.ToString() });
        if (navigated.TryGetProperty("errorText", out var error)) throw new InvalidOperationException($"chromium could not load {page}: {error}");
        await WaitForAsync("document.readyState === 'complete'");
    }

    /// <summary>
    /// Runs <paramref name="beforeReload"/> (JavaScript statements) and reloads the page in the same task, then waits
    /// for the new document to load. The old document is marked, so no wait can be satisfied by it.
    /// </summary>
    public async Task ReloadAsync(string beforeReload = "")
    {
        await EvaluateAsync($"(() => {{ {beforeReload}; window.kv4OldDocument = true; setTimeout(() => location.reload(), 0); return true; }})()");
        await WaitForAsync("!window.kv4OldDocument && document.readyState === 'complete'");
    }

    /// <summary>One DevTools command; its `result`, or an exception with the protocol's error.</summary>
    public async Task<JsonElement> SendAsync(string method, object? parameters = null, TimeSpan? timeout = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var request = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _sending.WaitAsync();
        try
        {
            await _devtools.SendAsync(request, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
        try
        {
            return await reply.Task.WaitAsync(timeout ?? Patience + TimeSpan.FromSeconds(15));
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Evaluates an expression that yields a JSON string in the page and parses it.</summary>
    public async Task<JsonElement> EvaluateJsonAsync(string expression, TimeSpan? timeout = null)
    {
        var value = await EvaluateAsync(expression, timeout);
        return JsonDocument.Parse(value.GetString()!).RootElement.Clone();
    }

    /// <summary>Evaluates an expression (awaiting a promise) and answers its value; an exception in the page fails the test.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression, TimeSpan? timeout = null)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true }, timeout);
        if (result.TryGetProperty("exceptionDetails", out var details))
        {
            var text = details.TryGetProperty("exception", out var exception) && exception.TryGetProperty("description", out var description)
                ? description.GetString()
                : details.GetProperty("text").GetString();
            throw new InvalidOperationException($"the page threw evaluating `{expression}`: {text}");
        }
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>
    /// Waits, in the page, until <paramref name="condition"/> (a JavaScript expression) is truthy, checking every 50 ms
    /// and after nothing else; answers its value as JSON. Failing, it says what the page showed.
    /// </summary>
    public async Task<JsonElement> WaitForAsync(string condition, TimeSpan? patience = null)
    {
        var limit = patience ?? Patience;
        var script = $$"""
            new Promise(resolve => {
              const deadline = performance.now() + {{(int)limit.TotalMilliseconds}};
              const check = () => {
                let value;
                try { value = ({{condition}}); } catch (e) { value = undefined; }
                if (value) { resolve(JSON.stringify({ ok: true, value })); return; }
                if (performance.now() > deadline) { resolve(JSON.stringify({ ok: false })); return; }
                setTimeout(check, 50);
              };
              check();
            })
            """;
        JsonElement outcome;
        var started = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                outcome = await EvaluateJsonAsync(script, limit + TimeSpan.FromSeconds(15));
                break;
            }
            catch (InvalidOperationException e) when (IsNavigation(e) && started.Elapsed < limit)
            {
                // The document the check ran in was replaced (a reload, a navigation): check again in the new one.
            }
        }
        if (outcome.GetProperty("ok").GetBoolean()) return outcome.GetProperty("value").Clone();
        var shown = await EvaluateAsync("document.body ? document.body.innerText.slice(0, 3000) : ''");
        throw new TimeoutException($"the page did not reach `{condition}` within {limit.TotalSeconds} s. It shows:\n{shown}\n"
            + $"console errors: {string.Join("\n", ConsoleErrors)}");
    }

    private static bool IsNavigation(InvalidOperationException e) =>
        e.Message.Contains("navigated", StringComparison.Ordinal) || e.Message.Contains("context was destroyed", StringComparison.Ordinal)
        || e.Message.Contains("Cannot find context", StringComparison.Ordinal);

    /// <summary>Waits for the element and clicks it as a user would (a real mouse click at its centre).</summary>
    public Task ClickAsync(string selector) => ClickElementAsync($"document.querySelector({JsonSerializer.Serialize(selector)})");

    /// <summary>Waits until <paramref name="element"/> (a JavaScript expression) is an element on screen, and clicks it.</summary>
    public async Task ClickElementAsync(string element)
    {
        var box = await WaitForAsync($$"""
            (() => {
              const el = {{element}};
              if (!el) return null;
              el.scrollIntoView({ block: 'center', inline: 'center' });
              const r = el.getBoundingClientRect();
              return r.width > 0 && r.height > 0 ? { x: r.left + r.width / 2, y: r.top + r.height / 2 } : null;
            })()
            """);
        var x = box.GetProperty("x").GetDouble();
        var y = box.GetProperty("y").GetDouble();
        await SendAsync("Input.dispatchMouseEvent", new { type = "mouseMoved", x, y });
        await SendAsync("Input.dispatchMouseEvent", new { type = "mousePressed", x, y, button = "left", clickCount = 1 });
        await SendAsync("Input.dispatchMouseEvent", new { type = "mouseReleased", x, y, button = "left", clickCount = 1 });
    }

    /// <summary>Focuses the field, empties it and types <paramref name="text"/> into it through the input pipeline.</summary>
    public async Task TypeAsync(string selector, string text)
    {
        await WaitForAsync($$"""
            (() => {
              const el = document.querySelector({{JsonSerializer.Serialize(selector)}});
              if (!el) return false;
              el.focus();
              el.select?.();
              return document.activeElement === el;
            })()
            """);
        await SendAsync("Input.insertText", new { text });
    }

    /// <summary>Presses Enter in the focused element.</summary>
    public async Task PressEnterAsync()
    {
        await SendAsync("Input.dispatchKeyEvent", new { type = "keyDown", key = "Enter", code = "Enter", windowsVirtualKeyCode = 13, text = "\r" });
        await SendAsync("Input.dispatchKeyEvent", new { type = "keyUp", key = "Enter", code = "Enter", windowsVirtualKeyCode = 13 });
    }

    /// <summary>A PNG of the whole page (up to 3000 px tall).</summary>
    public async Task ScreenshotAsync(string path)
    {
        var metrics = await SendAsync("Page.getLayoutMetrics");
        var content = metrics.GetProperty("cssContentSize");
        var viewport = metrics.GetProperty("cssLayoutViewport");
        var width = viewport.GetProperty("clientWidth").GetDouble();
        var height = Math.Min(Math.Max(content.GetProperty("height").GetDouble(), viewport.GetProperty("clientHeight").GetDouble()), 3000);
        var shot = await SendAsync("Page.captureScreenshot", new
        {
            format = "png",
            captureBeyondViewport = true,
            clip = new { x = 0, y = 0, width, height, scale = 1 },
        });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.GetProperty("data").GetString()!));
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                message.SetLength(0);
                WebSocketReceiveResult result;
                do
                {
                    result = await _devtools.ReceiveAsync(buffer, _closing.Token);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    message.Write(buffer, 0, result.Count);
                } while (!result.EndOfMessage);
                using var document = JsonDocument.Parse(message.GetBuffer().AsMemory(0, (int)message.Length));
                var root = document.RootElement;
                if (root.TryGetProperty("id", out var id))
                {
                    if (!_pending.TryGetValue(id.GetInt32(), out var reply)) continue;
                    if (root.TryGetProperty("error", out var error)) reply.TrySetException(new InvalidOperationException("DevTools: " + error.GetRawText()));
                    else reply.TrySetResult(root.GetProperty("result").Clone());
                }
                else if (root.TryGetProperty("method", out var method))
                {
                    Observe(method.GetString()!, root.GetProperty("params"));
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            foreach (var pending in _pending.Values) pending.TrySetException(new InvalidOperationException("the DevTools connection closed"));
        }
    }

    private void Observe(string method, JsonElement parameters)
    {
        string? error = method switch
        {
            "Runtime.exceptionThrown" => "exception: " + ExceptionText(parameters.GetProperty("exceptionDetails")),
            "Runtime.consoleAPICalled" when parameters.GetProperty("type").GetString() is "error" or "assert" =>
                "console: " + string.Join(' ', parameters.GetProperty("args").EnumerateArray().Select(a =>
                    a.TryGetProperty("value", out var v) ? v.ToString() : a.TryGetProperty("description", out var d) ? d.GetString() : a.GetRawText())),
            "Log.entryAdded" when parameters.GetProperty("entry").GetProperty("level").GetString() == "error" =>
                $"{parameters.GetProperty("entry").GetProperty("source").GetString()}: {parameters.GetProperty("entry").GetProperty("text").GetString()}"
                + (parameters.GetProperty("entry").TryGetProperty("url", out var url) ? $" ({url.GetString()})" : ""),
            _ => null,
        };
        if (error is not null) lock (_consoleErrors) _consoleErrors.Add(error);
    }

    private static string ExceptionText(JsonElement details) =>
        details.TryGetProperty("exception", out var exception) && exception.TryGetProperty("description", out var description)
            ? description.GetString()!
            : details.GetProperty("text").GetString()!;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_devtools.State == WebSocketState.Open)
                await _devtools.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        await _closing.CancelAsync();
        try { await _reading.WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (TimeoutException) { }
        _devtools.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }
        _process.Dispose();
        _closing.Dispose();
        _sending.Dispose();
        try { Directory.Delete(_profile, recursive: true); }
        catch (IOException) { }
    }
}
