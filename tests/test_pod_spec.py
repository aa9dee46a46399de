"""Details of the test pod that a loosened spec would lose without any other test noticing."""

import pytest

from conftest import ROOT, run_program, stack_file_config
from irsa.components.workload import ServiceAccountWorkload, ServiceAccountWorkloadArgs

ROLE_ARN = "arn:aws:iam::123456789012:role/k8s_default_aws-cli"


def pod_spec(recorder, **overrides) -> dict:
    args = dict(namespace="default", name="aws-cli", role_arn=ROLE_ARN, audience="sts.amazonaws.com",
                token_expiration_seconds=3600, region="ap-northeast-1", test_pod=True)
    recorder.run(lambda: {"name": ServiceAccountWorkload(
        "w", ServiceAccountWorkloadArgs(**{**args, **overrides})).service_account_name})
    return recorder.one("kubernetes:core/v1:Pod").inputs["spec"]


def test_token_mount_is_read_only_and_the_pod_never_restarts(pulumi_mocks):
    spec = pod_spec(pulumi_mocks)
    (mount,) = spec["containers"][0]["volumeMounts"]
    assert mount["readOnly"] is True
    # A finished or failed check stays visible instead of restarting in a loop.
    assert spec["restartPolicy"] == "Never"
    # The pod uses only the projected web-identity token, from the volume it mounts.
    assert [v["name"] for v in spec["volumes"]] == [mount["name"]]


@pytest.mark.parametrize("namespace, name, session", [
    ("default", "a" * 56, "default-" + "a" * 56),  # 64 characters: kept whole
    ("default", "a" * 57, "default-" + "a" * 56),  # 65: cut to STS's 64
])
def test_role_session_name_fits_stss_limit(pulumi_mocks, namespace, name, session):
    """STS RoleSessionName is at most 64 characters (botocore roleSessionNameType)."""
    spec = pod_spec(pulumi_mocks, namespace=namespace, name=name)
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env["AWS_ROLE_SESSION_NAME"] == session


@pytest.mark.parametrize("seconds", ["600", "86400"])
def test_token_lifetime_bounds_reach_the_pod(pulumi_mocks, seconds):
    """Without the webhook the test pod's own projected token carries the lifetime."""
    config = stack_file_config(ROOT / "Pulumi.dev.yaml") | {"irsa:tokenExpirationSeconds": seconds,
                                                          "irsa:podIdentityWebhook": "false"}
    pulumi_mocks.run(lambda: run_program(config))
    spec = pulumi_mocks.one("kubernetes:core/v1:Pod").inputs["spec"]
    token = spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert token["expirationSeconds"] == int(seconds)


@pytest.mark.parametrize("seconds", ["600", "86400"])
def test_token_lifetime_bounds_reach_the_webhook(pulumi_mocks, seconds):
    """With the webhook (the default) its --token-expiration carries it to every mutated pod."""
    config = stack_file_config(ROOT / "Pulumi.dev.yaml") | {"irsa:tokenExpirationSeconds": seconds}
    pulumi_mocks.run(lambda: run_program(config))
    deployment = pulumi_mocks.one("kubernetes:apps/v1:Deployment")
    command = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--token-expiration={seconds}" in command
