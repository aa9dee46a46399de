"""The k3s and kubeadm host scripts over real SSH against fake hosts: the MicroK8s matrix, per distribution.

Every test runs once per distribution (the ``distro`` fixture). The fakes read
the resulting flags as k3s and the kubelet do (``distro_hosts.py``), so the
assertions are about what kube-apiserver would run with.
"""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from apiserver.distro_hosts import (
    K3S_CONFIG_FIXTURE,
    KUBEADM_MANIFEST_FIXTURE,
    NOT_READY,
    OLD_K3S,
    RESTART_FAILS,
    TOKEN_ISS,
    TOKEN_KID,
    kubeadm_apiserver_args,
    service_account_flags,
)
from apiserver.distro_machine import distro_machine
from apiserver.harness import AUDIENCE, ISSUER, host_config
from irsa.apiserver import k3s, kubeadm

OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"
# What each distribution passes by default (tests/fixtures): its issuer, its key, its audiences.
DEFAULTS = {
    "k3s": ("https://kubernetes.default.svc.cluster.local", "/var/lib/rancher/k3s/server/tls/service.key",
            ["https://kubernetes.default.svc.cluster.local", "k3s"]),
    "kubeadm": ("https://kubernetes.default.svc.cluster.local", "/etc/kubernetes/pki/sa.pub",
                ["https://kubernetes.default.svc.cluster.local"]),
}


def public_key_path(key) -> str:
    return f"/opt/k8s/irsa-sa-{key.kid}.pub"


def signing_key_path(key) -> str:
    return f"/opt/k8s/irsa-sa-{key.kid}.key"


def succeeded(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def failed(result) -> str:
    assert result.returncode != 0, f"expected a failure\n{result.stdout}\n{result.stderr}"
    return result.stderr


def configured_file(machine):
    """The one file irsa writes that the distribution reads: k3s's drop-in, kubeadm's manifest."""
    return machine.host.drop_in if machine.host.distribution == "k3s" else machine.host.manifest


def without_key_dir(tree: dict) -> dict:
    # irsa's key directory stays after revert (documented); everything else must be as it was.
    return {path: v for path, v in tree.items() if not path.startswith("opt")}


def test_first_apply_signs_with_ours_and_keeps_the_old_issuer_key_and_audiences(distro, keys):
    key = keys[0]
    out = succeeded(distro.apply(host_config([key])))

    issuer, default_key, audiences = DEFAULTS[distro.host.distribution]
    running = distro.host.running()
    assert running.issuers == [ISSUER, issuer]
    assert running.key_files == [public_key_path(key), default_key]
    assert running.signing_key_file == signing_key_path(key)
    # Tokens pods already hold carry the old audiences: they must stay accepted.
    assert set(running.api_audiences) == {*audiences, "https://kubernetes.default.svc"}

    signing = distro.host.path(signing_key_path(key))
    public = distro.host.path(public_key_path(key))
    assert signing.read_text() == key.private_pem and public.read_text() == key.public_pem
    assert (signing.stat().st_mode & 0o777, public.stat().st_mode & 0o777) == (0o600, 0o644)
    assert signing.stat().st_uid == 0
    assert distro.host.restarts() == 1
    assert f"self-check passed: new tokens carry iss {ISSUER} and kid {key.kid}" in out
    assert all(line.startswith("irsa: ") for line in out.splitlines())
    assert not [c for c in distro.host.calls() if "rollout" in c], "no workload is touched by default"


def test_k3s_first_apply_writes_only_its_own_drop_in(ssh_server, distro_key, tmp_path, keys):
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path)
    succeeded(machine.apply(host_config([keys[0]])))

    assert machine.host.path(k3s.CONFIG_DIR + "/config.yaml").read_bytes() == K3S_CONFIG_FIXTURE.read_bytes()
    assert sorted(p.name for p in machine.host.drop_in.parent.iterdir()) == ["99-irsa.yaml"]
    assert machine.host.drop_in.stat().st_mode & 0o777 == 0o600
    document = yaml.safe_load(machine.host.drop_in.read_text())
    assert list(document) == ["kube-apiserver-arg+"]
    assert document["kube-apiserver-arg+"] == [
        f"service-account-issuer-={ISSUER}",
        f"service-account-key-file-={public_key_path(keys[0])}",
        f"service-account-signing-key-file={signing_key_path(keys[0])}",
        "api-audiences+=https://kubernetes.default.svc",
    ]


