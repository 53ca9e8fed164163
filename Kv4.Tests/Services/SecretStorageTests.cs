using System.Text;
using Kv4.Engine.Model;

namespace Kv4.Tests.Services;

/// <summary>Secrets and passwords are stored only as hashes: nothing the engine holds (values, histories, files) contains them.</summary>
[Trait("Category", "Unit")]
public sealed class SecretStorageTests
{
    [Fact]
    public async Task No_secret_or_password_is_stored_in_plain()
    {
        await using var h = await ServiceHarness.StartAsync();
        var (elena, elenaSecret) = await h.CreateAccountAsync("elena", password: "elena-pass-0x1");
        var (_, lilySecret) = await h.CreateAccountAsync("lily", elena, password: "lily-pass-0x2");
        await h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"boss-pass-0x3"}}""");
        await h.PostAsync(elena, "acc", "accounts", """{"k":"lily","v":{"password":"lily-pass-0x4"}}""");
        var rotated = (await h.PostAsync(elena, "acc", "accounts", """{"k":"lily","v":{"secret":true}}""")).Ok().GetProperty("secret").GetString()!;
        await h.PutAsync(h.Sys, "acc", "users/admins", """{"k":"x","v":{"password":"never-stored-0x5"}}""");
        string[] plain = [elenaSecret, lilySecret, rotated, "elena-pass-0x1", "lily-pass-0x2", "boss-pass-0x3", "lily-pass-0x4", "never-stored-0x5", ServiceHarness.SystemSecret];

        var everything = new StringBuilder();
        foreach (var bucket in h.Store.ListBuckets())
            foreach (var layer in h.Store.ListLayers(bucket))
                foreach (var path in h.Store.ListPaths(bucket, layer.Layer, ""))
                {
                    foreach (var version in await h.Store.GetPathHistoryAsync(bucket, layer.Layer, path, HistoryQuery.All))
                        if (version.Value is { } value) everything.AppendLine(Encoding.UTF8.GetString(value.Span));
                }
        var text = everything.ToString();
        Assert.Contains("pbkdf2-sha256$", text);
        Assert.Contains("hmac-sha256:", text);
        foreach (var secret in plain) Assert.DoesNotContain(secret, text);

        await h.Store.FlushAsync();
        await h.Store.CheckpointAsync();
        foreach (var file in Directory.EnumerateFiles(h.Directory, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            foreach (var secret in plain)
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"{secret} found in {file}");
        }
    }
}
