namespace Kv4.Services.Accounts;

/// <summary>
/// What `_acc` accepts as an email: at most 254 characters, one '@' with a non-empty local part and a domain
/// holding a '.', no white space or control characters. Stored as given; indexed (k2) and compared lower-cased.
/// </summary>
public static class EmailAddress
{
    public const int MaxLength = 254;

    public static bool IsValid(string? email)
    {
        if (string.IsNullOrEmpty(email) || email.Length > MaxLength) return false;
        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@')) return false;
        var domain = email.AsSpan(at + 1);
        var dot = domain.IndexOf('.');
        if (dot <= 0 || domain[^1] == '.') return false;
        foreach (var c in email)
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
        return true;
    }

    /// <summary>The form used as the secondary key and for comparisons.</summary>
    public static string Normalize(string email) => email.ToLowerInvariant();
}