def test_kubeadm_manifest_stays_a_valid_pod_and_backups_stay_out_of_the_manifest_folder(
    ssh_server, distro_key, tmp_path, keys
):
    machine = distro_machine("kubeadm", ssh_server, distro_key, tmp_path)
    succeeded(machine.apply(host_config([keys[0]])))

    pod = yaml.safe_load(machine.host.manifest.read_text())
    kubernetes_validate.validate(pod, "1.30.0", strict=True)
    original = yaml.safe_load(KUBEADM_MANIFEST_FIXTURE.read_text())
    command = pod["spec"]["containers"][0].pop("command")
    original_command = original["spec"]["containers"][0].pop("command")
    # kube-apiserver runs in a container: irsa's key folder is mounted into it, read-only.
    mounts = pod["spec"]["containers"][0].pop("volumeMounts")
    volumes = pod["spec"].pop("volumes")
    assert mounts == [{"mountPath": "/opt/k8s", "name": "irsa-keys", "readOnly": True},
                      *original["spec"]["containers"][0].pop("volumeMounts")]
    assert volumes == [{"hostPath": {"path": "/opt/k8s", "type": "DirectoryOrCreate"}, "name": "irsa-keys"},
                       *original["spec"].pop("volumes")]
    assert pod == original, "nothing else changes"
    assert [a for a in command if a not in original_command] == [
        f"--service-account-issuer={ISSUER}",
        f"--service-account-key-file={public_key_path(keys[0])}",
        f"--service-account-signing-key-file={signing_key_path(keys[0])}",
        "--api-audiences=https://kubernetes.default.svc,https://kubernetes.default.svc.cluster.local",
    ]
    assert "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key" not in command
    # The kubelet runs every file of the folder whose name does not start with a dot.
    assert sorted(p.name for p in machine.host.manifest.parent.iterdir()) == ["kube-apiserver.yaml"]
    assert not (machine.host.state / "stray-manifests").exists()
    assert machine.host.path(kubeadm.PRISTINE).read_bytes() == KUBEADM_MANIFEST_FIXTURE.read_bytes()
    for line in machine.host.manifest.read_text().splitlines():
        assert "#" not in line or line.lstrip().startswith("#"), f"a '#' after a flag: {line!r}"


def test_second_apply_writes_nothing_and_does_not_restart(distro, keys):
    config = host_config([keys[0]])
    succeeded(distro.apply(config))
    before = configured_file(distro).stat()
    key_before = distro.host.path(signing_key_path(keys[0])).stat()

    out = succeeded(distro.apply(config))

    after = configured_file(distro).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert distro.host.path(signing_key_path(keys[0])).stat().st_ino == key_before.st_ino
    assert distro.host.restarts() == 1
    assert "not written" in out and "no restart" in out and "self-check passed" in out


def test_issuer_change_replaces_only_our_issuer(distro, keys):
    succeeded(distro.apply(host_config([keys[0]])))
    succeeded(distro.apply(host_config([keys[0]], issuer_url=OTHER_ISSUER)))

    assert distro.host.running().issuers == [OTHER_ISSUER, DEFAULTS[distro.host.distribution][0]]
    assert distro.host.restarts() == 2


def test_key_rotation_adds_then_retires_keys(distro, keys):
    old, new = keys[0], keys[1]
    default_key = DEFAULTS[distro.host.distribution][1]
    succeeded(distro.apply(host_config([old])))

    out = succeeded(distro.apply(host_config([new, old])))
    running = distro.host.running()
    assert running.signing_key_file == signing_key_path(new)
    assert running.key_files == [public_key_path(new), public_key_path(old), default_key]
    assert f"kid {new.kid}" in out
    assert not distro.host.path(signing_key_path(old)).exists()
    assert distro.host.path(public_key_path(old)).exists()

    succeeded(distro.apply(host_config([new])))
    assert distro.host.running().key_files == [public_key_path(new), default_key]
    assert not distro.host.path(public_key_path(old)).exists()
    assert distro.host.restarts() == 3


def test_never_ready_rolls_back_to_the_previous_configuration(distro, keys):
    succeeded(distro.apply(host_config([keys[0]])))
    configured = configured_file(distro).read_bytes()
    distro.host.misbehave(NOT_READY)

    err = failed(distro.apply(host_config([keys[1]], issuer_url=OTHER_ISSUER)))

    assert configured_file(distro).read_bytes() == configured
    assert "within 2s" in err and "rolled back" in err and "ready with its previous configuration" in err
    assert not distro.host.path(signing_key_path(keys[1])).exists()
    assert distro.host.path(signing_key_path(keys[0])).exists()
    assert distro.host.restarts() == 3
    assert distro.host.running().issuers[0] == ISSUER


