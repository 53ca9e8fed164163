using Kv4.Engine.Rules;

namespace Kv4.Services.Api;

/// <summary>
/// What a `_token` token may do when it is presented as a REST bearer (http-api.md §4 Credentials accepts `_token` bearers). Such a
/// token is handed to an end user's browser and travels in the signal URL, so it must not carry its issuer's
/// powers: it may only GET what each service's <see cref="ServiceDeclaration.SignalReach"/> opens to it.
/// <code>
/// token for "room" (bucket elena):  GET /_host?type=signal      → allowed (host: whole)
///                                   GET /_subs/room, /_subs/room/a (also ?watch=1)  → allowed (subs: channel)
///                                   GET /_subs/lobby, GET /_data/x, PUT /_token/room, anything else → forbidden
/// token without a channel:          GET /_host, GET /_subs/&lt;any channel&gt; → allowed; the rest → forbidden
/// </code>
/// </summary>
public sealed record SignalScope(string? Channel)
{
    public bool Permits(ServiceDeclaration service, ApiMethod method, string path) =>
        method == ApiMethod.Get && service.SignalReach switch
        {
            SignalReach.Whole => true,
            SignalReach.Channel => Channel is null || AddressRules.IsUnder(path, Channel),
            _ => false,
        };
}
