namespace Kv4.Services.Accounts;

/// <summary>
/// What an account, sub-account or admin name may be: 1..64 of [A-Za-z0-9._@+-]. The set leaves out every
/// character the login grammar gives a meaning to (':' ends the Basic user name, '#' joins ident and sub or
/// adminkey and password, '!' marks a parent secret, '$' is the system) and '/', so a name is also a valid
/// bucket segment and never needs escaping.
/// </summary>
public static class AccountNames
{
    public const int MaxLength = 64;

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxLength) return false;
        foreach (var c in name)
            if (!(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '_' or '@' or '+' or '-'))
                return false;
        return true;
    }
}
