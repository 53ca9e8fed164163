namespace Kv4.Services.Accounts;

/// <summary>The role names a <see cref="Api.Caller"/> carries (and a session token repeats), one per login form.</summary>
public static class CallerRoles
{
    public const string System = "sys";
    public const string Account = "account";
    public const string SubAccount = "subaccount";
    public const string Admin = "admin";
}
