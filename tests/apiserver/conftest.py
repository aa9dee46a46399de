"""Fixtures for the host-script tests: a real sshd, throwaway keys and users, fake MicroK8s, k3s and kubeadm hosts."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.sshd import SshServer, SudoUsers, start_sshd

from apiserver.distro_machine import DistroMachine, distro_machine
from apiserver.fakehost import FakeHost
from apiserver.harness import Key, Machine


@pytest.fixture(scope="session")
def ssh_server() -> Iterator[SshServer]:
    server = start_sshd()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sudo_users(ssh_server: SshServer) -> Iterator[SudoUsers]:
    home = Path(tempfile.mkdtemp(prefix="irsa-users-"))
    users = SudoUsers().create(home)
    yield users
    users.remove()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def keys() -> list[Key]:
    """Three signing keys, made once per run: enough for rotation."""
    return [Key.generate() for _ in range(3)]


@pytest.fixture(scope="session")
def microk8s_key() -> Key:
    """MicroK8s's own service-account key (certs/serviceaccount.key)."""
    return Key.generate()


@pytest.fixture
def machine(ssh_server: SshServer, microk8s_key: Key, tmp_path: Path) -> Machine:
    """A fresh fake host for one test."""
    return Machine(ssh_server, FakeHost(tmp_path).create(microk8s_key.private_pem))


@pytest.fixture(scope="session")
def distro_key() -> Key:
    """The distribution's own service-account key (k3s service.key, kubeadm sa.key)."""
    return Key.generate()


@pytest.fixture(params=["k3s", "kubeadm"])
def distro(request, ssh_server: SshServer, distro_key: Key, tmp_path: Path) -> DistroMachine:
    """A fresh fake k3s or kubeadm host for one test."""
    return distro_machine(request.param, ssh_server, distro_key, tmp_path)

