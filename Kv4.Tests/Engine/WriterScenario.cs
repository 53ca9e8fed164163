using FsCheck;
using FsCheck.Fluent;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Partitioning;

namespace Kv4.Tests.Engine;

/// <summary>
/// What several concurrent writers do to one store: each writer's own list of steps, run in its order on its own
/// thread while the others run theirs. The addresses are few, so writers collide: paths "lane/A" and "lane/A2"
/// share a partition, "lane/B" and "lane/C" are each on a partition of their own, and every path has the same
/// three keys, so two writers often write the same key.
/// </summary>
public sealed record WriterScenario(DurabilityMode Durability, WriterScenario.Step[][] Writers)
{
    /// <summary>Few partitions, so that finding paths that share one (and ones that do not) is quick and stable.</summary>
    public const int PartitionCount = 8;

    public const string Bucket = "b1";
    public const string Layer = "data";

    public static readonly string[] Keys = ["k1", "k2", "k3"];

    public static readonly string[] Paths = ChoosePaths();

    public enum StepKind
    {
        Put,
        /// <summary>Reads the key's current version, then puts with <see cref="WriteCondition.IfVersion"/> of it.</summary>
        CompareAndSetPut,
        PutIfAbsent,
        Delete,
        /// <summary>Reads the key's current version, then deletes with <see cref="WriteCondition.IfVersion"/> of it.</summary>
        CompareAndSetDelete,
    }

    public sealed record Step(EntryAddress At, StepKind Kind)
    {
        public override string ToString() => $"{Kind} {At.Path}?k={At.Key}";
    }

    public override string ToString() =>
        $"{Durability}, {Writers.Length} writers:\n" +
        string.Join("\n", Writers.Select((steps, w) => $"  writer {w}: {string.Join(", ", steps.Select(s => s.ToString()))}"));

    private static string[] ChoosePaths()
    {
        var map = new PartitionMap(PartitionCount);
        int Of(string path) => map.PartitionOf(Bucket, Layer, path);
        var a = Of("lane/A");
        var a2 = Enumerable.Range(0, 1000).Select(n => $"lane/A{n}").First(p => Of(p) == a);
        var b = Enumerable.Range(0, 1000).Select(n => $"lane/B{n}").First(p => Of(p) != a);
        var c = Enumerable.Range(0, 1000).Select(n => $"lane/C{n}").First(p => Of(p) != a && Of(p) != Of(b));
        return ["lane/A", a2, b, c];
    }

    private static readonly Gen<Step> StepGen =
        from path in Gen.Elements(Paths)
        from key in Gen.Elements(Keys)
        from kind in Gen.Frequency(
            (5, Gen.Constant(StepKind.Put)),
            (3, Gen.Constant(StepKind.CompareAndSetPut)),
            (1, Gen.Constant(StepKind.PutIfAbsent)),
            (2, Gen.Constant(StepKind.Delete)),
            (1, Gen.Constant(StepKind.CompareAndSetDelete)))
        select new Step(new EntryAddress(Bucket, Layer, path, key), kind);

    private static readonly Gen<WriterScenario> ScenarioGen =
        from durability in Gen.Frequency((3, Gen.Constant(DurabilityMode.Interval)), (1, Gen.Constant(DurabilityMode.Sync)))
        from writers in Gen.Choose(2, 4)
        from steps in Gen.ArrayOf(Gen.Choose(1, 40).SelectMany(n => Gen.ArrayOf(StepGen, n)), writers)
        select new WriterScenario(durability, steps);

    /// <summary>Scenarios of 2..4 writers with 1..40 steps each; a failing one shrinks by dropping a writer or halving their steps.</summary>
    public static Arbitrary<WriterScenario> Scenarios() => Arb.From(ScenarioGen, Shrink);

    private static IEnumerable<WriterScenario> Shrink(WriterScenario scenario)
    {
        if (scenario.Writers.Length > 2)
            for (var w = 0; w < scenario.Writers.Length; w++)
                yield return scenario with { Writers = [.. scenario.Writers[..w], .. scenario.Writers[(w + 1)..]] };
        if (scenario.Writers.Any(steps => steps.Length > 1))
            yield return scenario with { Writers = scenario.Writers.Select(steps => steps[..Math.Max(1, steps.Length / 2)]).ToArray() };
    }
}
