using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// Turns the user name and password of an HTTP Basic credential into a <see cref="Caller"/>, following the
/// login grammar of the contract (http-api.md §4 Credentials): `$sys:SECRET`, `ident:SECRET`, `ident#sub:SUBSECRET`,
/// `ident#sub:!IDENTSECRET`, `ident:adminkey#password`. Null means refused (unknown, wrong secret, inactive).
/// Implementations cache successful checks briefly; a changed secret, deactivation or deletion takes effect at once.
/// </summary>
public interface ICallerAuthenticator
{
    ValueTask<Caller?> AuthenticateAsync(string userName, string password, CancellationToken cancellationToken = default);
}
