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
    }
}
