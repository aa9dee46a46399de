"""Issue 20's scenarios that the parts served here can run: the program's cluster side under the real
CLI and engine, the real pulumi-kubernetes provider, a real kube-apiserver and the real webhook.

One stack for the module, taken through the scenarios in order (each builds on
the one before): preview and up from nothing (1), an unchanged second run (2),
a new ServiceAccount (3), the same cluster under another API address
(``cluster_identifier``), the webhook mutating pods (8), a chart's
ServiceAccount taken over and given back (9), destroy (10). What is real and
what the test supplies: ``tests/real/engine.py``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from real import parts
from real.apiserver_host import MicroK8sHost, start_microk8s_host
from real.engine import EngineStack, changes, cluster_side, engine_stack, role_arn, service_account
from real.kube import Kube
from real.local_webhook import LocalWebhook, kube_pod, kube_service_account, pod_mutation

from irsa import webhook
from irsa.components.webhook import WebhookCertificate

TIMES: dict[str, float] = {}
CHART_ROLE = f"arn:aws:iam::{'210987654321'}:role/chart-own-role"


class Scenario:
    host: MicroK8sHost
    kube: Kube
    es: EngineStack
    certificate: WebhookCertificate
    accounts: list[dict]
    done: set[str]

    def config(self) -> dict:
        return {
            "aws:region": "us-east-1",
            "irsa:awsAccounts": [],
            "irsa:githubOwner": "irsa-test",
            "irsa:githubRepository": "oidc-issuer",
            "irsa:host": "127.0.0.1",
            "irsa:serviceAccounts": self.accounts,
        }

    def need(self, *names: str) -> None:
        missing = [n for n in names if n not in self.done]
        if missing:
            pytest.fail(f"scenario {', '.join(missing)} did not pass; this one builds on it", pytrace=False)


class timed:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()

    def __exit__(self, *exc):
        TIMES[self.name] = time.monotonic() - self.start


def _certificate(test_ca) -> WebhookCertificate:
    """A serving certificate for the webhook Service's names, as the program's pulumi-tls one would be."""
    ca, _bundle, _only = test_ca
    issued = ca.issue_cert(*webhook.service_dns_names())
    return WebhookCertificate(
        ca_cert_pem=ca.cert_pem.bytes().decode(),
        serving_cert_pem=issued.cert_chain_pems[0].bytes().decode(),
        serving_key_pem=issued.private_key_pem.bytes().decode(),
    )


@pytest.fixture(scope="module")
def scenario(real_bin: Path, real_dir: Path, host_names, test_ca) -> Iterator[Scenario]:
    for name in (*parts.CLUSTER,):
        parts.binary(name)
    s = Scenario()
    s.done = set()
    s.accounts = [service_account("default", "app")]
    with timed("start kube-apiserver"):
        s.host = start_microk8s_host(real_dir / "cluster", wrap=host_names.wrap([]))
    s.kube = Kube.from_kubeconfig(s.host.kubeconfig())
    s.certificate = _certificate(test_ca)
    with timed("stack init"):
        s.es = engine_stack(real_dir / "engine", cluster_side(s.certificate))
        s.es.write_config(s.config())
        s.es.set_secret("irsa:kubeconfig", s.host.kubeconfig())
    yield s
    # No destroy here: the cluster and the state are thrown away with the temp directory.
    s.host.stop()
    print("\nreal-engine timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items()))


def test_1_preview_then_up_from_nothing(scenario: Scenario):
    s = scenario
    with timed("1 preview"):
        preview = s.es.stack.preview()
    assert changes(preview.change_summary).keys() == {"create"}, preview.change_summary
    assert s.kube.request("GET", "/api/v1/namespaces/default/serviceaccounts/app")[0] == 404
    with timed("1 up"):
        up = s.es.stack.up()
    assert changes(up.summary.resource_changes).keys() == {"create"}, up.summary.resource_changes
    assert up.outputs["serviceAccountRoles"].value == {"default/app": role_arn("default", "app")}

    # What the real API server holds is what the program declared.
    account = s.kube.get("/api/v1/namespaces/default/serviceaccounts/app")
    assert account["metadata"]["annotations"][webhook.ROLE_ARN_ANNOTATION] == role_arn("default", "app")
    configuration = s.kube.get(
        f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{webhook.CLUSTER_NAME}")
    entry = configuration["webhooks"][0]
    assert base64.b64decode(entry["clientConfig"]["caBundle"]).decode() == s.certificate.ca_cert_pem
    assert entry["clientConfig"]["service"] == {"name": webhook.NAME, "namespace": webhook.NAMESPACE,
                                                "path": webhook.MUTATE_PATH, "port": webhook.SERVICE_PORT}
    deployment = s.kube.get(f"/apis/apps/v1/namespaces/{webhook.NAMESPACE}/deployments/{webhook.NAME}")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["command"][0] == "/webhook"
    secret = s.kube.get(f"/api/v1/namespaces/{webhook.NAMESPACE}/secrets/{webhook.SECRET_NAME}")
    assert base64.b64decode(secret["data"]["tls.crt"]).decode() == s.certificate.serving_cert_pem
    s.done.add("1")


def test_2_second_preview_shows_no_change_and_second_up_changes_nothing(scenario: Scenario):
    s = scenario
    s.need("1")
    with timed("2 preview"):
        preview = s.es.stack.preview()
    assert changes(preview.change_summary) == {}, preview.stdout[-4000:]
    with timed("2 up"):
        up = s.es.stack.up()
    assert changes(up.summary.resource_changes) == {}, up.stdout[-4000:]
    s.done.add("2")


def test_3_adding_a_service_account_only_creates(scenario: Scenario):
    s = scenario
    s.need("1")
    s.accounts.append(service_account("team", "worker", createNamespace=True))
    s.es.write_config(s.config())
    with timed("3 up"):
        up = s.es.stack.up()
    assert changes(up.summary.resource_changes).keys() == {"create"}, up.stdout[-4000:]
    account = s.kube.get("/api/v1/namespaces/team/serviceaccounts/worker")
    assert account["metadata"]["annotations"][webhook.ROLE_ARN_ANNOTATION] == role_arn("team", "worker")
    s.done.add("3")


def test_the_same_cluster_under_another_address_replaces_nothing(scenario: Scenario):
    """cluster_identifier: a kubeconfig that changes (here the server's name) updates the provider only."""
    s = scenario
    s.need("1")
    config = yaml.safe_load(s.host.kubeconfig())
    config["clusters"][0]["cluster"]["server"] = f"https://localhost:{s.host.port}"
    s.es.set_secret("irsa:kubeconfig", yaml.safe_dump(config))
    with timed("kubeconfig change up"):
        up = s.es.stack.up()
    assert set(changes(up.summary.resource_changes)) <= {"update"}, up.stdout[-4000:]
    assert not any(op in up.summary.resource_changes for op in ("replace", "create-replacement", "delete")), \
        up.summary.resource_changes
    assert changes(s.es.stack.preview().change_summary) == {}
    s.done.add("id")


def test_8_the_real_webhook_mutates_pods_of_annotated_service_accounts(scenario: Scenario, real_dir: Path):
    """The upstream binary with the Deployment's own flags and the program's certificate, the program's
    MutatingWebhookConfiguration pointed at it by URL (no kube-proxy can reach a Service)."""
    s = scenario
    s.need("1")
    with timed("8 webhook"):
        with LocalWebhook.start(parts.binary(parts.WEBHOOK[0]), s.kube, s.host.kubeconfig(),
                                real_dir / "webhook") as hook:
            hook.point_configuration_at_it()
            pod = kube_pod(s.kube, "default", "app")
            mutated = pod_mutation(pod)
            assert mutated.get("AWS_ROLE_ARN") == role_arn("default", "app"), (pod, hook.log()[-2000:])
            assert mutated["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{webhook.TOKEN_DIRECTORY}/{webhook.TOKEN_FILE}"
            assert mutated["AWS_REGION"] == "us-east-1"
            assert mutated["audience"] == "sts.amazonaws.com"
            assert mutated["expirationSeconds"] == 86400
            # kube-system: mutated exactly when the program's configuration says so.
            kube_service_account(s.kube, "kube-system", "addon", role_arn("kube-system", "addon"))
            system_pod = kube_pod(s.kube, "kube-system", "addon")
            if webhook.mutates_namespace("kube-system"):
                assert pod_mutation(system_pod).get("AWS_ROLE_ARN") == role_arn("kube-system", "addon")
            else:
                assert pod_mutation(system_pod) == {}, system_pod
            # The webhook's own namespace never waits for it.
            hook.restore_configuration()
    s.done.add("8")


def test_9_a_charts_service_account_is_taken_over(scenario: Scenario):
    s = scenario
    s.need("1")
    kube_service_account(s.kube, "default", "chart-sa", CHART_ROLE)
    s.accounts.append(service_account("default", "chart-sa", existing=True))
    s.es.write_config(s.config())
    with timed("9 up"):
        s.es.stack.up()
    taken = s.kube.get("/api/v1/namespaces/default/serviceaccounts/chart-sa")
    assert taken["metadata"]["annotations"][webhook.ROLE_ARN_ANNOTATION] == role_arn("default", "chart-sa")
    assert changes(s.es.stack.preview().change_summary) == {}
    s.done.add("9")

