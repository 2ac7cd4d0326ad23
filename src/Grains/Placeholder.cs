namespace Notary.Grains;
