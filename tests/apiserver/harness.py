"""Helpers of the host-script tests: throwaway keys, script inputs, a fake host reached over SSH."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.sshd import SshServer
from support.tokens import kubernetes_key_id

from apiserver.fakehost import FakeHost

from irsa import apiserver

ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
DEFAULT_ISSUER = "https://kubernetes.default.svc"
AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class Key:
    """A throwaway RSA signing key, made at run time, in the forms the program uses."""

    private_pem: str
    public_pem: str
    kid: str

    @staticmethod
    def generate() -> Key:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return Key(private_pem, public_pem, kubernetes_key_id(private.public_key()))

    @property
    def body_line(self) -> str:
        """One line of the private key's base64, to look for where it must not be."""
        return self.private_pem.splitlines()[5]


def host_config(keys: Sequence[Key], **changes) -> apiserver.HostConfig:
    """The host script's inputs for ``keys`` (the first signs), short timeout for tests."""
    config = apiserver.HostConfig(
        issuer_url=ISSUER,
        key_ids=tuple(k.kid for k in keys),
        public_keys_pem=tuple(k.public_pem for k in keys),
        signing_private_key_pem=keys[0].private_pem,
        api_audiences=(DEFAULT_ISSUER,),
        audience=AUDIENCE,
        key_dir="/opt/k8s",
        ready_timeout_seconds=2,
        restart_workloads=False,
    )
    return replace(config, **changes)


@dataclass
class Machine:
    """A fake MicroK8s host reached over real SSH."""

    server: SshServer
    host: FakeHost

    def run(self, mode: str, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        """Run the host script in ``mode`` exactly as Pulumi would, against the fake root."""
        script = apiserver.host_script("microk8s", config)
        command = (
            f"export IRSA_HOST_ROOT={self.host.root} PATH={self.host.bin}:$PATH; "
            + apiserver.command_line(mode)
        )
        return self.server.ssh(user, command, stdin=script)

    def start(self, mode: str, config: apiserver.HostConfig) -> subprocess.Popen:
        """Start the script in ``mode`` over SSH without waiting: the test may cut the connection."""
        script = apiserver.host_script("microk8s", config)
        command = (
            f"export IRSA_HOST_ROOT={self.host.root} PATH={self.host.bin}:$PATH; "
            + apiserver.command_line(mode)
        )
        process = subprocess.Popen(
            self.server.ssh_argv("root", command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        process.stdin.write(script)
        process.stdin.close()
        process.stdin = None  # communicate() must not touch it again
        return process

    def apply(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("apply", config, user)

    def revert(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("revert", config, user)