def test_k3s_failed_restart_on_first_apply_leaves_the_host_as_it_was(ssh_server, distro_key, tmp_path, keys):
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path)
    before = machine.host.tree()
    machine.host.misbehave(RESTART_FAILS)

    err = failed(machine.apply(host_config([keys[0]])))

    assert "systemctl restart k3s failed" in err and "rolled back" in err
    assert without_key_dir(machine.host.tree()) == without_key_dir(before)
    assert not list(machine.host.path("/opt/k8s").iterdir())


def test_k3s_too_old_for_prepended_flags_is_rolled_back(ssh_server, distro_key, tmp_path, keys):
    # A GetArgs without '-'/'+' names passes --service-account-issuer- on; kube-apiserver refuses it.
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path)
    before = machine.host.tree()
    machine.host.misbehave(OLD_K3S)

    err = failed(machine.apply(host_config([keys[0]])))

    # kube-apiserver's own words, from k3s's journal, and no wait for the timeout.
    assert "its journal (journalctl -u k3s) says: Error: unknown flag: --" in err
    assert "rolled back" in err and f"{machine.host.drop_in} was removed" in err
    assert without_key_dir(machine.host.tree()) == without_key_dir(before)
    assert machine.host.running().issuers == ["https://kubernetes.default.svc.cluster.local"]


@pytest.mark.parametrize(
    ("misbehaviour", "value", "expected"),
    [
        (TOKEN_ISS, "https://kubernetes.default.svc.cluster.local",
         "carry iss 'https://kubernetes.default.svc.cluster.local', expected"),
        (TOKEN_KID, "not-our-key", "carry kid 'not-our-key', expected the signing key's id"),
    ],
)
def test_self_check_failure_is_reported_and_rolled_back(distro, keys, misbehaviour, value, expected):
    before = distro.host.tree()
    distro.host.misbehave(misbehaviour, value)

    err = failed(distro.apply(host_config([keys[0]])))

    assert f"self-check failed: new tokens {expected}" in err and "rolled back" in err
    after = without_key_dir(distro.host.tree())
    if distro.host.distribution == "kubeadm":
        # The backups stay (as for MicroK8s) until a revert; the manifest is the original.
        after = {p: v for p, v in after.items() if not p.startswith("etc/kubernetes/irsa")}
    assert after == without_key_dir(before)
    assert distro.host.restarts() == 2


def test_revert_after_apply_gives_back_every_file_byte_for_byte(distro, keys):
    before = distro.host.tree()
    config = host_config([keys[1], keys[0]])
    succeeded(distro.apply(config))

    out = succeeded(distro.revert(config))

    assert without_key_dir(distro.host.tree()) == without_key_dir(before)
    assert not list(distro.host.path("/opt/k8s").iterdir())
    assert distro.host.restarts() == 2
    assert distro.host.running().issuers == [DEFAULTS[distro.host.distribution][0]]
    assert "configured as irsa found it" in out
    assert not distro.host.path("/var/lib/irsa/owner").exists(), "the host is no one's after a revert"

    succeeded(distro.revert(config))
    assert distro.host.restarts() == 2, "a second revert has nothing to do"


def test_restart_workloads_rolls_out_instead_of_deleting_pods(distro, keys):
    out = succeeded(distro.apply(host_config([keys[0]], restart_workloads=True)))

    program = "k3s" if distro.host.distribution == "k3s" else "kubectl"
    restarts = [c[c.index("rollout") + 2:] for c in distro.host.calls(program) if "rollout" in c]
    assert restarts == [["-n", "default", "deployment/web"], ["-n", "kube-system", "daemonset/coredns"]]
    assert not [c for c in distro.host.calls() if "delete" in c]
    assert "rolling restart started for 2 workloads" in out


def test_missing_distribution_is_named(distro, keys):
    if distro.host.distribution == "k3s":
        import shutil

        shutil.rmtree(distro.host.path(k3s.CONFIG_DIR))
        expected = f"k3s not found: {distro.host.path(k3s.CONFIG_DIR)} is missing"
    else:
        distro.host.manifest.unlink()
        expected = f"kubeadm control plane not found: {distro.host.manifest} is missing"

    err = failed(distro.apply(host_config([keys[0]])))

    assert expected in err
    assert distro.host.calls() == []


