"""sharedWith: several ServiceAccounts on one role. The trust policy admits each of them (and no
other, evaluated as STS would), each is annotated, and the trust policy's size is checked."""

from __future__ import annotations

import json

import pytest
from test_program import DEV, run

from irsa import oidc, policies, settings
from irsa.verify import trust

ROLE = "aws:iam/role:Role"
PATCH = "kubernetes:core/v1:ServiceAccountPatch"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ISSUER = oidc.github_issuer_url("example-org", "oidc-issuer", "main")
PREFIX = oidc.condition_key_prefix(ISSUER)


def config(**entry):
    base = {"namespace": "monitoring", "name": "loki", "s3BucketPrefix": "k8s-logs",
            "sharedWith": ["monitoring/loki-compactor", "logging/promtail"]}
    return {**DEV, "irsa:serviceAccounts": json.dumps([{**base, **entry}])}


def problems(cfg) -> list[str]:
    with pytest.raises(settings.SettingsError) as err:
        settings.parse(cfg)
    return err.value.problems


def test_the_trust_admits_every_subject_and_no_other(pulumi_mocks):
    r = run(pulumi_mocks, config())
    (role,) = r.of_type(ROLE)
    document = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = document["Statement"]
    provider = statement["Principal"]["Federated"]
    assert statement["Condition"]["StringEquals"][f"{PREFIX}:sub"] == [
        "system:serviceaccount:monitoring:loki", "system:serviceaccount:monitoring:loki-compactor",
        "system:serviceaccount:logging:promtail"]

    def admits(namespace, name):
        context = {f"{PREFIX}:sub": f"system:serviceaccount:{namespace}:{name}",
                   f"{PREFIX}:aud": "sts.amazonaws.com"}
        return trust.evaluate(document, provider, context).allowed

    assert admits("monitoring", "loki") and admits("monitoring", "loki-compactor") and admits("logging", "promtail")
    assert not admits("logging", "loki") and not admits("monitoring", "promtail")
    assert role.inputs["description"] == "Assumed by Kubernetes service account monitoring/loki and 2 more (IRSA)"


def test_each_shared_account_is_annotated_with_the_one_role(pulumi_mocks):
    r = run(pulumi_mocks, config())
    (role,) = r.of_type(ROLE)
    annotated = {(a.inputs["metadata"]["namespace"], a.inputs["metadata"]["name"]):
                 a.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
                 for a in r.of_type(ACCOUNT) if a.inputs["metadata"]["name"] != "pod-identity-webhook"}
    arn = f"arn:aws:iam::123456789012:role/{role.inputs['name']}"
    assert annotated == {("monitoring", "loki"): arn, ("monitoring", "loki-compactor"): arn,
                         ("logging", "promtail"): arn}


def test_existing_applies_to_every_shared_account(pulumi_mocks):
    r = run(pulumi_mocks, config(existing=True))
    assert sorted(p.inputs["metadata"]["name"] for p in r.of_type(PATCH)) == ["loki", "loki-compactor", "promtail"]
    assert [a.inputs["metadata"]["name"] for a in r.of_type(ACCOUNT)] == ["pod-identity-webhook"]


def test_create_namespace_creates_every_subjects_namespace(pulumi_mocks):
    r = run(pulumi_mocks, config(createNamespace=True))
    created = sorted(n.inputs["metadata"]["name"] for n in r.of_type("kubernetes:core/v1:Namespace"))
    assert created == ["irsa-webhook", "logging", "monitoring"]


@pytest.mark.parametrize("entry, message", [
    ({"sharedWith": ["promtail"]}, 'irsa:serviceAccounts[0].sharedWith entry "promtail" must be NAMESPACE/NAME'),
    ({"sharedWith": ["logging/*"]}, 'irsa:serviceAccounts[0].sharedWith entry "logging/*" must be NAMESPACE/NAME'),
    ({"sharedWith": ["Logging/promtail"]}, "irsa:serviceAccounts[0].sharedWith entry"),
    ({"sharedWith": "logging/promtail"}, "irsa:serviceAccounts[0].sharedWith must be a list"),
    ({"sharedWith": ["monitoring/loki"]}, "irsa:serviceAccounts lists monitoring/loki more than once"),
    ({"sharedWith": ["logging/promtail", "logging/promtail"]},
     "irsa:serviceAccounts lists logging/promtail more than once"),
    ({"name": "*", "allowWildcard": True}, "irsa:serviceAccounts[0].sharedWith needs a concrete service account"),
    ({"sharedWith": ["irsa-webhook/x"]}, "irsa:serviceAccounts[0].namespace irsa-webhook is the pod identity"),
])
def test_bad_shared_with_is_named(entry, message):
    found = problems(config(**entry))
    assert any(p.startswith(message) for p in found), found


def test_a_subject_shared_by_two_entries_is_refused():
    accounts = [{"namespace": "a", "name": "x", "roleName": "r1", "sharedWith": ["b/y"]},
                {"namespace": "b", "name": "y", "roleName": "r2"}]
    assert "irsa:serviceAccounts lists b/y more than once" in problems(
        {**DEV, "irsa:serviceAccounts": json.dumps(accounts)})


def test_the_trust_policy_size_counts_every_shared_subject():
    shared = [f"namespace-{i:02d}/service-account-with-a-long-name" for i in range(40)]
    found = problems(config(sharedWith=shared))
    assert any("irsa:serviceAccounts[0]: the trust policy for service account monitoring/loki would be" in p
               and "share the role with fewer than 40 other service accounts" in p for p in found), found
    # The limit is the only reason: a few of them fit.
    settings.parse(config(sharedWith=shared[:5]))
    size = policies.check_trust_policy_size(PREFIX, "monitoring", "loki", "sts.amazonaws.com", (),
                                            [tuple(s.split("/")) for s in shared[:5]])
    assert size > policies.check_trust_policy_size(PREFIX, "monitoring", "loki", "sts.amazonaws.com")
