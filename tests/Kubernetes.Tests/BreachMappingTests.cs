using k8s.Models;
using Notary.CustomResources;
using Notary.CustomResources.Models;

namespace Notary.Adapters.Kubernetes.Tests;

/// <summary>What the watcher forwards of a Breach written with kubectl, which Notary's API did not check.</summary>
public sealed class BreachMappingTests
{
    private static Breach Written(string reason) => new()
    {
        Metadata = new V1ObjectMeta { Name = "leak", NamespaceProperty = "shop", Uid = "u1" },
        Spec = new BreachSpec { Certificate = "web", Mode = BreachModes.Quarantine, Reason = reason },
    };

    [Fact]
    public void A_reason_with_line_breaks_and_control_characters_is_forwarded_as_one_trimmed_line()
    {
        var request = BreachMapping.ToRequest(Written("  key leaked\r\nFAKE LOG LINE\u001b[31m\u202e  "));

        Assert.Equal("key leaked FAKE LOG LINE [31m", request!.Reason);
    }

    [Fact]
    public void A_reason_longer_than_the_schema_allows_is_cut()
    {
        var request = BreachMapping.ToRequest(Written(new string('x', 5000)));

        Assert.Equal(BreachMapping.MaxReasonLength, request!.Reason.Length);
        Assert.EndsWith("…", request.Reason, StringComparison.Ordinal);
    }
}
