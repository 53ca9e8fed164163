using Kv4.Services.Accounts;

namespace Kv4.Tests.Services;

[Trait("Category", "Unit")]
public class HashingTests
{
    [Fact]
    public void Secrets_are_128_bit_hex_and_verify_only_against_their_own_hash()
    {
        var hasher = new SecretHasher(new byte[32]);
        var secret = SecretHasher.NewSecret();
        Assert.Matches("^[0-9a-f]{32}$", secret);
        Assert.NotEqual(secret, SecretHasher.NewSecret());
        var stored = hasher.Hash(secret);
        Assert.DoesNotContain(secret, stored);
        Assert.True(hasher.Verify(secret, stored));
        Assert.False(hasher.Verify(secret + "0", stored));
        Assert.False(new SecretHasher(Enumerable.Repeat((byte)1, 32).ToArray()).Verify(secret, stored));
        Assert.False(hasher.Verify(secret, null));
        Assert.False(hasher.Verify(secret, "hmac-sha256:garbage"));
    }

    [Fact]
    public void Passwords_get_a_salted_pbkdf2_hash()
    {
        var hasher = new PasswordHasher();
        var first = hasher.Hash("correct horse");
        var second = hasher.Hash("correct horse");
        Assert.NotEqual(first, second);
        Assert.StartsWith("pbkdf2-sha256$100000$", first);
        Assert.DoesNotContain("correct horse", first);
        Assert.True(hasher.Verify("correct horse", first));
        Assert.False(hasher.Verify("correct horsE", first));
        Assert.False(hasher.Verify("x", "pbkdf2-sha256$1$!!$!!"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PasswordHasher(1000));
    }

    [Theory]
    [InlineData("lily@example.com", true)]
    [InlineData("a.b+c@sub.example.org", true)]
    [InlineData("lily", false)]
    [InlineData("@example.com", false)]
    [InlineData("lily@example", false)]
    [InlineData("lily@example.", false)]
    [InlineData("li ly@example.com", false)]
    [InlineData("a@b@example.com", false)]
    [InlineData("", false)]
    public void Email_rule(string email, bool valid) => Assert.Equal(valid, EmailAddress.IsValid(email));
}
