"""The real-engine harness itself: files committed through the GitHub stand-in's API are what
``jwks_wait`` fetches from https://raw.githubusercontent.com/… inside the test's private host names.

Runs without the real parts (it needs root, unshare and port 443 on a loopback address).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from irsa import oidc
from real.conftest import BRANCH, OWNER, REPOSITORY
from real.github_standin import RAW_HOST, blob_sha

ROOT = Path(__file__).resolve().parents[2]


def api(github, bundle: Path, method: str, path: str, body=None):
    request = urllib.request.Request(github.base_url + "api/v3" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    import ssl
    context = ssl.create_default_context(cafile=str(bundle))
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as reply:  # noqa: S310
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def put(github, bundle, path: str, content: str, sha: str | None = None):
    body = {"message": f"irsa: {path}", "content": base64.b64encode(content.encode()).decode(), "branch": BRANCH}
    if sha:
        body["sha"] = sha
    return api(github, bundle, "PUT", f"/repos/{OWNER}/{REPOSITORY}/contents/{path}", body)


def test_standin_keeps_githubs_rules_for_contents(github, test_ca):
    _ca, bundle, _only = test_ca
    status, _ = put(github, bundle, "rules.txt", "one")
    assert status == 201
    # An existing file is only replaced with its blob sha, as on GitHub.
    assert put(github, bundle, "rules.txt", "two")[0] == 422
    assert put(github, bundle, "rules.txt", "two", sha="0" * 40)[0] == 409
    status, body = put(github, bundle, "rules.txt", "two", sha=blob_sha(b"one"))
    assert status == 200 and body["content"]["sha"] == blob_sha(b"two")
    status, body = api(github, bundle, "GET", f"/repos/{OWNER}/{REPOSITORY}/contents/rules.txt?ref={BRANCH}")
    assert status == 200 and base64.b64decode(body["content"]) == b"two"
    # terraform-provider-github's read parses ?ref= out of the contents url.
    assert body["url"].endswith(f"/contents/rules.txt?ref={BRANCH}")
    status, _ = api(github, bundle, "DELETE", f"/repos/{OWNER}/{REPOSITORY}/contents/rules.txt",
                    {"message": "rm", "sha": blob_sha(b"two"), "branch": BRANCH})
    assert status == 200
    assert api(github, bundle, "GET", f"/repos/{OWNER}/{REPOSITORY}/contents/rules.txt?ref={BRANCH}")[0] == 404
    assert api(github, bundle, "GET", f"/repos/{OWNER}/{REPOSITORY}/branches/nope")[0] == 404
    assert github.unknown == []


@pytest.mark.parametrize("served", [True, False])
def test_jwks_wait_fetches_the_committed_documents_as_sts_would(github, test_ca, host_names, served):
    """jwks_wait, run as the program runs it, reaches the stand-in by the real raw host name."""
    _ca, bundle, _only = test_ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    kid = oidc.key_id(key)
    issuer = oidc.github_issuer_url(OWNER, REPOSITORY, BRANCH, f"wait-{served}")
    prefix = f"wait-{served}"
    put(github, bundle, f"{prefix}/.well-known/openid-configuration", oidc.to_json(oidc.discovery_document(issuer)))
    if served:
        put(github, bundle, prefix + oidc.JWKS_PATH, oidc.to_json(oidc.jwks([key])))
    env = {**os.environ, "SSL_CERT_FILE": str(bundle)}
    done = subprocess.run(
        host_names.wrap([sys.executable, "irsa/jwks_wait.py", "--timeout", "3", "--interval", "1", issuer, kid]),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    if served:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "serves every signing key" in done.stdout
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert "answered HTTP 404" in done.stderr and RAW_HOST in done.stderr
    # Outside the namespace, the name is not ours: nothing on this machine was changed.
    assert RAW_HOST not in Path("/etc/hosts").read_text()

