using System.Net;
using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// Turns the user name and password of an HTTP Basic credential into a <see cref="Caller"/>, following the
/// login grammar of the contract (http-api.md §4 Credentials): `$sys:SECRET`, `ident:SECRET`, `ident#sub:SUBSECRET`,
/// `ident#sub:!IDENTSECRET`, `ident:adminkey#password`. Implementations cache successful checks briefly; a changed
/// secret, deactivation or deletion takes effect at once.
/// </summary>
public interface ICallerAuthenticator
{
    /// <param name="client">The address the login comes from (null when unknown): failures are counted per address too.</param>
    ValueTask<LoginResult> AuthenticateAsync(string userName, string password, IPAddress? client, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether a caller admitted earlier (by a token, or holding a live connection) may still act: its records exist,
    /// are active and still give it the <see cref="Caller.Standing"/> it was admitted with.
    /// </summary>
    ValueTask<bool> StandsAsync(Caller caller, CancellationToken cancellationToken = default);
}
