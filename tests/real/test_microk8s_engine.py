"""Issue 20, scenarios 1, 2, 3, 11 and 10 on one MicroK8s-shaped host, under the real engine.

One stack for the module, taken through the scenarios in order (each test
needs the one before it): ``pulumi install`` / ``preview`` / ``up`` from
nothing, an unchanged second run, a new ServiceAccount, the host-key pins,
and ``destroy``. The host is a real OpenSSH server on a loopback address
whose ``snap restart microk8s.daemon-kubelite`` starts a real kube-apiserver
(with etcd) from the args file the program writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from real import apiserver_host, parts
from real.github_standin import GitHubStandIn
from real.kube import Kube
from real.local_webhook import LocalWebhook, kube_pod, kube_service_account, pod_mutation
from real.microk8s_node import MicroK8sNode, start_microk8s_node
from real.stack import (AUDIENCE, ISSUER, engine_env, irsa_verify, published, service_account,
                        stack_config, verify_token)
from real.workspace import Workspace

from irsa import webhook

TIMES: dict[str, float] = {}


class Scenario:
    """The module's shared state: the node, the workspace and what earlier scenarios saw."""

    node: MicroK8sNode
    ws: Workspace
    before: dict[str, bytes]
    accounts: list[dict]
    done: set[str]

    settings: dict

    def config(self, **more) -> dict:
        """The stack file for the node, with what earlier scenarios changed (``settings``) and ``more``."""
        return stack_config(hosts=[self.node.sshd.address], port=self.node.sshd.port,
                            host_key=self.node.sshd.pin("ssh-ed25519"), api_endpoint=self.node.api_endpoint,
                            accounts=self.accounts, **{**self.settings, **more})

    def need(self, *names: str) -> None:
        missing = [n for n in names if n not in self.done]
        if missing:
            pytest.fail(f"scenario {', '.join(missing)} did not pass; this one builds on it", pytrace=False)


