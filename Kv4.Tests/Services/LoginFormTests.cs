using Kv4.Services.Accounts;

namespace Kv4.Tests.Services;

[Trait("Category", "Unit")]
public class LoginFormTests
{
    [Fact]
    public void System_login()
    {
        Assert.True(LoginForm.TryParse("$sys", "S3CRET", out var form));
        Assert.Equal((LoginKind.System, "$sys", (string?)null, (string?)null, "S3CRET"), (form.Kind, form.Ident, form.Sub, form.AdminKey, form.Secret));
        Assert.Equal("$sys", form.Bucket);
    }

    [Fact]
    public void Account_login()
    {
        Assert.True(LoginForm.TryParse("elena", "abc123", out var form));
        Assert.Equal((LoginKind.Account, "elena", "abc123", "elena"), (form.Kind, form.Ident, form.Secret, form.Bucket));
    }

    [Fact]
    public void Sub_account_login_with_its_own_secret()
    {
        Assert.True(LoginForm.TryParse("elena#lily", "s", out var form));
        Assert.Equal((LoginKind.SubAccount, "elena", "lily", "s", "elena#lily"), (form.Kind, form.Ident, form.Sub, form.Secret, form.Bucket));
    }

    [Fact]
    public void Sub_account_login_with_the_parent_secret()
    {
        Assert.True(LoginForm.TryParse("elena#lily", "!parent", out var form));
        Assert.Equal((LoginKind.SubAccountByParentSecret, "elena", "lily", "parent", "elena#lily"), (form.Kind, form.Ident, form.Sub, form.Secret, form.Bucket));
    }

    [Fact]
    public void Admin_login()
    {
        Assert.True(LoginForm.TryParse("elena", "boss#pa#ss", out var form));
        Assert.Equal((LoginKind.Admin, "elena", "boss", "pa#ss", "elena"), (form.Kind, form.Ident, form.AdminKey, form.Secret, form.Bucket));
    }

    [Theory]
    [InlineData("", "x")]
    [InlineData("elena", "")]
    [InlineData("#lily", "x")]
    [InlineData("elena#", "x")]
    [InlineData("elena#lily#x", "x")]
    [InlineData("elena#lily", "!")]
    [InlineData("el/ena", "x")]
    [InlineData("el:ena", "x")]
    [InlineData("$sy", "x")]
    [InlineData("$sys#x", "x")]
    [InlineData("elena", "#pw")]
    [InlineData("elena", "boss#")]
    [InlineData("elena", "bo/ss#pw")]
    public void Malformed_logins_are_refused(string user, string password) => Assert.False(LoginForm.TryParse(user, password, out _));

    [Fact]
    public void Oversized_parts_are_refused() =>
        Assert.False(LoginForm.TryParse("elena", new string('a', LoginForm.MaxPartLength + 1), out _));

    [Fact]
    public void Password_logins()
    {
        Assert.True(LoginForm.TryParsePasswordLogin("elena", "pw", out var a));
        Assert.Equal(LoginKind.Account, a.Kind);
        Assert.True(LoginForm.TryParsePasswordLogin("elena#lily", "pw", out var s));
        Assert.Equal((LoginKind.SubAccount, "lily"), (s.Kind, s.Sub));
        Assert.True(LoginForm.TryParsePasswordLogin("elena:boss", "pw", out var b));
        Assert.Equal((LoginKind.Admin, "boss"), (b.Kind, b.AdminKey));
        Assert.False(LoginForm.TryParsePasswordLogin("$sys", "pw", out _));
        Assert.False(LoginForm.TryParsePasswordLogin("elena:", "pw", out _));
    }
}
