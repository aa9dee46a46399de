"""``verify --pod`` against pods shaped as the webhook sees and changes them.

The fixtures follow upstream's handler test data: a pod as the API server
sends it, the ServiceAccount's annotations, and the JSON patch the webhook
(v0.6.17, ``pkg/handler/handler.go``) answers. Applying that patch with a real
JSON-patch implementation gives the mutated pod; the raw one is a pod the
webhook never saw. The command line is run against a fake API server on
127.0.0.1 (HTTPS, a test CA) serving the pod and its ServiceAccount.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonpatch
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from support import tokens
from support.https_issuer import DocumentServer, make_ca

from conftest import FIXTURES, ROOT
from irsa.verify.aws import Aws
from irsa.verify.chain import FAIL, OK, SKIP, Chain, Inputs, run
from irsa.verify.checks import CHECKS
from irsa.verify.pod import PodView

ROLE = "arn:aws:iam::123456789012:role/k8s_default_aws-cli"
ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
AUDIENCE = "sts.amazonaws.com"
POD_CHECKS = ("pod-mutated", "pod-role-arn", "pod-token")


def fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / "webhook" / f"{name}.pod.yaml").read_text())


def annotations_of_account(pod: dict) -> dict[str, str]:
    """The ServiceAccount's annotations the fixture describes."""
    given = pod["metadata"]["annotations"]
    found = {"eks.amazonaws.com/role-arn": given["testing.irsa/serviceAccount/roleArn"]}
    if "testing.irsa/serviceAccount/audience" in given:
        found["eks.amazonaws.com/audience"] = given["testing.irsa/serviceAccount/audience"]
    return found


def mutated(pod: dict) -> dict:
    """The pod after the webhook's patch, as the API server stores it."""
    patch = json.loads(pod["metadata"]["annotations"]["testing.irsa/expectedPatch"])
    return jsonpatch.apply_patch(pod, patch)


def view(pod: dict, account: dict | None = None) -> PodView:
    return PodView(pod, annotations_of_account(pod) if account is None else account)


def results(pod_view: PodView, role_arn: str = ROLE, audience: str = AUDIENCE, token: str | None = None):
    """The pod checks (and, with a token, the token and its subject) for this pod."""
    namespace, name = pod_view.namespace, pod_view.service_account
    inputs = Inputs(issuer_url=ISSUER, namespace=namespace, name=name, role_arn=role_arn,
                    get_token=lambda: token or "", token_source="from a test", audience=audience,
                    pod=pod_view)
    wanted = set(POD_CHECKS) | ({"token", "token-subject"} if token else set())
    done = run(Chain(inputs=inputs, aws=Aws(None, "us-east-1")), [c for c in CHECKS if c.name in wanted])
    return {r.name: r for r in done}


def test_the_webhooks_patch_gives_a_pod_that_passes():
    found = results(view(mutated(fixture("testPod"))))
    assert {name: r.status for name, r in found.items()} == dict.fromkeys(POD_CHECKS, OK)
    assert found["pod-token"].message == (
        "/var/run/secrets/eks.amazonaws.com/serviceaccount/token: projected token, audience "
        "sts.amazonaws.com, 86400 s")


def test_a_pod_the_webhook_never_saw_is_named_with_its_fix():
    found = results(view(fixture("testPod")))
    failed = found["pod-mutated"]
    assert failed.status == FAIL
    assert failed.message == ("pod default/aws-cli-irsa-test was not mutated: no AWS_ROLE_ARN or "
                              "AWS_WEB_IDENTITY_TOKEN_FILE in aws-cli")
    assert "created before the webhook ran or before its service account was annotated" in failed.cause
    assert failed.fix.startswith("recreate the pod: kubectl delete pod -n default aws-cli-irsa-test")
    assert found["pod-role-arn"].status == SKIP and found["pod-token"].status == SKIP


def test_skipped_sidecar_is_left_out_and_the_app_container_passes():
    pod = mutated(fixture("sidecarSkip"))
    found = results(view(pod), role_arn="arn:aws:iam::123456789012:role/k8s_apps_app")
    assert {name: r.status for name, r in found.items()} == dict.fromkeys(POD_CHECKS, OK)
    assert found["pod-mutated"].message == "1 container(s) of apps/app-7d9f8 have AWS_ROLE_ARN and " \
                                           "AWS_WEB_IDENTITY_TOKEN_FILE"
    # Without the skip annotation the sidecar lacks the variables: that is named.
    del pod["metadata"]["annotations"]["eks.amazonaws.com/skip-containers"]
    failed = results(view(pod), role_arn="arn:aws:iam::123456789012:role/k8s_apps_app")["pod-mutated"]
    assert failed.status == FAIL and failed.message.startswith("containers sidecar of apps/app-7d9f8")


def test_service_account_without_annotation_or_missing():
    pod = fixture("testPod")
    unannotated = results(view(pod, account={}))["pod-mutated"]
    assert unannotated.message == "the service account default/aws-cli has no eks.amazonaws.com/role-arn annotation"
    assert "serviceAccount.annotations" in unannotated.fix
    missing = results(PodView(pod, None))["pod-mutated"]
    assert missing.message == "the pod's service account default/aws-cli does not exist"


def test_annotation_changed_after_the_pod_was_created():
    pod = mutated(fixture("testPod"))
    other = "arn:aws:iam::123456789012:role/other"
    failed = results(view(pod, {"eks.amazonaws.com/role-arn": other}), role_arn=other)["pod-role-arn"]
    assert failed.status == FAIL
    assert failed.message == (f"container aws-cli has AWS_ROLE_ARN {ROLE!r}, the service account's "
                              f"annotation is {other!r}")
    assert failed.fix.startswith("recreate the pod")


