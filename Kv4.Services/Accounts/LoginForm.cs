using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// The one parser of the contract's credential grammar (http-api.md §4 Credentials), from the two halves of an HTTP Basic
/// credential (the host has already decoded the header and turned `%24sys` into `$sys`):
/// <code>
///   user        password             Kind                      Ident  Sub   AdminKey  Secret
///   $sys        S                    System                    $sys   -     -         S
///   elena       S                    Account                   elena  -     -         S
///   elena#lily  S                    SubAccount                elena  lily  -         S
///   elena#lily  !S                   SubAccountByParentSecret  elena  lily  -         S (elena's)
///   elena       boss#pw              Admin                     elena  -     boss      pw
/// </code>
/// Generated secrets are hex, so a password holding '#' can only be the admin form. Anything else is refused.
/// </summary>
public sealed record LoginForm(LoginKind Kind, string Ident, string? Sub, string? AdminKey, string Secret)
{
    /// <summary>Bounds the work a single credential can cause (hashing, lookups).</summary>
    public const int MaxPartLength = 1024;

    /// <summary>The bucket this login acts on.</summary>
    public string Bucket => Sub is null ? Ident : $"{Ident}#{Sub}";

    /// <summary>Who logs in, as on writes and as failures are counted: `$sys`, `elena`, `elena#lily` (by either secret), `elena:boss`.</summary>
    public string Actor => Kind == LoginKind.Admin ? $"{Ident}:{AdminKey}" : Bucket;

    public static bool TryParse(string? userName, string? password, out LoginForm form)
    {
        form = null!;
        if (string.IsNullOrEmpty(userName) || string.IsNullOrEmpty(password)) return false;
        if (userName.Length > MaxPartLength || password.Length > MaxPartLength) return false;

        if (userName == Caller.SystemBucket)
        {
            form = new LoginForm(LoginKind.System, Caller.SystemBucket, null, null, password);
            return true;
        }

        var hash = userName.IndexOf('#');
        if (hash >= 0)
        {
            var ident = userName[..hash];
            var sub = userName[(hash + 1)..];
            if (!AccountNames.IsValid(ident) || !AccountNames.IsValid(sub)) return false;
            if (password[0] == '!')
            {
                if (password.Length == 1) return false;
                form = new LoginForm(LoginKind.SubAccountByParentSecret, ident, sub, null, password[1..]);
            }
            else
            {
                form = new LoginForm(LoginKind.SubAccount, ident, sub, null, password);
            }
            return true;
        }

        if (!AccountNames.IsValid(userName)) return false;
        var adminSplit = password.IndexOf('#');
        if (adminSplit < 0)
        {
            form = new LoginForm(LoginKind.Account, userName, null, null, password);
            return true;
        }
        var adminKey = password[..adminSplit];
        var adminPassword = password[(adminSplit + 1)..];
        if (!AccountNames.IsValid(adminKey) || adminPassword.Length == 0) return false;
        form = new LoginForm(LoginKind.Admin, userName, null, adminKey, adminPassword);
        return true;
    }

    /// <summary>
    /// A password login (for `_sess`): `elena` or `elena#lily` with the account's password, `elena:boss` with an
    /// admin's password. Kind is Account, SubAccount or Admin; Secret is the password.
    /// </summary>
    public static bool TryParsePasswordLogin(string? login, string? password, out LoginForm form)
    {
        form = null!;
        if (string.IsNullOrEmpty(login) || string.IsNullOrEmpty(password)) return false;
        if (login.Length > MaxPartLength || password.Length > MaxPartLength) return false;
        var colon = login.IndexOf(':');
        if (colon >= 0)
        {
            var ident = login[..colon];
            var adminKey = login[(colon + 1)..];
            if (!AccountNames.IsValid(ident) || !AccountNames.IsValid(adminKey)) return false;
            form = new LoginForm(LoginKind.Admin, ident, null, adminKey, password);
            return true;
        }
        var hash = login.IndexOf('#');
        if (hash >= 0)
        {
            var ident = login[..hash];
            var sub = login[(hash + 1)..];
            if (!AccountNames.IsValid(ident) || !AccountNames.IsValid(sub)) return false;
            form = new LoginForm(LoginKind.SubAccount, ident, sub, null, password);
            return true;
        }
        if (!AccountNames.IsValid(login)) return false;
        form = new LoginForm(LoginKind.Account, login, null, null, password);
        return true;
    }
}

public enum LoginKind
{
    System,
    Account,
    SubAccount,
    SubAccountByParentSecret,
    Admin,
}
