namespace QcPipeline.Cli.Tests;

public class UsageTests
{
    [Theory]
    [InlineData("dump", "--bogus", "x.dcm")]
    [InlineData("dump")]
    [InlineData("dump", "--max-value-length", "-1", "x.dcm")]
    [InlineData("dump", "--max-value-length", "many", "x.dcm")]
    [InlineData("convert", "x.dcm", "--ts", "jpeg", "-o", "y.dcm")]
    [InlineData("convert", "x.dcm", "--ts", "deflate")]
    [InlineData("frobnicate")]
    [InlineData("echo", "127.0.0.1")]
    [InlineData("echo", "127.0.0.1", "70000")]
    [InlineData("echo", "127.0.0.1", "port")]
    [InlineData("echo", "127.0.0.1", "104", "--aec", "A-TITLE-LONGER-THAN-16")]
    [InlineData("echo", "127.0.0.1", "104", "--password", "secret")]
    [InlineData("echo", "127.0.0.1", "104", "--tls-cert", "client.pem")]
    [InlineData("echo", "127.0.0.1", "104", "--timeout", "0")]
    [InlineData("send", "127.0.0.1", "104")]
    [InlineData("send", "127.0.0.1", "104", "x.dcm", "--ts", "jpeg")]
    [InlineData("send", "127.0.0.1", "104", "x.dcm", "--bogus")]
    public void Bad_command_line_is_exit_3_with_a_message_on_stderr(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(3, r.ExitCode);
        Assert.NotEqual("", r.Error.Trim());
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void No_command_is_a_usage_error()
    {
        Assert.Equal(3, CliRunner.Run().ExitCode);
    }

    [Fact]
    public void Help_is_exit_0_and_lists_the_commands()
    {
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("dump", r.Out, StringComparison.Ordinal);
        Assert.Contains("convert", r.Out, StringComparison.Ordinal);
        Assert.Contains("echo", r.Out, StringComparison.Ordinal);
        Assert.Contains("send", r.Out, StringComparison.Ordinal);
    }
}
