"""The detached run on a host whose PID 1 is systemd: the ``systemd-run`` branch of irsa_detach.

Everywhere else the tests run on a fake root (``IRSA_HOST_ROOT``), where the
script detaches with ``setsid`` and the run keeps the SSH session's
environment. Here the script runs as on a real host — its own root, systemd
as PID 1 — and ``systemd-run`` is a stand-in that gives the unit the
environment systemd gives a transient service (tests/apiserver/systemd_run.py):
only what ``--setenv`` passes gets through. Each distribution's programs sit
where their packages put them, so the run must find ``/snap/bin/microk8s``,
``/usr/local/bin/k3s`` and ``/usr/local/bin/crictl`` from that environment.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from support.unavailable import skip_or_fail as unavailable

from apiserver import fakehost, systemd_run
from apiserver.distro_hosts import K3sHost, KubeadmHost
from apiserver.fakehost import FakeHost
from apiserver.harness import ISSUER, host_config

from irsa import apiserver

# The program each distribution's run must find, in the folder its package puts it.
FOUND = {"microk8s": "microk8s", "k3s": "k3s", "kubeadm": "crictl"}


def _host(distribution: str, key, base):
    if distribution == "microk8s":
        return FakeHost(base).create(key.private_pem)
    if distribution == "k3s":
        return K3sHost(base).create(key.private_pem)
    return KubeadmHost(base).create(key.private_pem, key.public_pem)


def _signing_issuer(distribution: str, host) -> str:
    if distribution == "microk8s":
        return fakehost.service_account_flags((host.state / "running-args").read_text()).issuers[0]
    return host.running().issuers[0]


@pytest.fixture(scope="module")
def mount_namespaces() -> None:
    """The host of its own root needs a private mount namespace: root and unshare(1)."""
    if os.geteuid() != 0:
        unavailable("the systemd host is built in a mount namespace of its own: run as root")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        unavailable(f"unshare --mount fails here: {probe.stderr.strip()}")


@pytest.mark.parametrize("distribution", ["microk8s", "k3s", "kubeadm"])
def test_systemd_run_unit_finds_the_distributions_programs(distribution, keys, distro_key, tmp_path, mount_namespaces):
    host = _host(distribution, distro_key, tmp_path)
    node = systemd_run.SystemdHost(distribution, host, tmp_path)
    config = host_config(keys[:1])

    result = node.run("apply", apiserver.host_script(distribution, config))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "irsa: done (apply)" in result.stdout
    # The run went through systemd-run once, as a unit of its own running the run file.
    calls = node.calls()
    assert len(calls) == 1, calls
    call = calls[0]
    assert call["unit"].startswith("irsa-") and call["unit"].endswith("-apply")
    assert call["command"][0] == "bash"
    assert call["command"][1].startswith("/var/lib/irsa/runs/") and call["command"][1].endswith(".sh")
    # The unit got systemd's environment plus the login's PATH, and nothing else of the login.
    environment = call["environment"]
    assert environment["PATH"] == systemd_run.LOGIN_PATH
    assert not {"HOME", "USER", "SSH_CONNECTION", "LOGNAME", "SHELL"} & set(environment)
    # The detached run found the distribution's own program where its package puts it ...
    program = FOUND[distribution]
    assert host.calls(program), f"the run never called {program}"
    # ... and did the whole change: the API server signs with irsa's issuer.
    assert _signing_issuer(distribution, host) == ISSUER
    # The run's log is where the follower read it, and the run recorded its exit status.
    runs = host.path("/var/lib/irsa/runs")
    assert [p.read_text() for p in runs.glob("*.exit")] == ["0\n"]
    assert "irsa: done (apply)" in next(runs.glob("*.log")).read_text()


def test_the_stand_in_gives_the_unit_systemds_environment_not_the_callers():
    caller = {"PATH": "/snap/bin:/usr/bin", "HOME": "/root", "SSH_CONNECTION": "x", "KEEP": "kept"}
    options, command = systemd_run.parse(
        ["--quiet", "--collect", "--unit", "irsa-1", "--setenv=KEEP", "-p", "Environment=A=1 B=2",
         "-p", "StandardInput=null", "bash", "file.sh"])
    env = systemd_run.unit_environment(options, caller)
    assert command == ["bash", "file.sh"]
    assert env["PATH"] == systemd_run.MANAGER_PATH and "/snap/bin" not in env["PATH"].split(":")
    assert {k: env[k] for k in ("KEEP", "A", "B")} == {"KEEP": "kept", "A": "1", "B": "2"}
    assert not {"HOME", "SSH_CONNECTION"} & set(env)
    options, _ = systemd_run.parse(["--setenv=PATH=/snap/bin:/usr/bin", "bash"])
    assert systemd_run.unit_environment(options, caller)["PATH"] == "/snap/bin:/usr/bin"
    with pytest.raises(SystemExit, match="unknown option"):
        systemd_run.parse(["--scope", "bash"])
