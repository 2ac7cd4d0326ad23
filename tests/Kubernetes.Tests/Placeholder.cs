namespace Notary.Kubernetes.Tests;
