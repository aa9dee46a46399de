"""ServiceAccountWorkload under Pulumi mocks."""

import re

import pulumi
import pytest

from irsa.components.workload import (
    Namespaces,
    NamespacesArgs,
    ServiceAccountWorkload,
    ServiceAccountWorkloadArgs,
    irsa_test_pod_name,
)

ROLE_ARN = "arn:aws:iam::123456789012:role/k8s_default_aws-cli"


def workload(**overrides):
    args = dict(namespace="default", name="aws-cli", role_arn=ROLE_ARN, audience="sts.amazonaws.com",
                token_expiration_seconds=3600, region="ap-northeast-1", test_pod=True)
    made = ServiceAccountWorkload("default-aws-cli", ServiceAccountWorkloadArgs(**{**args, **overrides}))
    return {"name": made.service_account_name}


def test_service_account_is_annotated_with_role_arn(pulumi_mocks):
    pulumi_mocks.run(workload)
    account = pulumi_mocks.one("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["name"] == "aws-cli"
    assert account.inputs["metadata"]["namespace"] == "default"
    assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}
    assert not pulumi_mocks.of_type("kubernetes:core/v1:Namespace")


def test_test_pod_uses_projected_web_identity_token(pulumi_mocks):
    pulumi_mocks.run(workload)
    pod = pulumi_mocks.one("kubernetes:core/v1:Pod")
    spec = pod.inputs["spec"]
    assert spec["serviceAccountName"] == "aws-cli"
    assert spec["securityContext"]["fsGroup"] == 65534
    (container,) = spec["containers"]
    assert container["image"] == "public.ecr.aws/aws-cli/aws-cli"
    assert container["command"] == ["sleep", "infinity"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "AWS_ROLE_ARN": ROLE_ARN,
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        "AWS_REGION": "ap-northeast-1",
        "AWS_ROLE_SESSION_NAME": "default-aws-cli",
    }
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/var/run/secrets/eks.amazonaws.com/serviceaccount"
    (volume,) = spec["volumes"]
    assert volume["name"] == mount["name"]
    token = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"audience": "sts.amazonaws.com", "expirationSeconds": 3600, "path": "token"}
    assert pulumi_mocks.one("kubernetes:core/v1:ServiceAccount").urn in pod.dependencies


def test_no_pod_unless_asked_and_the_account_waits_for_its_namespace(pulumi_mocks):
    def make():
        namespaces = Namespaces("namespaces", NamespacesArgs(names=["apps", "apps", "web"]))
        return workload(test_pod=False, namespace="apps", depends_on=[namespaces.by_name["apps"]])

    pulumi_mocks.run(make)
    assert not pulumi_mocks.of_type("kubernetes:core/v1:Pod")
    created = pulumi_mocks.of_type("kubernetes:core/v1:Namespace")
    assert sorted(n.inputs["metadata"]["name"] for n in created) == ["apps", "web"]
    apps = next(n for n in created if n.inputs["metadata"]["name"] == "apps")
    account = pulumi_mocks.one("kubernetes:core/v1:ServiceAccount")
    assert apps.urn in pulumi_mocks.all_dependencies(account)


def test_namespace_created_by_an_earlier_version_is_kept_by_alias(pulumi_mocks):
    pulumi_mocks.run(lambda: Namespaces("namespaces", NamespacesArgs(
        names=["apps"], former_owners={"apps": "apps-web"})) and None)
    (namespace,) = pulumi_mocks.of_type("kubernetes:core/v1:Namespace")
    assert namespace.aliases == [{"name": "apps-web-namespace", "parentUrn":
                                  "urn:pulumi:test::irsa::irsa:workload:ServiceAccountWorkload::apps-web"}]


@pytest.mark.parametrize("name", ["a" * 243, "a" * 244, "a." * 100 + "b" * 53])
def test_test_pod_name_is_a_valid_pod_name_for_any_service_account_name(name):
    pod = irsa_test_pod_name(name)
    assert len(pod) <= 253 and pod.endswith("-irsa-test")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", pod), pod
    if len(name) + len("-irsa-test") <= 253:
        assert pod == name + "-irsa-test"
    else:
        assert irsa_test_pod_name(name + "x") != pod, "two long names must not share a pod name"


def test_existing_service_account_gets_only_the_annotation(pulumi_mocks):
    pulumi_mocks.run(lambda: workload(existing=True))
    assert not pulumi_mocks.of_type("kubernetes:core/v1:ServiceAccount")
    patch = pulumi_mocks.one("kubernetes:core/v1:ServiceAccountPatch")
    # patchForce: a chart that set the annotation itself owns the field (a conflict otherwise).
    assert patch.inputs["metadata"] == {"name": "aws-cli", "namespace": "default",
                                        "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN,
                                                        "pulumi.com/patchForce": "true"}}
    pod = pulumi_mocks.one("kubernetes:core/v1:Pod")
    assert pod.inputs["spec"]["serviceAccountName"] == "aws-cli"
    assert patch.urn in pod.dependencies


def test_pod_waits_for_given_resources(pulumi_mocks):
    def make():
        gate = pulumi.CustomResource("test:index:Gate", "gate", {})
        return workload(test_pod_depends_on=[gate])

    pulumi_mocks.run(make)
    pod = pulumi_mocks.one("kubernetes:core/v1:Pod")
    assert pulumi_mocks.by_name("gate").urn in pod.dependencies


def test_with_the_webhook_the_test_pod_carries_no_token_of_its_own(pulumi_mocks):
    pulumi_mocks.run(lambda: workload(webhook_mutates=True))
    spec = pulumi_mocks.one("kubernetes:core/v1:Pod").inputs["spec"]
    assert spec == {"serviceAccountName": "aws-cli", "restartPolicy": "Never",
                    "containers": [{"name": "aws-cli", "image": "public.ecr.aws/aws-cli/aws-cli",
                                    "command": ["sleep", "infinity"]}]}
    account = pulumi_mocks.one("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}
