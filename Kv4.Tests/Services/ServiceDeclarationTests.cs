using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>
/// The declarations are the one table of what each service is: every service the runtime serves is in it, under its
/// own prefix, and lives in the folder the table names, so a reader finds `_sess` in Kv4.Services/Sessions.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ServiceDeclarationTests
{
    [Fact]
    public async Task Every_built_in_service_is_declared_once_and_lives_in_the_folder_its_declaration_names()
    {
        await using var h = await ServiceHarness.StartAsync();
        var served = h.Catalog.Services.ToList();
        Assert.Equal(BuiltInServices.All.Select(d => d.Name).Order(), served.Select(s => s.Name).Order());
        foreach (var service in served)
        {
            var declaration = Assert.Single(BuiltInServices.All, d => d.Name == service.Name);
            Assert.Same(declaration, service.Declaration);
            Assert.Equal("Kv4.Services." + declaration.Folder, service.GetType().Namespace);
        }
    }

    [Fact]
    public void Layers_that_hold_secrets_are_never_watchable_and_only_get_reaches_a_signal_token()
    {
        foreach (var d in BuiltInServices.All)
        {
            Assert.False(d.HoldsSecrets && d.Watchable, d.Name);
            Assert.False(d.Watchable && d.Layer is null, d.Name);
            Assert.Equal(BuiltInServices.All.Count(o => o.Layer is not null && o.Layer == d.Layer), d.Layer is null ? 0 : 1);
        }
        var token = new SignalScope("room");
        Assert.True(token.Permits(BuiltInServices.Host, ApiMethod.Get, ""));
        Assert.True(token.Permits(BuiltInServices.Subs, ApiMethod.Get, "room/a"));
        Assert.False(token.Permits(BuiltInServices.Subs, ApiMethod.Get, "lobby"));
        Assert.False(token.Permits(BuiltInServices.Subs, ApiMethod.Delete, "room"));
        Assert.False(token.Permits(BuiltInServices.Data, ApiMethod.Get, "room"));
    }

    [Fact]
    public void The_table_in_architecture_md_is_the_declarations()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kv4.sln"))) dir = dir.Parent;
        var lines = File.ReadAllLines(Path.Combine(dir!.FullName, "docs", "architecture.md"));
        var rows = lines.Where(l => l.StartsWith("| `_", StringComparison.Ordinal))
            .Select(l => l.Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .ToDictionary(c => c[0].Trim('`')[1..]);
        Assert.Equal(BuiltInServices.All.Select(d => d.Name).Order(), rows.Keys.Order());
        foreach (var d in BuiltInServices.All)
        {
            var row = rows[d.Name];
            Assert.Equal(d.Folder, row[1]);
            Assert.Equal(d.Layer ?? "", row[2]);
            Assert.Equal(d.Watchable ? "yes" : "", row[3]);
            Assert.Equal(d.HoldsSecrets ? "yes" : "", row[4]);
            Assert.Equal(string.Join(", ", d.AnonymousCalls.Select(c => $"{c.Method.ToString().ToUpperInvariant()} {(c.Path.Length == 0 ? "\"\"" : c.Path)}")), row[5]);
            Assert.Equal(d.SignalReach switch { SignalReach.Whole => "whole", SignalReach.Channel => "its channel", _ => "" }, row[6]);
        }
    }
}
