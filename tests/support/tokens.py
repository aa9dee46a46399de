"""Service-account tokens as kube-apiserver issues them, and the forgeries STS must refuse.

Claims follow a real MicroK8s token (seed 000): iss, sub, aud, exp, iat, nbf,
jti and the ``kubernetes.io`` block; the header is only ``alg`` and ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa



def claims(issuer: str, namespace: str, name: str, audience: str | list[str],
           lifetime: int = 3600, now: float | None = None, pod: str = "aws-cli") -> dict[str, Any]:
    """The claims of a projected service-account token for a pod."""
    issued = int(time.time() if now is None else now)
    return {
        "aud": audience if isinstance(audience, list) else [audience],
        "exp": issued + lifetime,
        "iat": issued,
        "iss": issuer,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": {
            "namespace": namespace,
            "node": {"name": "apricot", "uid": str(uuid.uuid4())},
            "pod": {"name": pod, "uid": str(uuid.uuid4())},
            "serviceaccount": {"name": name, "uid": str(uuid.uuid4())},
            "warnafter": issued + int(lifetime * 0.8),
        },
        "nbf": issued,
        # Written out, not taken from irsa.policies: the format is what is under test.
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }


def sign(payload: dict[str, Any], private_key: rsa.RSAPrivateKey, kid: str | None = None) -> str:
    """RS256 with the header kube-apiserver writes: alg and kid (the Kubernetes key id), no typ."""
    kid = kid or kubernetes_key_id(private_key.public_key())
    return jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": kid, "typ": None})


def kubernetes_key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key id kube-apiserver puts in ``kid``, computed here independently of ``irsa.oidc``.

    Kubernetes ``pkg/serviceaccount/jwt.go`` (``keyIDFromPublicKey``): base64url
    without padding of SHA-256 over the DER-encoded SubjectPublicKeyInfo.
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], kid: str) -> str:
    """``alg: none``: no signature at all."""
    return f"{_segment({'alg': 'none', 'kid': kid})}.{_segment(payload)}."


def hs256_with_public_key(payload: dict[str, Any], public_key: rsa.RSAPublicKey, kid: str) -> str:
    """The algorithm-confusion forgery: HMAC-SHA256 keyed with the published public key's PEM."""
    secret = public_key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_segment({'alg': 'HS256', 'kid': kid})}.{_segment(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
