namespace Kv4.Engine.Rules;

/// <summary>A refused request. Nothing was written when this is thrown.</summary>
public class EngineException(EngineError error, string message) : Exception(message)
{
    public EngineError Error { get; } = error;
}
