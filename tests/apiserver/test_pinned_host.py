"""Host-script behaviours pinned down by what they leave on the host (issue 24).

Each test asserts on the files, flags, calls and messages a run leaves, for the
bugs a mutation audit found slipping through: what revert removes, kubeadm's
wait for a new container and the error it quotes, the key folder's mount, the
lock's timeout, in which modes workloads restart, and what retire keeps.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time

import pytest
import yaml

from apiserver import distro_hosts
from apiserver.distro_machine import distro_machine
from apiserver.fakehost import PAUSE_AT, service_account_flags
from apiserver.harness import DEFAULT_ISSUER, ISSUER, host_config

from irsa import apiserver
from irsa.apiserver import common

OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"


def succeeded(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def failed(result) -> str:
    assert result.returncode != 0, f"expected a failure\n{result.stdout}\n{result.stderr}"
    return result.stderr


def flags(machine):
    return service_account_flags(machine.host.args_path.read_text())


def rollouts(machine) -> int:
    return sum(c[:3] == ["kubectl", "rollout", "restart"] for c in machine.host.calls("microk8s"))


# --- what revert removes --------------------------------------------------------


def test_revert_removes_irsas_files_and_only_those(machine, keys):
    key_dir = machine.host.path("/opt/k8s")
    key_dir.mkdir(parents=True)
    # Files irsa did not write, some named almost like its own, stay byte for byte.
    foreign = {"sa.pub": b"theirs\n", "irsa-sa-notes.txt": b"notes\n", "irsa-sa.pub.bak": b"bak\n",
               "other-irsa-sa-x.pub": b"x\n"}
    for name, content in foreign.items():
        (key_dir / name).write_bytes(content)
    args_dir = machine.host.args_path.parent
    before = sorted(p.name for p in args_dir.iterdir())
    # Two configurations: the first one's key files are left on the host by the rotation.
    succeeded(machine.apply(host_config([keys[0]])))
    succeeded(machine.apply(host_config([keys[1], keys[0]])))
    written = {p.name for p in key_dir.iterdir()} - set(foreign)
    assert written == {f"irsa-sa-{keys[1].kid}.key", f"irsa-sa-{keys[1].kid}.pub", f"irsa-sa-{keys[0].kid}.pub"}

    out = succeeded(machine.revert(host_config([keys[1]])))

    assert {p.name: p.read_bytes() for p in key_dir.iterdir()} == foreign
    assert key_dir.is_dir(), "the key folder stays: it may hold other files"
    assert sorted(p.name for p in args_dir.iterdir()) == before, "the backups are gone, nothing else"
    assert not machine.host.path("/var/lib/irsa/owner").exists()
    for name in sorted(written):
        assert f"removed {key_dir / name}" in out
    assert "removed the backups" in out


def test_revert_with_the_distribution_gone_removes_only_irsas_key_files(machine, keys):
    succeeded(machine.apply(host_config([keys[0]])))
    key_dir = machine.host.path("/opt/k8s")
    (key_dir / "theirs.key").write_text("theirs\n")
    machine.host.args_path.unlink()

    out = succeeded(machine.revert(host_config([keys[0]])))

    assert "no flags to revert" in out
    assert sorted(p.name for p in key_dir.iterdir()) == ["theirs.key"]
    assert not machine.host.path("/var/lib/irsa/owner").exists()


def test_k3s_revert_keeps_a_config_folder_it_did_not_create(ssh_server, distro_key, tmp_path, keys):
    node = distro_machine("k3s", ssh_server, distro_key, tmp_path)
    drop_ins = node.host.path("/etc/rancher/k3s/config.yaml.d")
    drop_ins.mkdir()
    (drop_ins / "10-user.yaml").write_text("node-label+:\n- team=a\n")
    succeeded(node.apply(host_config([keys[0]])))
    assert node.host.drop_in.exists()

    succeeded(node.revert(host_config([keys[0]])))

    assert sorted(p.name for p in drop_ins.iterdir()) == ["10-user.yaml"]
    assert not node.host.path("/var/lib/irsa/k3s").exists() or not list(node.host.path("/var/lib/irsa/k3s").iterdir())


# --- kubeadm: a new container, its own error, the key folder's mount --------------


@pytest.fixture
def kubeadm(ssh_server, distro_key, tmp_path):
    return distro_machine("kubeadm", ssh_server, distro_key, tmp_path)


def test_kubeadm_waits_for_a_new_container_not_the_old_one_still_answering(kubeadm, keys):
    # The kubelet looks late: meanwhile the old container runs on and answers /readyz.
    # Late enough that a run taking the old container for the new one would also ask it for the
    # self-check's token.
    kubeadm.host.misbehave(distro_hosts.KUBELET_LATE, "3")

    out = succeeded(kubeadm.apply(host_config([keys[0]], ready_timeout_seconds=60)))

    assert "kube-apiserver is ready (container c2)" in out
    assert kubeadm.host.container() == "c2" and kubeadm.host.running().issuers[0] == ISSUER
    assert "self-check passed" in out


def test_kubeadm_quotes_the_new_containers_error_not_an_older_ones(kubeadm, keys):
    # An earlier kube-apiserver container exited with an error of its own.
    kubeadm.host.misbehave("exited", json.dumps(["c0"]))
    kubeadm.host.misbehave("c0.log", "Error: an old complaint\n")
    kubeadm.host.misbehave(distro_hosts.REFUSE, "invalid value for --service-account-issuer: new complaint")

    err = failed(kubeadm.apply(host_config([keys[0]])))

    assert "kube-apiserver refused to start; its container's log (crictl logs c2) says: " \
           "Error: invalid value for --service-account-issuer: new complaint" in err
    assert "old complaint" not in err
    assert "rolled back" in err and kubeadm.host.running().issuers[0] == "https://kubernetes.default.svc.cluster.local"


def test_kubeadm_does_not_quote_an_older_container_while_the_new_one_is_not_ready(kubeadm, keys):
    kubeadm.host.misbehave("exited", json.dumps(["c0"]))
    kubeadm.host.misbehave("c0.log", "Error: an old complaint\n")
    kubeadm.host.misbehave(distro_hosts.NEVER_READY_WITH, ISSUER)

    err = failed(kubeadm.apply(host_config([keys[0]])))

    assert "the kubelet's new kube-apiserver was not ready within 2s" in err
    assert "old complaint" not in err


def _pod(kubeadm) -> dict:
    return yaml.safe_load(kubeadm.host.manifest.read_text())["spec"]


@pytest.mark.parametrize("key_dir", ["/opt/k8s", "/etc/kubernetes/pki-irsa"])
def test_kubeadm_mounts_the_key_folder_read_only_at_its_own_path(kubeadm, keys, key_dir):
    succeeded(kubeadm.apply(host_config([keys[0]], key_dir=key_dir)))

    pod = _pod(kubeadm)
    mounts = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "irsa-keys"]
    volumes = [v for v in pod["volumes"] if v["name"] == "irsa-keys"]
    assert mounts == [{"mountPath": key_dir, "name": "irsa-keys", "readOnly": True}]
    assert volumes == [{"hostPath": {"path": key_dir, "type": "DirectoryOrCreate"}, "name": "irsa-keys"}]
    assert kubeadm.host.running().signing_key_file == f"{key_dir}/irsa-sa-{keys[0].kid}.key"


def test_kubeadm_key_folder_inside_a_mounted_folder_gets_no_mount_of_its_own(kubeadm, keys):
    succeeded(kubeadm.apply(host_config([keys[0]], key_dir="/etc/kubernetes/pki/irsa")))

    assert not [v for v in _pod(kubeadm)["volumes"] if v["name"] == "irsa-keys"]
    assert kubeadm.host.running().signing_key_file == f"/etc/kubernetes/pki/irsa/irsa-sa-{keys[0].kid}.key"


# --- the lock ------------------------------------------------------------------------


def test_the_lock_timeout_bounds_the_wait_not_the_ready_timeout(machine, keys):
    machine.host.misbehave(PAUSE_AT, "restart")
    first = machine.start("apply", host_config([keys[0]]))
    machine.host.wait_for("paused")

    started = time.monotonic()
    late = machine.apply(host_config([keys[0]], lock_timeout_seconds=1, ready_timeout_seconds=90))
    waited = time.monotonic() - started

    machine.host.release()
    first.communicate(timeout=120)
    assert "another irsa run still holds" in failed(late) and "after 1s" in late.stderr
    assert "waiting up to 1s" in late.stdout
    assert waited < 60, f"the late run waited {waited:.0f}s"


def test_the_default_lock_timeout_is_two_ready_timeouts_and_two_minutes(keys):
    inputs = common.shell_inputs(host_config([keys[0]], ready_timeout_seconds=30))
    assert "IRSA_READY_TIMEOUT=30\n" in inputs and "IRSA_LOCK_TIMEOUT=180\n" in inputs
    inputs = common.shell_inputs(host_config([keys[0]], lock_timeout_seconds=7))
    assert "IRSA_LOCK_TIMEOUT=7\n" in inputs


# --- restarting workloads: only when irsa signs and something changed ---------------


def test_workloads_restart_only_where_the_signer_changes_to_irsa_or_irsa_is_removed(machine, keys):
    config = host_config([keys[0]], restart_workloads=True)
    counts = []
    for mode in ("accept", "accept", "sign", "sign", "unsign", "unsign", "revert"):
        succeeded(machine.run(mode, config))
        counts.append(rollouts(machine))
    # Two workloads each time: accept keeps the host's signer, unsign gives it back (tokens pods hold
    # stay valid either way); sign switches to irsa's issuer; revert removes irsa's lines.
    assert counts == [0, 0, 2, 2, 2, 2, 4]


def test_workloads_do_not_restart_when_the_option_is_off(machine, keys):
    config = host_config([keys[0]])
    for mode in ("sign", "unsign", "revert"):
        succeeded(machine.run(mode, config))
    assert rollouts(machine) == 0


# --- retire: what it keeps, and when it may run --------------------------------------


def test_retire_keeps_this_configs_issuer_and_keys_and_the_hosts_own(machine, keys):
    old = host_config([keys[0]])
    new = host_config([keys[1]], issuer_url=OTHER_ISSUER)
    succeeded(machine.run("apply", old))
    succeeded(machine.run("accept", new))
    succeeded(machine.run("sign", new))
    assert set(flags(machine).issuers) == {OTHER_ISSUER, ISSUER, DEFAULT_ISSUER}

    succeeded(machine.run("retire", new))

    after = flags(machine)
    assert after.issuers[0] == OTHER_ISSUER
    assert set(after.issuers) == {OTHER_ISSUER, DEFAULT_ISSUER}, "the host's own issuer stays, irsa's old one goes"
    ours = [f for f in after.key_files if "/irsa-sa-" in f]
    assert ours == [f"/opt/k8s/irsa-sa-{keys[1].kid}.pub"]
    assert after.signing_key_file == f"/opt/k8s/irsa-sa-{keys[1].kid}.key"
    assert not machine.host.path(f"/opt/k8s/irsa-sa-{keys[0].kid}.pub").exists()


@pytest.mark.parametrize(("key", "issuer"), [(1, OTHER_ISSUER), (0, OTHER_ISSUER), (1, ISSUER)],
                         ids=["new-key-and-issuer", "new-issuer", "new-key"])
def test_retire_before_sign_is_refused_and_changes_nothing(machine, keys, key, issuer):
    old = host_config([keys[0]])
    new = host_config([keys[key]], issuer_url=issuer)
    succeeded(machine.run("apply", old))
    succeeded(machine.run("accept", new))
    before = machine.host.args_path.read_bytes()
    restarts = machine.host.restarts()

    err = failed(machine.run("retire", new))

    assert "retire" in err and issuer in err
    assert machine.host.args_path.read_bytes() == before
    assert machine.host.restarts() == restarts
    assert set(flags(machine).issuers) == {ISSUER, issuer, DEFAULT_ISSUER}


def test_retire_keeps_the_previous_issuers_of_a_move(machine, keys):
    config = host_config([keys[0]], issuer_url=OTHER_ISSUER, previous_issuer_urls=(ISSUER,))
    succeeded(machine.run("apply", host_config([keys[0]])))
    succeeded(machine.run("sign", config))

    succeeded(machine.run("retire", config))

    assert flags(machine).issuers[0] == OTHER_ISSUER
    assert set(flags(machine).issuers) == {OTHER_ISSUER, ISSUER, DEFAULT_ISSUER}


# --- keys an earlier run left, and the follower of a detached run --------------------


@pytest.mark.parametrize("missing", ["key", "pub"])
def test_accept_refuses_when_a_key_file_of_the_earlier_run_is_gone(machine, keys, missing):
    succeeded(machine.run("apply", host_config([keys[0]])))
    machine.host.path(f"/opt/k8s/irsa-sa-{keys[0].kid}.{missing}").unlink()
    before = machine.host.args_path.read_bytes()
    restarts = machine.host.restarts()

    err = failed(machine.run("accept", host_config([keys[1]], issuer_url=OTHER_ISSUER)))

    what = "the key this node signs with" if missing == "key" else "the verification key"
    assert f"{what}" in err and f"/opt/k8s/irsa-sa-{keys[0].kid}.{missing}" in err and "missing" in err
    assert machine.host.args_path.read_bytes() == before and machine.host.restarts() == restarts


def _follow(log, *reads: str) -> list[str]:
    """What the follower prints of a log that grows by ``reads``, one look per read, then a last look."""
    script = ["set -euo pipefail", f"source {common.COMMON_SHELL}", "IRSA_FOLLOWED=0"]
    for text in reads:
        script += [f"printf %s {shlex.quote(text)} >>{shlex.quote(str(log))}",
                   f"irsa_print_new_lines {shlex.quote(str(log))} complete", "echo '|'"]
    script += [f"irsa_print_new_lines {shlex.quote(str(log))} all"]
    result = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True, check=True)
    return result.stdout.split("|\n")


def test_the_follower_prints_whole_lines_once_and_the_last_one_at_the_end(tmp_path):
    log = tmp_path / "run.log"
    assert _follow(log, "irsa: one\nirsa: tw", "o\nirsa: thr", "ee") == [
        "irsa: one\n", "irsa: two\n", "", "irsa: three\n"]


def test_the_script_run_by_hand_without_root_says_so_and_touches_nothing(machine, keys):
    # command_line goes through sudo; a script started by hand as another user must stop at once.
    script = apiserver.host_script("microk8s", host_config([keys[0]]))
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    before = machine.host.args_path.read_bytes()
    result = subprocess.run([*drop, "bash", "-s", "--", "apply"], input=script, capture_output=True, text=True,
                            env={"PATH": f"{machine.host.bin}:/usr/bin:/bin", "IRSA_HOST_ROOT": str(machine.host.root)},
                            timeout=60)
    assert result.returncode == 1
    assert result.stderr == "irsa: error on node: must run as root (the command line goes through sudo -n for other users)\n"
    assert machine.host.args_path.read_bytes() == before and machine.host.calls() == []
