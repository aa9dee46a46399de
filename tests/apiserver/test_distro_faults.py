"""k3s and kubeadm: the SSH session cut at each step of a run (as test_faults.py does for MicroK8s).

The run on the host is detached from the SSH session (common.sh), so killing
the ssh client at any step leaves the host applied and verified, or rolled
back; the next run reports what the cut run did and converges.
"""

from __future__ import annotations

import pytest

from apiserver.distro_hosts import NEVER_READY_WITH, PAUSE_AT
from apiserver.distro_machine import distro_machine
from apiserver.harness import ISSUER, host_config
from apiserver.test_distro_hosts import without_key_dir

OWN_ISSUER = "https://kubernetes.default.svc.cluster.local"
NOT_READY_MESSAGE = {
    "k3s": "irsa: error on node: k3s's API server did not become ready",
    "kubeadm": "irsa: error on node: the kubelet's new kube-apiserver was not ready",
}
# Where each distribution's run can be held: k3s has a restart command, kubeadm
# none (the kubelet acts on the file). k3s asks for a token before the change
# too (to note its own issuer), so the self-check is its second token.
STEPS = [
    ("k3s", "restart", True),
    ("k3s", "status", True),
    ("k3s", "status", False),
    ("k3s", "token@2", True),
    ("kubeadm", "status", True),
    ("kubeadm", "status", False),
    ("kubeadm", "token", True),
]


@pytest.mark.parametrize(("distribution", "step", "comes_back"), STEPS)
def test_cutting_the_session_at_any_step_leaves_the_host_applied_or_rolled_back(
    ssh_server, distro_key, tmp_path, keys, distribution, step, comes_back
):
    machine = distro_machine(distribution, ssh_server, distro_key, tmp_path)
    before = machine.host.tree()
    config = host_config([keys[0]])
    machine.host.misbehave(PAUSE_AT, step)
    if not comes_back:
        machine.host.misbehave(NEVER_READY_WITH, ISSUER)
    client = machine.start("apply", config)
    machine.host.wait_for("paused")

    client.kill()
    client.wait()
    machine.host.release()
    machine.host.wait_for_runs_to_end(1)

    log = next(machine.host.runs().glob("*.log"))
    if comes_back:
        assert machine.host.running().issuers[0] == ISSUER, "applied"
        assert log.read_text().count("self-check passed") == 1, "and verified"
    else:
        # The backups stay until a revert (as for MicroK8s); the key folder stays, empty.
        after = {k: v for k, v in without_key_dir(machine.host.tree()).items() if not k.startswith("etc/kubernetes/irsa")}
        assert after == without_key_dir(before), "rolled back: every file as irsa found it"
        assert not list(machine.host.path("/opt/k8s").iterdir())
        assert machine.host.running().issuers == [OWN_ISSUER]
    assert log.stat().st_mode & 0o777 == 0o600
    assert machine.host.path("/var/lib/irsa").stat().st_mode & 0o777 == 0o700
    assert not list(machine.host.runs().glob("*.sh")), "the run's copy of the script (keys) is gone"

    (machine.host.state / NEVER_READY_WITH).unlink(missing_ok=True)
    second = machine.apply(config)
    assert second.returncode == 0, second.stderr
    assert "an earlier run lost its connection before it ended" in second.stdout
    assert ("irsa: done (apply)" if comes_back else NOT_READY_MESSAGE[distribution]) in second.stdout
    assert machine.host.running().issuers[0] == ISSUER
