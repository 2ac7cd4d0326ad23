namespace Notary.Aws.Tests;