@pytest.fixture(scope="module")
def scenario(real_bin: Path, real_dir: Path, host_names, github: GitHubStandIn, test_ca) -> Iterator[Scenario]:
    parts.bin_dir(*parts.CLUSTER)
    _ca, bundle, _only = test_ca
    s = Scenario()
    s.done = set()
    s.settings = {}
    s.accounts = [service_account("default", "app")]
    s.node = start_microk8s_node(real_dir / "node-1", real_bin, host_names)
    s.before = s.node.snapshot()
    s.ws = Workspace.create(real_dir / "stack-microk8s", real_bin, host_names, env=engine_env(github, bundle))
    start = time.monotonic()
    s.ws.install()
    TIMES["pulumi install"] = time.monotonic() - start
    s.ws.init_stack(s.config(), secrets={"irsa:sshPrivateKey": s.node.sshd.client_key.read_text()})
    yield s
    if "destroy" not in s.done:
        s.ws.destroy(check=False)
    s.node.stop()
    print("\nreal-engine timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in TIMES.items()))


def timed(name: str):
    class _Timer:
        def __enter__(self):
            self.start = time.monotonic()

        def __exit__(self, *exc):
            TIMES[name] = time.monotonic() - self.start

    return _Timer()


def test_1_preview_then_up_from_nothing(scenario: Scenario, github: GitHubStandIn, test_ca):
    s = scenario
    with timed("1 preview+up"):
        preview = s.ws.preview()
        assert "+ " in preview.output and "create" in preview.output
        assert s.node.restarts() == 0, "a preview must not touch the host"
        s.ws.up()
    outputs = s.ws.outputs()
    assert outputs["issuerUrl"] == ISSUER
    assert outputs["jwksUri"] == ISSUER + "/jwks.json"
    assert outputs["discoveryUrl"] == ISSUER + "/.well-known/openid-configuration"
    assert outputs["audience"] == AUDIENCE
    assert outputs["serviceAccountRoles"] == {"default/app": s.accounts[0]["roleArn"]}
    kids = outputs["signingKeyIds"]
    assert len(kids) == 1

    # What the provider committed is what raw.githubusercontent.com serves.
    discovery, jwks = published(github)
    assert discovery["issuer"] == ISSUER and discovery["jwks_uri"] == ISSUER + "/jwks.json"
    assert [k["kid"] for k in jwks["keys"]] == kids
    assert github.unknown == [], f"calls the stand-in does not model: {github.unknown}"

    # The real API server signs for the stack's issuer with the published key.
    kube = Kube.from_kubeconfig(outputs["kubeconfig"])
    flags = s.node.running_flags()
    assert ISSUER == flags["--service-account-issuer"][0]
    token = kube.token_for("default", "app", AUDIENCE)
    claims = verify_token(token, jwks, ISSUER)
    assert claims["sub"] == "system:serviceaccount:default:app"
    # Its own /openid/v1/jwks lists the same keys as the published jwks.json.
    served = kube.get("/openid/v1/jwks")
    assert {(k["kid"], k["n"], k["e"]) for k in served["keys"]} >= {(k["kid"], k["n"], k["e"]) for k in jwks["keys"]}
    assert s.node.restarts() >= 1
    s.first_up_restarts = s.node.restarts()

    # irsa verify, as the README runs it, against the published documents.
    _ca, bundle, _only = test_ca
    done = irsa_verify(s.ws, outputs, "--service-account", "default/app", "--from-cluster", ca_bundle=bundle)
    s.verify_output = done.stdout + done.stderr
    for check in ("issuer", "jwks"):
        assert any(line.startswith("ok") and check in line.lower() for line in done.stdout.splitlines()), \
            s.verify_output
    s.done.add("1")


def test_2_second_preview_shows_no_change_and_second_up_restarts_nothing(scenario: Scenario, github):
    s = scenario
    s.need("1")
    writes = len(github.writes())
    with timed("2 preview+up"):
        s.ws.preview("--expect-no-changes")
        up = s.ws.up()
    assert s.node.restarts() == s.first_up_restarts, up.output
    assert len(github.writes()) == writes
    s.done.add("2")


def test_3_adding_a_service_account_changes_nothing_on_the_host(scenario: Scenario):
    s = scenario
    s.need("1")
    host = s.node.snapshot()
    restarts = s.node.restarts()
    s.accounts.append(service_account("team", "worker", createNamespace=True))
    s.ws.write_config(s.config())
    with timed("3 up"):
        up = s.ws.up()
    assert s.node.restarts() == restarts, up.output
    assert s.node.snapshot() == host
    kube = Kube.from_kubeconfig(s.ws.outputs()["kubeconfig"])
    account = kube.get("/api/v1/namespaces/team/serviceaccounts/worker")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == s.accounts[1]["roleArn"]
    s.done.add("3")


def test_4_key_rotation_keeps_old_tokens_and_signs_with_the_new_key(scenario: Scenario, github: GitHubStandIn):
    s = scenario
    s.need("1")
    outputs = s.ws.outputs()
    kube = Kube.from_kubeconfig(outputs["kubeconfig"])
    old_kid = outputs["signingKeyIds"][0]
    old_token = kube.token_for("default", "app", AUDIENCE)
    s.settings["signingKeys"] = ["second", "primary"]
    s.ws.write_config(s.config())
    with timed("4 rotation up"):
        s.ws.up()
    outputs = s.ws.outputs()
    new_kid, kept_kid = outputs["signingKeyIds"]
    assert kept_kid == old_kid and new_kid != old_kid
    _discovery, jwks = published(github)
    assert sorted(k["kid"] for k in jwks["keys"]) == sorted([new_kid, old_kid])
    kube = Kube.from_kubeconfig(outputs["kubeconfig"])
    # The API server still accepts what the old key signed...
    review = kube.token_review(old_token, [AUDIENCE])
    assert review.get("authenticated") is True, review
    # ...and signs new tokens with the new key, for the same issuer.
    token = kube.token_for("default", "app", AUDIENCE)
    claims = verify_token(token, jwks, ISSUER)
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    assert claims["iss"] == ISSUER
    served = {k["kid"] for k in kube.get("/openid/v1/jwks")["keys"]}
    assert {new_kid, old_kid} <= served
    s.first_up_restarts = s.node.restarts()
    s.done.add("4")


def test_8_the_real_webhook_mutates_pods_of_annotated_service_accounts(scenario: Scenario, real_bin, real_dir,
                                                                        test_ca):
    """The upstream binary, run locally with the program's certificate and flags; the program's
    MutatingWebhookConfiguration pointed at it by URL (no kube-proxy: a Service cannot reach it)."""
    s = scenario
    s.need("1")
    webhook_bin = parts.binary(parts.WEBHOOK[0])
    outputs = s.ws.outputs()
    kube = Kube.from_kubeconfig(outputs["kubeconfig"])
    with timed("8 webhook"):
        with LocalWebhook.start(webhook_bin, kube, outputs["kubeconfig"], real_dir / "webhook") as hook:
            hook.point_configuration_at_it()
            pod = kube_pod(kube, "default", "app")
            mutated = pod_mutation(pod)
            assert mutated["AWS_ROLE_ARN"] == s.accounts[0]["roleArn"], pod
            assert mutated["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{webhook.TOKEN_DIRECTORY}/{webhook.TOKEN_FILE}"
            assert mutated["audience"] == AUDIENCE
            assert mutated["expirationSeconds"] == 86400
            # irsa verify --pod reads the mutated pod and checks what STS needs of it.
            _ca, bundle, _only = test_ca
            done = irsa_verify(s.ws, outputs, "--pod", "default/" + pod["metadata"]["name"], ca_bundle=bundle)
            assert any(line.startswith("ok") and "mutat" in line for line in done.stdout.splitlines()), \
                done.stdout + done.stderr
            # kube-system: mutated exactly when the program's configuration says so.
            kube_service_account(kube, "kube-system", "addon", s.accounts[0]["roleArn"])
            system_pod = kube_pod(kube, "kube-system", "addon")
            if webhook.mutates_namespace("kube-system"):
                assert pod_mutation(system_pod)["AWS_ROLE_ARN"] == s.accounts[0]["roleArn"], system_pod
            else:
                assert pod_mutation(system_pod) == {}, system_pod
            hook.restore_configuration()
    s.done.add("8")


def test_12_ssh_session_cut_during_up_then_next_up_converges(scenario: Scenario):
    """The restart is held, the node's SSH sessions are killed: the host finishes on its own (detached
    run), the interrupted ``up`` fails, and the next ``up`` converges."""
    s = scenario
    s.need("1")
    audiences = ["https://kubernetes.default.svc", "https://irsa.test"]
    s.settings["apiAudiences"] = audiences
    s.ws.write_config(s.config())
    pause = s.node.host.state / apiserver_host.PAUSE
    paused = s.node.host.state / "paused"
    paused.unlink(missing_ok=True)
    pause.write_text("")
    with timed("12 cut + converge"):
        running = s.ws.start_pulumi("up", "--yes", "--non-interactive", "--skip-preview")
        try:
            deadline = time.monotonic() + 600
            while not paused.exists() and running.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            assert paused.exists(), "the up never reached the restart"
            killed = s.node.sshd.kill_sessions()
            assert killed, "no SSH session to cut"
        finally:
            pause.unlink(missing_ok=True)
        output, _ = running.communicate(timeout=900)
        interrupted = running.returncode
        # The host run was detached: it finishes the restart by itself.
        kube_ready = s.node.host.wait_ready(180)
        assert kube_ready, "the API server did not come back after the cut"
        converge = s.ws.up()
    flags = s.node.running_flags()
    assert flags["--api-audiences"][-1].split(",") == audiences, converge.output
    s.ws.preview("--expect-no-changes")
    TIMES["12 interrupted up exit"] = interrupted
    print("\ninterrupted up:", interrupted, output[-1500:])
    s.first_up_restarts = s.node.restarts()
    s.done.add("12")


def test_11_host_key_pins(scenario: Scenario):
    """The ed25519 pin connects (scenarios 1-3); the RSA pin behaves as the program says."""
    s = scenario
    s.need("1")
    restarts = s.node.restarts()
    s.ws.write_config(s.config(sshHostKey=s.node.sshd.pin("ssh-rsa")))
    with timed("11 up with an RSA pin"):
        up = s.ws.up(check=False)
    s.rsa_pin_output = up.output
    TIMES["11 rsa exit"] = up.returncode
    # Back to the ed25519 pin whatever happened, so destroy runs.
    s.ws.write_config(s.config())
    s.ws.up()
    assert s.node.restarts() == restarts
    s.done.add("11")
    print("\nRSA pin under the real engine:", up.returncode, up.output[-1500:])


def test_10_destroy_gives_every_host_file_back(scenario: Scenario, github: GitHubStandIn):
    s = scenario
    s.need("1")
    with timed("10 destroy"):
        s.ws.destroy()
    s.done.add("destroy")
    after = s.node.snapshot()
    changed = sorted(p for p in set(s.before) | set(after) if s.before.get(p) != after.get(p))
    assert changed == [], f"host files differ after destroy: {changed}"
    assert s.node.running_flags() == s.node.original_flags
    assert github.file("irsa-test", "oidc-issuer", "main", "jwks.json") is None
    assert github.unknown == []
    s.done.add("10")
