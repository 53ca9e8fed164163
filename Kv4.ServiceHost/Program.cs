using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// dotnet Kv4.ServiceHost.dll <kv4 base url> <$sys secret> <service name> <host id> <load> <ttl seconds>
// Listens on 127.0.0.1 (an ephemeral port), registers {"url","load","capacity":100,"ttl"} with
// PUT <kv4>/_svc/<service> as $sys, renews every ttl/3 seconds, and prints "ready <its url>" once registered.
// Every request it is forwarded is answered {"s":"ok","v":{"host":<id>,"bucket":..,"actor":..,"path":..}}.
if (args.Length != 6)
{
    Console.Error.WriteLine("usage: Kv4.ServiceHost <kv4 url> <sys secret> <service> <host id> <load> <ttl seconds>");
    return 2;
}
var (kv4, secret, service, id) = (new Uri(args[0]), args[1], args[2], args[3]);
var load = double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
var ttl = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
builder.Logging.ClearProviders();
var app = builder.Build();
app.Run(async context =>
{
    string Header(string name) => context.Request.Headers[name].ToString();
    context.Response.ContentType = "application/json";
    await context.Response.WriteAsync(JsonSerializer.Serialize(new
    {
        s = "ok",
        v = new { host = id, bucket = Header("X-Kv4-Bucket"), actor = Header("X-Kv4-Actor"), path = context.Request.Path.Value },
    }));
});
await app.StartAsync();
var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

using var kv4Client = new HttpClient { BaseAddress = kv4, Timeout = TimeSpan.FromSeconds(10) };
kv4Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("$sys:" + secret)));
var registration = JsonSerializer.Serialize(new { k = id, v = new { url, load, capacity = 100, ttl } });
var announced = false;
while (true)
{
    try
    {
        using var body = new StringContent(registration, Encoding.UTF8, "application/json");
        using var answer = await kv4Client.PutAsync("/_svc/" + service, body);
        if (answer.IsSuccessStatusCode && !announced)
        {
            Console.WriteLine("ready " + url);
            announced = true;
        }
        else if (!answer.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"registration refused: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        }
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
    {
        Console.Error.WriteLine("registration failed: " + e.Message);
    }
    await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.5, ttl / 3.0)));
}
