using Kv4.BareKestrel;

// A bare Kestrel endpoint with Kv4's route template and no work behind it: what the HTTP stack alone
// can serve on this machine. Same host builder, server GC and routing as Kv4.Server; it skips
// authentication (no Authorization header parse), the services and the engine. Request bodies are
// read to the end, as Kv4 must, then dropped.
//   dotnet run -c Release --project bench/Kv4.BareKestrel -- --urls http://127.0.0.1:5099 \
//     [--Bare:GetReply=FILE] [--Bare:PutReply=FILE] [--Bare:SeriesReply=FILE]
var builder = WebApplication.CreateBuilder(args);
var replies = FixedReplies.From(builder.Configuration);
var app = builder.Build();

app.MapGet("/healthz", () => Results.Text("ok"));
app.MapMethods("/_{service}/{**path}", ["GET", "PUT", "POST"], async context =>
{
    byte[] body;
    if (HttpMethods.IsGet(context.Request.Method))
    {
        body = context.Request.Query.ContainsKey("time_series") ? replies.TimeSeries : replies.GetLatest;
    }
    else
    {
        // Drain the body without keeping it.
        var reader = context.Request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted);
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) break;
        }
        body = replies.Put;
    }
    context.Response.StatusCode = 200;
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = body.Length;
    await context.Response.Body.WriteAsync(body, context.RequestAborted);
});

app.Run();