def test_non_root_user_with_passwordless_sudo(distro, keys, sudo_users):
    succeeded(distro.apply(host_config([keys[0]]), user=sudo_users.passwordless))

    assert distro.host.running().signing_key_file == signing_key_path(keys[0])
    assert distro.host.path(signing_key_path(keys[0])).stat().st_uid == 0
    assert distro.host.restarts() == 1


def test_sudo_asking_for_a_password_is_a_clear_error(distro, keys, sudo_users):
    before = distro.host.tree()

    err = failed(distro.apply(host_config([keys[0]]), user=sudo_users.with_password))

    assert f"the user {sudo_users.with_password} needs passwordless sudo" in err
    assert distro.host.tree() == before
    assert distro.host.calls() == []


def test_private_key_never_on_a_command_line_nor_in_the_output(distro, keys):
    key = keys[0]
    applied = distro.apply(host_config([key]))
    succeeded(applied)
    reverted = distro.revert(host_config([key]))
    succeeded(reverted)

    seen = distro.host.command_lines()
    assert "bash -s -- apply" in seen and "bash -s -- revert" in seen
    for text in (seen, applied.stdout, applied.stderr, reverted.stdout, reverted.stderr):
        assert key.body_line not in text
        assert "PRIVATE KEY" not in text


# --- what the user configured themselves --------------------------------------


USER_K3S_CONFIG = """\
write-kubeconfig-mode: "0644"
kube-apiserver-arg:
- "audit-log-path=/var/log/k3s-audit.log"
- "service-account-issuer=https://issuer.example.com"
- "api-audiences=https://issuer.example.com"
"""


def test_k3s_user_flags_stay_and_ours_come_first(ssh_server, distro_key, tmp_path, keys):
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path, config=USER_K3S_CONFIG)
    before = machine.host.tree()

    succeeded(machine.apply(host_config([keys[0]])))

    args = machine.host.running_args()
    running = service_account_flags(args)
    # The user's issuer replaced k3s's before irsa came; it stays accepted, after ours.
    assert running.issuers == [ISSUER, "https://issuer.example.com"]
    assert running.api_audiences == ["https://issuer.example.com", "https://kubernetes.default.svc"]
    assert "--audit-log-path=/var/log/k3s-audit.log" in args

    succeeded(machine.revert(host_config([keys[0]])))
    assert without_key_dir(machine.host.tree()) == without_key_dir(before)


def test_k3s_host_already_passing_our_issuer_is_refused_with_the_file_named(
    ssh_server, distro_key, tmp_path, keys
):
    config = f'kube-apiserver-arg:\n- "service-account-issuer={ISSUER}"\n'
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path, config=config)
    before = machine.host.tree()

    err = failed(machine.apply(host_config([keys[0]])))

    config_path = machine.host.path(k3s.CONFIG_DIR + "/config.yaml")
    assert f"{config_path} already passes --service-account-issuer={ISSUER}" in err
    assert machine.host.tree() == before
    assert machine.host.calls() == []


def test_k3s_host_already_passing_our_issuer_still_accepts_and_unsigns(ssh_server, distro_key, tmp_path, keys):
    # accept and unsign do not make irsa's issuer sign: the drop-in leaves out
    # the issuer the user's file passes instead of refusing.
    config = f'kube-apiserver-arg:\n- "service-account-issuer+={ISSUER}"\n'
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path, config=config)

    succeeded(machine.accept(host_config([keys[0]])))

    running = machine.host.running()
    assert running.issuers == ["https://kubernetes.default.svc.cluster.local", ISSUER], "once, not twice"
    assert public_key_path(keys[0]) in running.key_files
    assert f"{ISSUER}" not in machine.host.drop_in.read_text().split("kube-apiserver-arg+:")[1]
    err = failed(machine.run("sign", host_config([keys[0]])))
    assert "already passes --service-account-issuer" in err


def test_k3s_issuer_that_only_starts_like_ours_is_not_mistaken_for_it(ssh_server, distro_key, tmp_path, keys):
    config = f'kube-apiserver-arg:\n- "service-account-issuer={ISSUER}-old"\n'
    machine = distro_machine("k3s", ssh_server, distro_key, tmp_path, config=config)

    succeeded(machine.apply(host_config([keys[0]])))

    assert machine.host.running().issuers == [ISSUER, f"{ISSUER}-old"]


