namespace Notary.Watcher;
