using Notary.Silo;

return await SiloHost.RunAsync(args);
