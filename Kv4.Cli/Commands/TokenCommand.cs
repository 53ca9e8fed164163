using System.CommandLine;
using Kv4.Cli.Connection;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 token CHANNEL USER [--expire SECONDS]`: a signal token (`_token`) for USER on a created channel; prints the JWT.</summary>
public static class TokenCommand
{
    public static Command Create(GlobalOptions options)
    {
        var channel = new Argument<string>("channel") { Description = "a created namespace node (kv4 ns put CHANNEL)" };
        var user = new Argument<string>("user") { Description = "who joins with the token" };
        var expire = new Option<long?>("--expire") { Description = "seconds the token lives (server default 60; 0: no expiry)" };
        var command = new Command("token", "issue a signal token for a user on a channel") { channel, user, expire };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var reply = await context.Client.SendAsync(HttpMethod.Put,
                ApiTarget.For("token", context.Value(channel)).With("k", context.Value(user)).With("expire", context.Value(expire)), null, cancellationToken);
            if (!context.WroteRaw(reply)) context.Out.WriteLine(reply.V.GetString());
            return 0;
        });
        return command;
    }
}
