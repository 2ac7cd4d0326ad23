using Notary.Dev;

return await DevHost.RunAsync(args);
