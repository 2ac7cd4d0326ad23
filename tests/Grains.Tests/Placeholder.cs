namespace Notary.Grains.Tests;
