using QcPipeline.Cli;

return QcCli.Run(args, Console.Out, Console.Error);
