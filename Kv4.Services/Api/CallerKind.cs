namespace Kv4.Services.Api;

/// <summary>Which of the contract's login forms (http-api.md §4 Credentials) produced the caller.</summary>
public enum CallerKind
{
    /// <summary>`$sys:SECRET`: acts on bucket `$sys`, which holds the top-level accounts.</summary>
    System,
    /// <summary>`ident:SECRET`: a top-level account on its own bucket.</summary>
    Account,
    /// <summary>`ident#sub:SUBSECRET` or `ident#sub:!IDENTSECRET`: bucket `ident#sub`.</summary>
    SubAccount,
    /// <summary>`ident:adminkey#password`: bucket `ident`, actor `ident:adminkey`.</summary>
    Admin,
}
