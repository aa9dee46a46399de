"""The real program on realistic configurations, held to what the engine and the APIs accept.

The mocks accept anything. Here every run of the real ``__main__.py`` must
give distinct URNs (the recording monitor fails on a duplicate, as the engine
does), IAM inputs that IAM's API model accepts, and Kubernetes objects that
the OpenAPI schema of every supported version accepts, strictly. The checkers
themselves are tested on inputs the real APIs refuse, so they can fail.
"""

from __future__ import annotations

import json

import pulumi
import pytest
from support import real_rules

from conftest import ROOT, run_program, stack_file_config

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")
LONG_NAMESPACE = "n" * 63
# A DNS-1123 subdomain of 253 characters: labels of 63 joined by dots.
LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])

CONFIGURATIONS = {
    "example stack": [],
    "wildcards": [
        {"namespace": "batch", "name": "job-*", "allowWildcard": True, "s3BucketPrefix": "k8s-batch"},
        {"namespace": "*", "name": "reader", "allowWildcard": True,
         "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        {"namespace": "batch", "name": "job-all", "s3BucketPrefix": "k8s-batch-all"},
    ],
    "many accounts": [
        {"namespace": f"team-{i % 7}", "name": f"app-{i}", "s3BucketPrefix": f"k8s-app-{i}",
         "createNamespace": True, "testPod": i % 5 == 0}
        for i in range(40)
    ],
    "shared namespace": [
        {"namespace": "apps", "name": "web", "createNamespace": True, "testPod": True,
         "s3BucketPrefix": "k8s-apps-web"},
        {"namespace": "apps", "name": "worker", "createNamespace": True, "s3BucketPrefix": "k8s-apps-w"},
        {"namespace": "apps", "name": "cron", "s3BucketPrefix": "k8s-apps-cron"},
    ],
    "long names": [
        {"namespace": LONG_NAMESPACE, "name": LONG_NAME, "roleName": "long-names", "testPod": True,
         "createNamespace": True, "s3BucketPrefix": "k8s-long"},
    ],
    "names that join alike": [
        {"namespace": "a-b", "name": "c", "s3BucketPrefix": "k8s-abc-1"},
        {"namespace": "a", "name": "b-c", "s3BucketPrefix": "k8s-abc-2"},
        {"namespace": "a", "name": "b.c", "s3BucketPrefix": "k8s-abc-3", "roleName": "abc-dot"},
    ],
    "several policy ARNs": [
        {"namespace": "ops", "name": "auditor", "policyArns": [
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::123456789012:policy/ReadOnlyAccess",
            "arn:aws:iam::123456789012:policy/team/ReadOnlyAccess",
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        ], "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}},
    ],
    "existing service accounts": [
        {"namespace": "external-dns", "name": "external-dns", "existing": True,
         "policyArns": ["arn:aws:iam::aws:policy/AmazonRoute53ReadOnlyAccess"]},
        {"namespace": "velero", "name": "velero", "existing": True, "testPod": True,
         "s3BucketPrefix": "k8s-velero"},
    ],
}


def run_with(pulumi_mocks, accounts):
    config = dict(DEV)
    if accounts:
        config["irsa:serviceAccounts"] = json.dumps(accounts)
    pulumi_mocks.run(lambda: run_program(config))
    return pulumi_mocks


@pytest.mark.parametrize("accounts", CONFIGURATIONS.values(), ids=CONFIGURATIONS.keys())
def test_the_engine_and_the_apis_accept_the_program(pulumi_mocks, accounts):
    r = run_with(pulumi_mocks, accounts)  # a duplicate URN fails inside run
    assert len({reg.urn for reg in r.registrations}) == len(r.registrations)
    problems = real_rules.problems_of(r.registrations, real_rules.iam_problems, "aws:iam/")
    problems += real_rules.problems_of(r.registrations, real_rules.kubernetes_problems, "kubernetes:")
    assert problems == []
    for role in r.of_type("aws:iam/role:Role"):
        policies = [p.inputs["policy"] for p in r.of_type("aws:iam/rolePolicy:RolePolicy")
                    if p.parent == role.parent]
        assert sum(map(real_rules.inline_policy_size, policies)) <= real_rules.ROLE_INLINE_POLICIES_MAX


def test_every_namespace_is_created_once(pulumi_mocks):
    r = run_with(pulumi_mocks, CONFIGURATIONS["many accounts"] + CONFIGURATIONS["shared namespace"])
    names = [n.inputs["metadata"]["name"] for n in r.of_type("kubernetes:core/v1:Namespace")]
    # The pod identity webhook's own namespace, and each asked-for namespace once.
    assert sorted(names) == sorted({f"team-{i}" for i in range(7)} | {"apps", "irsa-webhook"})
    # Every object in a created namespace waits for it.
    by_name = {n.inputs["metadata"]["name"]: n for n in r.of_type("kubernetes:core/v1:Namespace")}
    for account in r.of_type("kubernetes:core/v1:ServiceAccount"):
        namespace = account.inputs["metadata"]["namespace"]
        if namespace in by_name:
            assert by_name[namespace].urn in r.all_dependencies(account), account.name


def test_names_stay_distinct_and_stable_when_the_list_is_reordered(pulumi_mocks):
    accounts = CONFIGURATIONS["names that join alike"] + CONFIGURATIONS["several policy ARNs"]
    first = {(reg.type, reg.name) for reg in run_with(pulumi_mocks, accounts).registrations}
    pulumi_mocks.fresh()
    reordered = [dict(a, policyArns=list(reversed(a.get("policyArns", [])))) for a in reversed(accounts)]
    second = {(reg.type, reg.name) for reg in run_with(pulumi_mocks, reordered).registrations}
    assert first == second


def test_wildcard_roles_carry_no_wildcard_in_tags(pulumi_mocks):
    r = run_with(pulumi_mocks, CONFIGURATIONS["wildcards"])
    for role in r.of_type("aws:iam/role:Role"):
        assert all("*" not in v for v in role.inputs["tags"].values()), role.inputs["tags"]
    described = {role.inputs["description"] for role in r.of_type("aws:iam/role:Role")}
    assert "Assumed by Kubernetes service accounts matching batch/job-* (IRSA)" in described


def test_existing_service_account_is_annotated_not_owned(pulumi_mocks):
    r = run_with(pulumi_mocks, CONFIGURATIONS["existing service accounts"])
    owned = [a.inputs["metadata"]["name"] for a in r.of_type("kubernetes:core/v1:ServiceAccount")]
    assert owned == ["pod-identity-webhook"], "only the webhook's own ServiceAccount is created"
    patches = r.of_type("kubernetes:core/v1:ServiceAccountPatch")
    assert sorted(p.inputs["metadata"]["name"] for p in patches) == ["external-dns", "velero"]
    for patch in patches:
        assert set(patch.inputs) - {"apiVersion", "kind"} == {"metadata"}, "a patch carries only the annotation"
        assert set(patch.inputs["metadata"]["annotations"]) == {"eks.amazonaws.com/role-arn",
                                                                "pulumi.com/patchForce"}
    pod = r.one("kubernetes:core/v1:Pod")
    velero = next(p for p in patches if p.inputs["metadata"]["name"] == "velero")
    assert velero.urn in r.all_dependencies(pod)


# --- the checkers refuse what the real APIs refuse ---------------------------------------


@pytest.mark.parametrize(("inputs", "expected"), [
    ({"name": "r" * 65}, "roleNameType length 65"),
    ({"name": "rôle"}, "does not match"),
    ({"tags": {"irsa/service-account": "batch/job-*"}}, "tagValueType 'batch/job-*'"),
    ({"tags": {"irsa/service-account": "x" * 257}}, "tagValueType length 257"),
    ({"tags": {f"k{i}": "v" for i in range(51)}}, "holds 51 items"),
    ({"path": "no-slashes"}, "pathType"),
    ({"description": "emoji \N{ROCKET}"}, "roleDescriptionType"),
    ({"maxSessionDuration": 60}, "roleMaxSessionDurationType 60"),
    ({"inlinePolicies": []}, "not mapped to an IAM API member"),
])
def test_iam_checker_refuses_what_iam_refuses(inputs, expected):
    problems = real_rules.iam_problems("aws:iam/role:Role", "r", inputs)
    assert any(expected in p for p in problems), problems


def test_iam_checker_accepts_unicode_letters_in_tags_as_iam_does():
    assert real_rules.iam_problems("aws:iam/role:Role", "r", {"tags": {"team": "équipe données"}}) == []


@pytest.mark.parametrize(("type_", "inputs", "expected"), [
    ("kubernetes:core/v1:Pod", {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "i", "bogus": 1}]}}, "bogus"),
    ("kubernetes:core/v1:Pod", {"metadata": {"name": "p"}, "spec": {}}, "containers"),
    ("kubernetes:core/v1:Namespace", {"metadata": {"name": "Team"}}, "not a DNS-1123 label"),
    ("kubernetes:core/v1:Namespace", {"metadata": {"name": "n" * 64}}, "not a DNS-1123 label"),
    ("kubernetes:core/v1:Pod", {"metadata": {"name": "p" * 254}, "spec": {"containers": [
        {"name": "c", "image": "i"}]}}, "not a DNS-1123 subdomain"),
    ("kubernetes:core/v1:ServiceAccount", {"metadata": {"name": "sa", "labels": {"a": "v" * 64}}},
     "not a valid label value"),
    ("kubernetes:apps/v1:Deployment", {"metadata": {"name": "d"}, "spec": {"replicas": "two"}}, "two"),
])
def test_kubernetes_checker_refuses_what_the_api_server_refuses(type_, inputs, expected):
    problems = real_rules.kubernetes_problems(type_, "x", inputs, versions=("1.29", "1.37"))
    assert any(expected in p for p in problems), problems


def test_duplicate_urn_fails_the_run_as_the_engine_does(pulumi_mocks):
    import pulumi_aws as aws

    def program():
        aws.iam.Role("same", assume_role_policy="{}")
        aws.iam.Role("same", assume_role_policy="{}")

    with pytest.raises((AssertionError, ValueError), match="Duplicate resource URN"):
        pulumi_mocks.run(program)


def test_bad_service_account_fields_stop_before_any_resource(pulumi_mocks):
    accounts = [{"namespace": "apps", "name": "web", "existing": True, "createNamespace": True}]
    with pytest.raises(pulumi.RunError, match=r"serviceAccounts\[0\] sets both existing and createNamespace"):
        run_with(pulumi_mocks, accounts)
