using FsCheck;
using FsCheck.Fluent;
using Kv4.Engine.Model;

namespace Kv4.Tests.Engine;

/// <summary>
/// One step of a model-based run. The alphabet is deliberately tiny (2 buckets, 2 layers, 4 paths, 3 keys,
/// 2 secondary-key values) so that steps collide: overwrites, stale versions, secondary-key clashes,
/// deletes of what a subtree delete already removed, and "a" vs "ab" for whole-segment prefixes.
/// </summary>
public abstract record StoreOp
{
    public static readonly string[] Buckets = ["b1", "b1#s"];
    public static readonly string[] Layers = ["data", "router:pkt"];
    public static readonly string[] Paths = ["", "a", "a/b", "ab"];
    public static readonly string[] Keys = ["k1", "k2", "k3"];
    public static readonly string[] Actors = ["alice", "bob"];

    /// <summary>Values as a client sends them; some carry white space the store must drop.</summary>
    public static readonly string[] Values =
        ["{\"n\":1}", "{ \"n\" : 2, \"s\":\"a b\" }", "[1, 2,3]", "\"text\"", "null", "true", "12.50", "{}", "{\"deep\":{\"x\":[null]}}"];

    public static IEnumerable<EntryAddress> AllAddresses() =>
        from b in Buckets from l in Layers from p in Paths from k in Keys select new EntryAddress(b, l, p, k);

    /// <summary>Plain put, compare-and-set with the current or a stale version, or put-if-absent.</summary>
    public sealed record Put(EntryAddress At, string Json, string Actor, SecondaryKeys SecondaryKeys, PutKind Kind, long AdvanceMs) : StoreOp;

    public sealed record Delete(EntryAddress At, string Actor, DeleteKind Kind, long AdvanceMs) : StoreOp;

    public sealed record DeleteTree(string Bucket, string Layer, string Prefix, string Actor, long AdvanceMs) : StoreOp;

    /// <summary>Drop a whole bucket (an account's data): entries and their histories leave the store.</summary>
    public sealed record DeleteBucket(string Bucket, string Actor, long AdvanceMs) : StoreOp;

    /// <summary>
    /// Dispose the store and open it again on the same directory. With a checkpoint loss, the newest (or every)
    /// index checkpoint file is deleted in between, as if the process had died before writing it: the reopened
    /// store must then rebuild the same state from an older checkpoint plus the log after it, or from the log alone.
    /// </summary>
    public sealed record Reopen(CheckpointLoss Loss) : StoreOp;

    /// <summary>Write an index checkpoint now, so later reopens have one in the middle of the log to start from.</summary>
    public sealed record Checkpoint : StoreOp;

    public enum CheckpointLoss { None, Newest, All }

    public enum PutKind { Plain, IfCurrentVersion, IfStaleVersion, IfAbsent }

    public enum DeleteKind { Plain, IfCurrentVersion, IfStaleVersion }

    private static readonly Gen<EntryAddress> Address =
        from b in Gen.Elements(Buckets)
        from l in Gen.Elements(Layers)
        from p in Gen.Elements(Paths)
        from k in Gen.Elements(Keys)
        select new EntryAddress(b, l, p, k);

    // 0 keeps timestamps equal (newest-first must then follow the version), the others spread versions over time.
    private static readonly Gen<long> Advance = Gen.Elements(0L, 1L, 1_000L, 3_600_000L);

    private static readonly Gen<SecondaryKeys> SecondaryKeyGen = Gen.Frequency(
        (6, Gen.Constant(SecondaryKeys.None)),
        (2, Gen.Elements(new SecondaryKeys(K2: "e1"), new SecondaryKeys(K2: "e2"))),
        (1, Gen.Constant(new SecondaryKeys(K2: "e1", K3: "p1"))),
        (1, Gen.Constant(new SecondaryKeys(K3: "p1", K4: "q1"))));

    private static readonly Gen<StoreOp> PutGen =
        from at in Address
        from json in Gen.Elements(Values)
        from actor in Gen.Elements(Actors)
        from sk in SecondaryKeyGen
        from kind in Gen.Frequency((5, Gen.Constant(PutKind.Plain)), (2, Gen.Constant(PutKind.IfCurrentVersion)),
            (1, Gen.Constant(PutKind.IfStaleVersion)), (2, Gen.Constant(PutKind.IfAbsent)))
        from advance in Advance
        select (StoreOp)new Put(at, json, actor, sk, kind, advance);

    private static readonly Gen<StoreOp> DeleteGen =
        from at in Address
        from actor in Gen.Elements(Actors)
        from kind in Gen.Frequency((4, Gen.Constant(DeleteKind.Plain)), (1, Gen.Constant(DeleteKind.IfCurrentVersion)),
            (1, Gen.Constant(DeleteKind.IfStaleVersion)))
        from advance in Advance
        select (StoreOp)new Delete(at, actor, kind, advance);

    private static readonly Gen<StoreOp> DeleteTreeGen =
        from b in Gen.Elements(Buckets)
        from l in Gen.Elements(Layers)
        from prefix in Gen.Elements(Paths)
        from actor in Gen.Elements(Actors)
        from advance in Advance
        select (StoreOp)new DeleteTree(b, l, prefix, actor, advance);

    private static readonly Gen<StoreOp> DeleteBucketGen =
        from b in Gen.Elements(Buckets)
        from actor in Gen.Elements(Actors)
        from advance in Advance
        select (StoreOp)new DeleteBucket(b, actor, advance);

    private static readonly Gen<StoreOp> Step = Gen.Frequency(
        (24, PutGen),
        (8, DeleteGen),
        (2, DeleteTreeGen),
        (1, DeleteBucketGen),
        (2, Gen.Elements(CheckpointLoss.None, CheckpointLoss.Newest, CheckpointLoss.All).Select(loss => (StoreOp)new Reopen(loss))),
        (2, Gen.Constant((StoreOp)new Checkpoint())));

    /// <summary>Runs of 1..maxSteps steps; a failing run shrinks by dropping steps.</summary>
    public static Arbitrary<StoreOp[]> Runs(int maxSteps) =>
        Arb.From(Gen.Choose(1, maxSteps).SelectMany(n => Gen.ArrayOf(Step, n)), Shrink);

    private static IEnumerable<StoreOp[]> Shrink(StoreOp[] run)
    {
        if (run.Length <= 1) yield break;
        yield return run[..(run.Length / 2)];
        yield return run[(run.Length / 2)..];
        for (var i = run.Length - 1; i >= 0; i--)
            yield return [.. run[..i], .. run[(i + 1)..]];
    }
}
