"""Fixtures of the real-engine tests: the real parts, a test CA, the GitHub stand-in, private host names.

Everything here is session-wide and cheap to share; a test module makes its
own stack (one per module, its scenarios run in order against it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.unavailable import skip_or_fail

from real import parts
from real.github_standin import RAW_HOST, GitHubStandIn
from real.names import HostNames, loopback_address

OWNER = "irsa-test"
REPOSITORY = "oidc-issuer"
BRANCH = "main"
# The webhook's Service name, as its certificate names it (irsa.webhook.service_dns_names).
WEBHOOK_HOST = "pod-identity-webhook.irsa-webhook.svc"
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def real_bin() -> Path:
    return parts.bin_dir(*parts.ENGINE)


@pytest.fixture(scope="session")
def real_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="irsa-real-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def test_ca(real_dir: Path):
    """A throwaway CA, and a bundle of it plus the system's CAs (pip still reaches PyPI)."""
    try:
        import trustme
    except ImportError:
        skip_or_fail("trustme is not installed (pip install -r requirements-dev.txt)")
    ca = trustme.CA()
    bundle = real_dir / "ca-bundle.pem"
    system = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.exists() else b""
    bundle.write_bytes(system + ca.cert_pem.bytes())
    only = real_dir / "test-ca.pem"
    ca.cert_pem.write_to_path(str(only))
    return ca, bundle, only


@pytest.fixture(scope="session")
def host_names(real_dir: Path) -> HostNames:
    """raw.githubusercontent.com and the webhook's Service name on loopback addresses of this run."""
    return HostNames(real_dir, {RAW_HOST: loopback_address(), WEBHOOK_HOST: loopback_address()})


@pytest.fixture(scope="session")
def github(test_ca, host_names: HostNames) -> Iterator[GitHubStandIn]:
    """GitHub's API and raw.githubusercontent.com, on port 443 of the raw host's loopback address."""
    ca, _bundle, _only = test_ca
    try:
        standin = GitHubStandIn(host_names.names[RAW_HOST], 443, ca)
    except OSError as err:
        skip_or_fail(f"cannot serve the GitHub stand-in on {host_names.names[RAW_HOST]}:443: {err}")
    standin.add_repository(OWNER, REPOSITORY, BRANCH)
    yield standin
    standin.close()
