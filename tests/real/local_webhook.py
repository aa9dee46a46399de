"""The real amazon-eks-pod-identity-webhook as a local process, serving what the program deployed.

No kubelet runs, so the program's Deployment never starts a pod. The test
runs the same binary with the Deployment's own flags (only the certificate
paths and ports changed), the serving certificate from the program's TLS
Secret, and a kubeconfig; then it points the program's
MutatingWebhookConfiguration at it by URL (no kube-proxy, so the API server
cannot reach a Service) under the Service's DNS name, which the test's
private ``/etc/hosts`` gives the API server. The caBundle stays the
program's: the API server checks the program's certificate.
"""

from __future__ import annotations

import base64
import copy
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from real.conftest import WEBHOOK_HOST
from real.kube import Kube

from irsa import webhook

CONFIGURATION = f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{webhook.CLUSTER_NAME}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))  # noqa: S104 (the webhook listens on every address)
        return s.getsockname()[1]


@dataclass
class LocalWebhook:
    kube: Kube
    process: subprocess.Popen
    port: int
    directory: Path
    original: dict[str, Any] | None = None

    @classmethod
    def start(cls, binary: Path, kube: Kube, kubeconfig: str, directory: Path) -> LocalWebhook:
        directory.mkdir(parents=True, exist_ok=True)
        secret = kube.get(f"/api/v1/namespaces/{webhook.NAMESPACE}/secrets/{webhook.SECRET_NAME}")
        (directory / "tls.crt").write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
        (directory / "tls.key").write_bytes(base64.b64decode(secret["data"]["tls.key"]))
        (directory / "kubeconfig").write_text(kubeconfig)
        deployment = kube.get(f"/apis/apps/v1/namespaces/{webhook.NAMESPACE}/deployments/{webhook.NAME}")
        command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        port, metrics = _free_port(), _free_port()
        local = {"--tls-cert": str(directory / "tls.crt"), "--tls-key": str(directory / "tls.key"),
                 "--port": str(port), "--metrics-port": str(metrics)}
        args = [f"{a.split('=', 1)[0]}={local[a.split('=', 1)[0]]}" if a.split("=", 1)[0] in local else a
                for a in command[1:]]
        args.append(f"--kubeconfig={directory / 'kubeconfig'}")
        log = open(directory / "webhook.log", "wb")  # noqa: SIM115 (kept open for the process)
        process = subprocess.Popen([str(binary), *args], stdout=log, stderr=subprocess.STDOUT)
        hook = cls(kube, process, port, directory)
        hook._wait_healthy()
        return hook

    def _wait_healthy(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as raw:
                    with context.wrap_socket(raw):
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the webhook did not serve on :{self.port}: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self.directory / "webhook.log").read_text(errors="replace")

    def point_configuration_at_it(self) -> None:
        configuration = self.kube.get(CONFIGURATION)
        self.original = copy.deepcopy(configuration)
        for entry in configuration["webhooks"]:
            entry["clientConfig"] = {"url": f"https://{WEBHOOK_HOST}:{self.port}{webhook.MUTATE_PATH}",
                                     "caBundle": entry["clientConfig"]["caBundle"]}
        status, body = self.kube.request("PUT", CONFIGURATION, configuration)
        assert status == 200, body

    def restore_configuration(self) -> None:
        """Give the program its configuration back, so its state and the cluster agree again."""
        if self.original is None:
            return
        current = self.kube.get(CONFIGURATION)
        restored = copy.deepcopy(self.original)
        restored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        status, body = self.kube.request("PUT", CONFIGURATION, restored)
        assert status == 200, body
        self.original = None

    def __enter__(self) -> LocalWebhook:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.restore_configuration()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def kube_service_account(kube: Kube, namespace: str, name: str, role_arn: str) -> None:
    """An annotated ServiceAccount made by hand (as a chart would make an add-on's)."""
    status, body = kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "annotations": {webhook.ROLE_ARN_ANNOTATION: role_arn}}})
    assert status in (201, 409), body


def kube_pod(kube: Kube, namespace: str, service_account: str) -> dict[str, Any]:
    """Create a pod for the ServiceAccount; the object as admission left it (it never runs)."""
    status, body = kube.request("POST", f"/api/v1/namespaces/{namespace}/pods", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "irsa-real-"},
        "spec": {"serviceAccountName": service_account, "automountServiceAccountToken": False,
                 "containers": [{"name": "app", "image": "registry.invalid/app:1", "command": ["true"]}]}})
    assert status == 201, body
    return body


def pod_mutation(pod: dict[str, Any]) -> dict[str, Any]:
    """What the webhook added to the pod: its variables and the projected token's settings."""
    found: dict[str, Any] = {}
    for env in pod["spec"]["containers"][0].get("env", []):
        if env["name"].startswith("AWS_"):
            found[env["name"]] = env.get("value")
    for volume in pod["spec"].get("volumes", []):
        if volume["name"] == webhook.TOKEN_VOLUME:
            token = volume["projected"]["sources"][0]["serviceAccountToken"]
            found["audience"] = token.get("audience")
            found["expirationSeconds"] = token.get("expirationSeconds")
    return found
