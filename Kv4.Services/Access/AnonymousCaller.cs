using Kv4.Services.Api;

namespace Kv4.Services.Access;

/// <summary>
/// The caller handed to a service for a call it allows without credentials (a login, say). Its bucket is empty,
/// which no bucket rule accepts, so a service that used it to touch data by mistake would be refused by the engine.
/// </summary>
public static class AnonymousCaller
{
    public static readonly Caller Instance = new("", "", CallerKind.Account, []);

    public static bool Is(Caller caller) => ReferenceEquals(caller, Instance);
}
