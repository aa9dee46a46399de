"""The real parts built by scripts/real-parts: where they are, and etcd and a PKI to run them.

``IRSA_REAL_PARTS`` names the directory of binaries (the script's last line;
.ci/run exports it). A test that needs a binary that is not there skips with the
reason, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from support.unavailable import skip_or_fail

ENV = "IRSA_REAL_PARTS"


def binary(name: str) -> Path:
    """The real part ``name`` from ``$IRSA_REAL_PARTS``; skips (fails under CI) when absent."""
    directory = os.environ.get(ENV)
    if not directory:
        skip_or_fail(f"{ENV} is not set: run scripts/real-parts and export its last line as {ENV}")
    path = Path(directory) / name
    if not os.access(path, os.X_OK):
        skip_or_fail(f"{name} is not in {ENV}={directory}: scripts/real-parts builds it")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {seconds}s")


@dataclass
class Etcd:
    """A real etcd on loopback (client and peer ports), its data in a temp directory."""

    directory: Path
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_etcd() -> Etcd:
    etcd = binary("etcd")
    directory = Path(tempfile.mkdtemp(prefix="irsa-etcd-"))
    port, peer = free_port(), free_port()
    log = directory / "etcd.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(etcd), "--name", "irsa-test", "--data-dir", str(directory / "data"),
             "--listen-client-urls", f"http://127.0.0.1:{port}",
             "--advertise-client-urls", f"http://127.0.0.1:{port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"irsa-test=http://127.0.0.1:{peer}",
             "--log-level", "warn", "--quota-backend-bytes", str(256 * 1024 * 1024)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_port(port, process, "etcd", log)
    except RuntimeError as err:
        process.kill()
        skip_or_fail(str(err))
    return Etcd(directory, port, process)


# --- a small PKI: what a distribution makes at install time ------------------------


@dataclass(frozen=True)
class Pair:
    cert_pem: bytes
    key_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate_authority(name: str) -> tuple[Pair, object]:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Pair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)), key


def issue(ca: Pair, ca_key, common_name: str, *, server: bool = False, groups: tuple[str, ...] = ()) -> Pair:
    """A leaf signed by ``ca``: a server certificate for 127.0.0.1/localhost, or a client one."""
    key = _key()
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    names = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    names += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder().subject_name(x509.Name(names)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.DNSName("kubernetes.default.svc"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Pair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))