def test_annotation_that_is_not_the_stacks_role():
    failed = results(view(mutated(fixture("testPod"))),
                     role_arn="arn:aws:iam::123456789012:role/stack")["pod-role-arn"]
    assert failed.status == FAIL and "the stack's role for default/aws-cli" in failed.message


def test_token_for_another_audience():
    pod = fixture("testPod")
    patch = pod["metadata"]["annotations"]["testing.irsa/expectedPatch"]
    pod["metadata"]["annotations"]["testing.irsa/expectedPatch"] = patch.replace(
        '"audience":"sts.amazonaws.com"', '"audience":"other.example.com"')
    failed = results(view(mutated(pod)))["pod-token"]
    assert failed.status == FAIL
    assert failed.message == ("container aws-cli: the projected token's audience is 'other.example.com', "
                              "not 'sts.amazonaws.com'")


def test_token_file_outside_the_mount():
    pod = mutated(fixture("testPod"))
    env = pod["spec"]["containers"][0]["env"]
    next(e for e in env if e["name"] == "AWS_WEB_IDENTITY_TOKEN_FILE")["value"] = "/tmp/token"
    failed = results(view(pod))["pod-token"]
    assert failed.message == "container aws-cli: /tmp/token is not inside any of its volume mounts"


@pytest.mark.parametrize("change, cause", [
    (lambda p: p["metadata"].setdefault("labels", {}).update(
        {"eks.amazonaws.com/skip-pod-identity-webhook": "true"}),
     "the pod carries the label eks.amazonaws.com/skip-pod-identity-webhook"),
    (lambda p: p["metadata"].update(namespace="irsa-webhook"),
     "the webhook is not called for pods in the namespace irsa-webhook"),
])
def test_excluded_pods_get_their_own_cause(change, cause):
    pod = copy.deepcopy(fixture("testPod"))
    change(pod)
    failed = results(view(pod))["pod-mutated"]
    assert failed.status == FAIL and failed.cause.startswith(cause)


def test_the_token_in_use_must_carry_the_pods_service_account():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = tokens.sign(tokens.claims(ISSUER, "default", "aws-cli", AUDIENCE), key)
    other = tokens.sign(tokens.claims(ISSUER, "default", "other", AUDIENCE), key)
    pod_view = view(mutated(fixture("testPod")))
    assert results(pod_view, token=good)["token-subject"].status == OK
    failed = results(pod_view, token=other)["token-subject"]
    assert failed.status == FAIL
    assert failed.message == ("the token's sub is 'system:serviceaccount:default:other', not "
                              "'system:serviceaccount:default:aws-cli'")


# --- the command line against a fake API server -------------------------------------------------


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("apiserver")
    ca, bundle = make_ca(tmp)
    server = DocumentServer(ca)
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {
            "server": server.origin,
            "certificate-authority-data": base64.b64encode(bundle.read_bytes()).decode()}}],
        "users": [{"name": "test", "user": {"token": "test-token"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }
    path = tmp / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    yield server, path, tmp
    server.close()


def serve(server: DocumentServer, pod: dict, account_annotations: dict | None) -> None:
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    server.put_json(f"/api/v1/namespaces/{namespace}/pods/{name}", pod)
    account = pod["spec"]["serviceAccountName"]
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}"
    if account_annotations is None:
        server.put_json(path, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "reason": "NotFound", "code": 404}, status=404)
    else:
        server.put_json(path, {"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": account, "namespace": namespace,
                                            "annotations": account_annotations}})


def verify_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1"}
    env.pop("KUBECONFIG", None)
    return subprocess.run([sys.executable, "-m", "irsa", "verify", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_cli_names_an_unmutated_pod(api_server):
    server, kubeconfig, tmp = api_server
    pod = fixture("testPod")
    serve(server, pod, annotations_of_account(pod))
    token = tmp / "token"
    token.write_text("not.a.token")
    done = verify_cli("--issuer-url", ISSUER, "--pod", "default/aws-cli-irsa-test", "--kubeconfig",
                      str(kubeconfig), "--token-file", str(token), "--json", cwd=tmp)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["serviceAccount"] == "default/aws-cli"
    assert report["roleArn"] == ROLE  # from the service account's annotation
    first = report["checks"][0]
    assert (first["name"], first["status"]) == ("pod-mutated", FAIL)
    assert "was not mutated" in first["message"] and first["fix"].startswith("recreate the pod")


def test_cli_reads_a_mutated_pod_and_its_service_account(api_server):
    server, kubeconfig, tmp = api_server
    pod = mutated(fixture("testPod"))
    serve(server, pod, annotations_of_account(pod))
    token = tmp / "token"
    token.write_text("not.a.token")
    done = verify_cli("--issuer-url", ISSUER, "--pod", "default/aws-cli-irsa-test", "--kubeconfig",
                      str(kubeconfig), "--token-file", str(token), "--json", cwd=tmp)
    report = json.loads(done.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert [statuses[name] for name in POD_CHECKS] == [OK, OK, OK]
    assert statuses["token"] == FAIL  # the token file is not a JWT: the chain goes on as usual


def test_cli_pod_that_does_not_exist_is_a_usage_error(api_server):
    server, kubeconfig, tmp = api_server
    done = verify_cli("--issuer-url", ISSUER, "--pod", "default/nope", "--kubeconfig", str(kubeconfig),
                      cwd=tmp)
    assert done.returncode == 2
    assert "cannot read pod default/nope: HTTP 404" in done.stderr
