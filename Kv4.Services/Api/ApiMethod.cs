namespace Kv4.Services.Api;

public enum ApiMethod
{
    Get,
    Put,
    Post,
    Delete,
}
