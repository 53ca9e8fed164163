using Kv4.Engine.Model;
using Kv4.Engine.Rules;

namespace Kv4.Tests.Engine;

/// <summary>
/// What one step of a concurrent writer got back. <see cref="Started"/> and <see cref="Finished"/> are ticks of
/// one counter shared by all writers, taken just before the call and just after its answer: when one write's
/// Finished is below another's Started, the first was acknowledged before the second was issued, so the store
/// must order it first. <see cref="Expected"/> is the version a compare-and-set named (read just before it).
/// </summary>
public sealed record WriteOutcome(
    int Writer,
    int StepIndex,
    WriterScenario.Step Step,
    byte[]? Value,
    VersionId Expected,
    long Started,
    long Finished,
    WriteResult? Result,
    EngineError? Refused)
{
    /// <summary>The step appended a version (a delete of nothing, or a refused step, appends none).</summary>
    public bool Appended => Result is { Applied: true };

    public override string ToString() =>
        $"writer {Writer} step {StepIndex} ({Step}, expected {Expected}) [{Started}..{Finished}] " +
        (Refused is { } e ? $"refused {e}" : Result is { } r ? $"v{r.Version} p{r.Partition}#{r.PartitionSequence} applied={r.Applied}" : "?");
}
