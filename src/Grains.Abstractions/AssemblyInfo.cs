namespace Notary.Grains.Abstractions;
