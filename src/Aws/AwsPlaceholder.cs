namespace Notary.Aws;
