"""ServiceAccountWorkload under Pulumi mocks."""

import pulumi

from irsa.components.workload import ServiceAccountWorkload, ServiceAccountWorkloadArgs

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


def test_no_pod_unless_asked_and_namespace_only_when_configured(pulumi_mocks):
    pulumi_mocks.run(lambda: workload(test_pod=False, create_namespace=True, namespace="apps"))
    assert not pulumi_mocks.of_type("kubernetes:core/v1:Pod")
    namespace = pulumi_mocks.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "apps"
    account = pulumi_mocks.one("kubernetes:core/v1:ServiceAccount")
    assert namespace.urn in pulumi_mocks.all_dependencies(account)


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
