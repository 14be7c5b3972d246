using System.CommandLine;
using System.CommandLine.Parsing;

namespace QcPipeline.Cli;

/// <summary>File arguments shared by the commands.</summary>
public static class FileArgument
{
    /// <summary>System.CommandLine hands an unknown option such as <c>--bogus</c> to a file argument as a value; treat
    /// a dash-led value that is not an existing file as the usage error it is (a file really named "-x" still works).</summary>
    public static void RejectUnknownOptions(ArgumentResult result)
    {
        foreach (var token in result.Tokens)
        {
            var value = token.Value;
            if (value.Length > 1 && value[0] == '-' && !File.Exists(value))
                result.AddError($"Unrecognized option '{value}'.");
        }
    }

    public static Argument<string[]> Many(string name, string description)
    {
        var argument = new Argument<string[]>(name) { Arity = ArgumentArity.OneOrMore, Description = description };
        argument.Validators.Add(RejectUnknownOptions);
        return argument;
    }

    public static Argument<string> One(string name, string description)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(RejectUnknownOptions);
        return argument;
    }
}
