using System.Security.Cryptography;
using System.Text;

namespace Kv4.Services.Accounts;

/// <summary>
/// A caller's standing: a short digest of every account record that vouches for it, over the fields that decide
/// whether its credential still holds (incarnation, secret hash, password hash). Admission stamps it on the caller,
/// tokens carry it (claim `std`), and a caller whose standing no longer matches the records is refused, on its next
/// request and on every live connection it holds.
/// <code>
/// elena (account):        Of(elena)          = "q3J0..."   records: $sys/acc/accounts/elena
/// elena#lily (sub):       Of(elena, lily)    = "Zm9v..."   records: + elena/acc/accounts/lily
/// elena:boss (admin):     Of(elena, boss)    = "YmFy..."   records: + elena/acc/users/admins/boss
/// </code>
/// What changes it: deleting and re-creating any of those records (a new incarnation), a new secret, a new
/// password. What does not: a profile field, or `active` (checked on its own, so re-activation restores the caller).
/// So deleting carol and creating carol again leaves every token and connection of the old carol refused.
/// </summary>
public static class CallerStanding
{
    public static string Of(AccountRecord top, AccountRecord? second = null)
    {
        var text = new StringBuilder(256);
        Append(text, top);
        if (second is not null) Append(text, second);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), digest);
        return Convert.ToBase64String(digest[..12]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private static void Append(StringBuilder text, AccountRecord record) =>
        text.Append(record.Incarnation).Append('\n').Append(record.SecretHash).Append('\n').Append(record.PasswordHash).Append('\n');
}
