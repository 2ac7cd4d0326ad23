namespace Notary.Kubernetes;
