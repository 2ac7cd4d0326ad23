using Notary.Cli;

return await CliHost.RunAsync(args);