def test_kubeadm_host_set_up_by_hand_with_our_issuer_gets_it_once_and_back_on_revert(
    ssh_server, distro_key, tmp_path, keys
):
    original = KUBEADM_MANIFEST_FIXTURE.read_text().replace(
        "    - --service-account-issuer=https://kubernetes.default.svc.cluster.local\n",
        f"    - --service-account-issuer={ISSUER}\n"
        "    - --service-account-issuer=https://kubernetes.default.svc.cluster.local\n",
    )
    assert kubeadm_apiserver_args(original).count(f"--service-account-issuer={ISSUER}") == 1
    machine = distro_machine("kubeadm", ssh_server, distro_key, tmp_path, manifest=original)

    succeeded(machine.apply(host_config([keys[0]])))

    assert machine.host.running().issuers == [ISSUER, "https://kubernetes.default.svc.cluster.local"]
    succeeded(machine.revert(host_config([keys[0]])))
    assert machine.host.manifest.read_text() == original


def test_kubeadm_audiences_already_set_are_kept(ssh_server, distro_key, tmp_path, keys):
    original = KUBEADM_MANIFEST_FIXTURE.read_text().replace(
        "    - --authorization-mode=Node,RBAC\n",
        "    - --api-audiences=https://kubernetes.default.svc.cluster.local,vault\n"
        "    - --authorization-mode=Node,RBAC\n",
    )
    machine = distro_machine("kubeadm", ssh_server, distro_key, tmp_path, manifest=original)

    succeeded(machine.apply(host_config([keys[0]])))

    assert machine.host.running().api_audiences == [
        "https://kubernetes.default.svc", "https://kubernetes.default.svc.cluster.local", "vault",
    ]
    succeeded(machine.revert(host_config([keys[0]])))
    assert machine.host.manifest.read_text() == original


def test_kubeadm_key_dir_already_mounted_gets_no_second_mount(ssh_server, distro_key, tmp_path, keys):
    machine = distro_machine("kubeadm", ssh_server, distro_key, tmp_path)

    succeeded(machine.apply(host_config([keys[0]], key_dir="/etc/kubernetes/pki/irsa")))

    pod = yaml.safe_load(machine.host.manifest.read_text())
    assert "irsa-keys" not in machine.host.manifest.read_text()
    assert pod["spec"]["volumes"] == yaml.safe_load(KUBEADM_MANIFEST_FIXTURE.read_text())["spec"]["volumes"]
    assert machine.host.running().signing_key_file == f"/etc/kubernetes/pki/irsa/irsa-sa-{keys[0].kid}.key"


def test_kubeadm_manifest_without_an_issuer_is_left_alone(ssh_server, distro_key, tmp_path, keys):
    original = KUBEADM_MANIFEST_FIXTURE.read_text().replace(
        "    - --service-account-issuer=https://kubernetes.default.svc.cluster.local\n", ""
    )
    machine = distro_machine("kubeadm", ssh_server, distro_key, tmp_path, manifest=original)

    err = failed(machine.apply(host_config([keys[0]])))

    assert "has no '- --service-account-issuer=…' line" in err and "nothing was changed" in err
    assert machine.host.manifest.read_text() == original
    assert machine.host.restarts() == 0


def test_self_check_uses_the_distributions_own_client(distro, keys):
    succeeded(distro.apply(host_config([keys[0]])))
    token_request = ["create", "token", "default", "-n", "default", "--audience", AUDIENCE]
    if distro.host.distribution == "k3s":
        assert ["kubectl", *token_request] in distro.host.calls("k3s")
    else:
        server = ["--server", "https://192.0.2.10:6443"]  # this node's, from the manifest's annotation
        assert ["--kubeconfig", kubeadm.KUBECONFIG, *server, *token_request] in distro.host.calls("kubectl")


def test_docs_rollback_by_hand_of_kubeadm_lines_undoes_an_apply(ssh_server, distro_key, tmp_path, keys):
    import re
    import subprocess
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "distributions.md").read_text()
    program = re.search(r"sudo awk '(.*?)' kube-apiserver.yaml", docs, re.S)
    assert program, "docs/distributions.md shows how to remove irsa's lines from the manifest by hand"
    machine = distro_machine("kubeadm", ssh_server, distro_key, tmp_path)
    succeeded(machine.apply(host_config([keys[0]])))

    by_hand = subprocess.run(["awk", program.group(1), str(machine.host.manifest)], capture_output=True, check=True)

    assert by_hand.stdout == KUBEADM_MANIFEST_FIXTURE.read_bytes()
