"""A small client of a real kube-apiserver from a kubeconfig: what the scenarios ask it.

Standard library only (TLS from the kubeconfig's CA, client certificate or
bearer token), so the tests depend on nothing the program itself uses.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


def _data(entry: dict[str, Any], key: str) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        return Path(entry[key]).read_bytes()
    return None


@dataclass
class Kube:
    server: str
    context: ssl.SSLContext
    token: str | None = None

    @classmethod
    def from_kubeconfig(cls, text: str, server: str | None = None) -> Kube:
        config = yaml.safe_load(text)
        current = config.get("current-context") or config["contexts"][0]["name"]
        ctx = next(c["context"] for c in config["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
        user = next((u["user"] for u in config.get("users", []) if u["name"] == ctx.get("user")), {})
        context = ssl.create_default_context()
        ca = _data(cluster, "certificate-authority")
        if ca:
            context.load_verify_locations(cadata=ca.decode())
        if cluster.get("insecure-skip-tls-verify"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        cert, key = _data(user, "client-certificate"), _data(user, "client-key")
        if cert and key:
            with tempfile.TemporaryDirectory() as d:
                (Path(d) / "c.pem").write_bytes(cert)
                (Path(d) / "k.pem").write_bytes(key)
                context.load_cert_chain(str(Path(d) / "c.pem"), str(Path(d) / "k.pem"))
        return cls(server or cluster["server"], context, user.get("token"))

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                timeout: float = 30) -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.server.rstrip("/") + path, data=data, method=method)
        request.add_header("Accept", "application/json, application/jwk-set+json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=timeout) as reply:  # noqa: S310
                raw = reply.read()
                status = reply.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {body}"
        return body

    def token_for(self, namespace: str, name: str, audience: str, seconds: int = 3600) -> str:
        """A TokenRequest for the ServiceAccount, as the kubelet makes for a projected token."""
        status, body = self.request(
            "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"audiences": [audience], "expirationSeconds": seconds}})
        assert status == 201, f"TokenRequest for {namespace}/{name}: {status} {body}"
        return body["status"]["token"]

    def token_review(self, token: str, audiences: list[str] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"token": token}
        if audiences:
            spec["audiences"] = audiences
        status, body = self.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                     "spec": spec})
        assert status == 201, f"TokenReview: {status} {body}"
        return body["status"]
