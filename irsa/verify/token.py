"""The web-identity token: its parts, and where to get one.

Parsing does not trust anything: the header and claims are only read here;
the signature check is its own step (``checks.check_signature``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irsa.verify import kube

# The shortest lifetime kube-apiserver grants a TokenRequest.
REQUEST_SECONDS = 600


class TokenError(ValueError):
    """A token that cannot be read or obtained."""


@dataclass(frozen=True)
class Token:
    """A compact JWS split into its readable parts; ``raw`` never appears in repr."""

    raw: str = field(repr=False)
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def audiences(self) -> list[str]:
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def parse(raw: str) -> Token:
    """Split a compact JWS; ``TokenError`` if it is not one."""
    raw = raw.strip()
    parts = raw.split(".")
    if len(parts) != 3:
        raise TokenError(f"not a JWT: expected 3 dot-separated parts, found {len(parts)}")
    header = _json_part(parts[0], "header")
    claims = _json_part(parts[1], "claims")
    return Token(raw=raw, header=header, claims=claims)


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError):
        raise TokenError(f"not a JWT: the {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise TokenError(f"not a JWT: the {what} is not a JSON object")
    return value


def read_file(path: str | Path) -> str:
    """The token in a file (as a pod's projected volume holds it)."""
    try:
        return Path(path).read_text().strip()
    except OSError as err:
        raise TokenError(f"cannot read the token file {path}: {err.strerror or err}") from None


def request_from_cluster(
    kubeconfig: str | Mapping[str, Any], namespace: str, name: str, audience: str,
    seconds: int = REQUEST_SECONDS,
) -> str:
    """A fresh token for the service account, from the API server's TokenRequest API.

    ``kubeconfig`` is a file path or a parsed kubeconfig. Imported here so the
    other commands do not need the Kubernetes client installed.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api_client = kube.api_client(kubeconfig, TokenError)
    body = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[audience], expiration_seconds=seconds)
    )
    with api_client:
        try:
            answer = client.CoreV1Api(api_client).create_namespaced_service_account_token(
                name, namespace, body, _request_timeout=30
            )
        except ApiException as err:
            raise TokenError(f"the API server refused the TokenRequest for {namespace}/{name}: "
                             f"HTTP {err.status} {err.reason}") from None
        except Exception as err:  # urllib3 connection and TLS errors have no common base here
            raise TokenError(f"cannot reach the API server: {type(err).__name__}: {err}") from None
    token = answer.status.token if answer.status else None
    if not token:
        raise TokenError("the API server answered the TokenRequest without a token")
    return token
