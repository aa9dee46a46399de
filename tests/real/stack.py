"""The stack the real-engine scenarios share: its configuration, and the checks they repeat."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt

from real.conftest import BRANCH, OWNER, REPOSITORY
from real.github_standin import GitHubStandIn
from real.workspace import Workspace

from irsa import oidc

ISSUER = oidc.github_issuer_url(OWNER, REPOSITORY, BRANCH)
AUDIENCE = "sts.amazonaws.com"
ACCOUNT = "123456789012"
SKIP_AWAIT = Path(__file__).resolve().parent / "skip_await"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def service_account(namespace: str, name: str, **more: Any) -> dict[str, Any]:
    """A cluster-only service account entry: the role is named, not made (irsa:awsAccounts: [])."""
    return {"namespace": namespace, "name": name, "roleArn": role_arn(f"{namespace}-{name}"), **more}


def stack_config(*, hosts: Sequence[str], port: int, host_key: str, api_endpoint: str,
                 accounts: Sequence[Mapping[str, Any]], **more: Any) -> dict[str, Any]:
    """The stack file's values, as a user would set them for these hosts (cluster-only mode)."""
    config: dict[str, Any] = {
        "aws:region": "us-east-1",
        "irsa:awsAccounts": [],
        "irsa:githubOwner": OWNER,
        "irsa:githubRepository": REPOSITORY,
        "irsa:githubBranch": BRANCH,
        "irsa:issuerWaitSeconds": 120,
        "irsa:sshUser": "root",
        "irsa:sshPort": port,
        "irsa:sshHostKey": host_key,
        "irsa:apiEndpoint": api_endpoint,
        "irsa:readyTimeoutSeconds": 120,
        "irsa:thumbprints": [],
        "irsa:serviceAccounts": list(accounts),
    }
    if len(hosts) == 1:
        config["irsa:host"] = hosts[0]
    else:
        config["irsa:hosts"] = list(hosts)
    config.update({k if ":" in k else f"irsa:{k}": v for k, v in more.items()})
    return config


def engine_env(github: GitHubStandIn, ca_bundle: Path) -> dict[str, str]:
    """What the CLI's processes need to reach the stand-ins, and the test-only skipAwait."""
    return {
        # The program's explicit github.Provider takes GITHUB_BASE_URL / GITHUB_TOKEN from the
        # environment (an explicit provider does not read the stack's github:baseUrl).
        "GITHUB_BASE_URL": github.base_url,
        "GITHUB_TOKEN": "irsa-test-token",
        # Go (the providers) and Python's OpenSSL (jwks_wait, irsa verify) read it.
        "SSL_CERT_FILE": str(ca_bundle),
        "PYTHONPATH": str(SKIP_AWAIT),
    }


def published(github: GitHubStandIn, path: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The discovery document and JWKS the stand-in serves now."""
    prefix = f"{path}/" if path else ""
    discovery = github.file(OWNER, REPOSITORY, BRANCH, f"{prefix}.well-known/openid-configuration")
    jwks = github.file(OWNER, REPOSITORY, BRANCH, f"{prefix}jwks.json")
    assert discovery is not None and jwks is not None, "the issuer documents are not published"
    return json.loads(discovery), json.loads(jwks)


def verify_token(token: str, jwks: Mapping[str, Any], issuer: str, audience: str = AUDIENCE) -> dict[str, Any]:
    """The token's claims, checked as STS checks them: the kid's key from the published JWKS."""
    header = jwt.get_unverified_header(token)
    keys = {k["kid"]: k for k in jwks["keys"]}
    assert header["kid"] in keys, f"kid {header['kid']} is not published ({sorted(keys)})"
    key = jwt.PyJWK(keys[header["kid"]]).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)


def irsa_verify(ws: Workspace, outputs: Mapping[str, Any], *args: str, ca_bundle: Path) -> subprocess.CompletedProcess:
    """``irsa verify`` from the stack's own venv, as the README runs it, inside the test's host names."""
    argv = [str(ws.project / "venv" / "bin" / "irsa"), "verify", "--stack-outputs", "-",
            "--ca-bundle", str(ca_bundle), *args]
    return subprocess.run(ws.names.wrap(argv), input=json.dumps(dict(outputs)), capture_output=True,
                          text=True, cwd=ws.project, env=ws.env(), timeout=300, check=False)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
