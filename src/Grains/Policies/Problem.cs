namespace Notary.Grains.Policies;

/// <summary>Why a resource cannot be made Ready: a condition reason and a message that names the culprit.</summary>
public sealed record Problem(string Reason, string Message);
