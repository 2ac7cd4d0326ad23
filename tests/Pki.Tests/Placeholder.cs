namespace Notary.Pki.Tests;
