"""The MicroK8s host script run over real SSH against a fake host (stub snap and microk8s)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from apiserver.fakehost import (
    FIXTURE,
    NEVER_READY_WITH,
    NOT_READY,
    RESTART_FAILS,
    SNAP_DATA,
    TOKEN_ISS,
    TOKEN_KID,
    service_account_flags,
)
from apiserver.harness import AUDIENCE, DEFAULT_ISSUER, ISSUER, Machine, host_config
from irsa.apiserver import microk8s

ORIGINAL = FIXTURE.read_bytes()
OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"


def public_key_path(key) -> str:
    return f"/opt/k8s/irsa-sa-{key.kid}.pub"


def signing_key_path(key) -> str:
    return f"/opt/k8s/irsa-sa-{key.kid}.key"


def flags(machine: Machine):
    return service_account_flags(machine.host.args_path.read_text())


def succeeded(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def failed(result) -> str:
    assert result.returncode != 0, f"expected a failure\n{result.stdout}\n{result.stderr}"
    return result.stderr


def unmanaged_lines(text: str) -> list[str]:
    """The file's lines other than irsa's markers and the lines they mark, uncommented."""
    lines, out = text.split("\n"), []
    skip = uncomment = False
    for line in lines:
        if skip:
            skip = False
        elif uncomment:
            uncomment = False
            out.append(line.removeprefix("#"))
        elif line == microk8s.MARK_ADDED:
            skip = True
        elif line == microk8s.MARK_COMMENTED:
            uncomment = True
        else:
            out.append(line)
    return out


def test_first_apply_configures_the_api_server_and_restarts_once(machine, keys):
    key = keys[0]
    out = succeeded(machine.apply(host_config([key])))

    result = flags(machine)
    # Ours signs; the default issuer stays accepted for tokens pods already hold.
    assert result.issuers == [ISSUER, DEFAULT_ISSUER]
    assert result.key_files == [f"{SNAP_DATA}/certs/serviceaccount.key", public_key_path(key)]
    assert result.signing_key_file == signing_key_path(key)
    assert result.api_audiences == [DEFAULT_ISSUER]

    text = machine.host.args_path.read_text()
    assert unmanaged_lines(text) == ORIGINAL.decode().split("\n")
    for line in text.split("\n"):
        assert "#" not in line or line.startswith("#"), f"a '#' after a flag: {line!r}"
    assert f"{microk8s.MARK_COMMENTED}\n#--service-account-signing-key-file=${{SNAP_DATA}}/certs/serviceaccount.key\n" in text

    signing = machine.host.path(signing_key_path(key))
    public = machine.host.path(public_key_path(key))
    assert signing.read_text() == key.private_pem and public.read_text() == key.public_pem
    assert (signing.stat().st_mode & 0o777, public.stat().st_mode & 0o777) == (0o600, 0o644)
    assert signing.stat().st_uid == 0
    assert machine.host.path(microk8s.ARGS_FILE + microk8s.PRISTINE_SUFFIX).read_bytes() == ORIGINAL

    assert machine.host.restarts() == 1
    assert machine.host.calls("microk8s")[0][:2] == ["status", "--wait-ready"]
    assert ["microk8s", "kubectl", "create", "token", "default", "-n", "default", "--audience", AUDIENCE] in machine.host.calls()
    assert not [c for c in machine.host.calls() if "rollout" in c], "no workload is touched by default"
    assert f"self-check passed: new tokens carry iss {ISSUER} and kid {key.kid}" in out
    assert all(line.startswith("irsa: ") for line in out.splitlines())


def test_second_apply_writes_nothing_and_does_not_restart(machine, keys):
    config = host_config([keys[0]])
    succeeded(machine.apply(config))
    before = machine.host.args_path.stat()
    key_before = machine.host.path(signing_key_path(keys[0])).stat()

    out = succeeded(machine.apply(config))

    after = machine.host.args_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert machine.host.path(signing_key_path(keys[0])).stat().st_ino == key_before.st_ino
    assert machine.host.restarts() == 1
    assert "not written" in out and "no restart" in out
    assert "self-check passed" in out


def test_issuer_change_replaces_only_our_issuer(machine, keys):
    succeeded(machine.apply(host_config([keys[0]])))
    succeeded(machine.apply(host_config([keys[0]], issuer_url=OTHER_ISSUER)))

    assert flags(machine).issuers == [OTHER_ISSUER, DEFAULT_ISSUER]
    assert unmanaged_lines(machine.host.args_path.read_text()) == ORIGINAL.decode().split("\n")
    assert machine.host.path(microk8s.ARGS_FILE + microk8s.PRISTINE_SUFFIX).read_bytes() == ORIGINAL
    assert machine.host.restarts() == 2


def test_key_rotation_adds_then_retires_keys(machine, keys):
    old, new = keys[0], keys[1]
    succeeded(machine.apply(host_config([old])))

    # Rotation: the new key signs, the old one still verifies tokens it signed.
    out = succeeded(machine.apply(host_config([new, old])))
    result = flags(machine)
    assert result.signing_key_file == signing_key_path(new)
    assert result.key_files[1:] == [public_key_path(new), public_key_path(old)]
    assert f"kid {new.kid}" in out
    # Only the signing key's private half is kept on the host: the old one goes once the change works.
    assert not machine.host.path(signing_key_path(old)).exists()
    assert machine.host.path(public_key_path(old)).exists()

    succeeded(machine.apply(host_config([new])))
    assert flags(machine).key_files[1:] == [public_key_path(new)]
    assert not machine.host.path(public_key_path(old)).exists()
    assert machine.host.restarts() == 3


def test_never_ready_rolls_back_to_the_previous_file(machine, keys):
    succeeded(machine.apply(host_config([keys[0]])))
    configured = machine.host.args_path.read_bytes()
    machine.host.misbehave(NEVER_READY_WITH, OTHER_ISSUER)

    result = machine.apply(host_config([keys[1]], issuer_url=OTHER_ISSUER))

    err = failed(result)
    args = machine.host.args_path
    assert args.read_bytes() == configured
    assert "did not become ready within 2s" in err and "rolled back" in err
    assert f"{args} holds the previous file again" in err
    assert f"{args}{microk8s.PREVIOUS_SUFFIX}" in err
    # The key file made for the failed change is gone; the running one stays.
    assert not machine.host.path(signing_key_path(keys[1])).exists()
    assert machine.host.path(signing_key_path(keys[0])).exists()
    assert machine.host.restarts() == 3
    assert service_account_flags((machine.host.state / "running-args").read_text()).issuers[0] == ISSUER


def test_a_short_not_ready_spell_is_waited_out(machine, keys):
    machine.host.misbehave(NOT_READY, "1")

    out = succeeded(machine.apply(host_config([keys[0]])))

    assert "MicroK8s is ready" in out and machine.host.restarts() == 1


def test_failed_restart_on_first_apply_leaves_the_original(machine, keys):
    machine.host.misbehave(RESTART_FAILS)

    err = failed(machine.apply(host_config([keys[0]])))

    assert machine.host.args_path.read_bytes() == ORIGINAL
    assert "snap restart microk8s.daemon-kubelite failed" in err and "rolled back" in err
    assert not list(machine.host.path("/opt/k8s").iterdir())


@pytest.mark.parametrize(
    ("misbehaviour", "value", "expected"),
    [
        (TOKEN_ISS, "https://kubernetes.default.svc", "carry iss 'https://kubernetes.default.svc', expected"),
        (TOKEN_KID, "not-our-key", "carry kid 'not-our-key', expected the signing key's id"),
    ],
)
def test_self_check_failure_is_reported_and_rolled_back(machine, keys, misbehaviour, value, expected):
    machine.host.misbehave(misbehaviour, value)

    err = failed(machine.apply(host_config([keys[0]])))

    assert f"self-check failed: new tokens {expected}" in err
    assert "rolled back" in err
    assert machine.host.args_path.read_bytes() == ORIGINAL


def test_revert_after_apply_restores_the_original_bytes(machine, keys):
    config = host_config([keys[1], keys[0]])
    succeeded(machine.apply(config))

    out = succeeded(machine.revert(config))

    assert machine.host.args_path.read_bytes() == ORIGINAL
    assert not list(machine.host.path("/opt/k8s").iterdir())
    assert not machine.host.path(microk8s.ARGS_FILE + microk8s.PRISTINE_SUFFIX).exists()
    assert machine.host.restarts() == 2
    assert "configured as irsa found it" in out

    succeeded(machine.revert(config))
    assert machine.host.restarts() == 2, "a second revert has nothing to do"


def test_apply_and_revert_keep_an_odd_file_byte_for_byte(machine, keys):
    # No final newline, an audiences flag of the user's, the issuer on the last line.
    odd = (b"--secure-port=16443\n--api-audiences=mine\n"
           b"--service-account-signing-key-file=${SNAP_DATA}/certs/serviceaccount.key\n"
           b"--service-account-issuer=https://kubernetes.default.svc")
    machine.host.args_path.write_bytes(odd)
    (machine.host.state / "running-args").write_bytes(odd)
    config = host_config([keys[0]])

    succeeded(machine.apply(config))
    text = machine.host.args_path.read_text()
    assert f"{microk8s.MARK_COMMENTED}\n#--api-audiences=mine\n" in text
    assert flags(machine).api_audiences == [DEFAULT_ISSUER]
    assert flags(machine).issuers == [ISSUER, DEFAULT_ISSUER]
    assert text.endswith("\n--service-account-issuer=https://kubernetes.default.svc")

    succeeded(machine.revert(config))
    assert machine.host.args_path.read_bytes() == odd


def test_restart_workloads_rolls_out_instead_of_deleting_pods(machine, keys):
    out = succeeded(machine.apply(host_config([keys[0]], restart_workloads=True)))

    restarts = [c[3:] for c in machine.host.calls("microk8s") if c[:3] == ["kubectl", "rollout", "restart"]]
    assert restarts == [["-n", "default", "deployment/web"], ["-n", "kube-system", "daemonset/calico-node"]]
    assert not [c for c in machine.host.calls() if "delete" in c]
    assert "rolling restart started for 2 workloads" in out


def test_missing_microk8s_is_named(machine, keys):
    machine.host.args_path.unlink()

    err = failed(machine.apply(host_config([keys[0]])))

    assert f"MicroK8s not found: {machine.host.args_path} is missing" in err
    assert machine.host.calls() == []


def test_non_root_user_with_passwordless_sudo(machine, keys, sudo_users):
    succeeded(machine.apply(host_config([keys[0]]), user=sudo_users.passwordless))

    assert flags(machine).signing_key_file == signing_key_path(keys[0])
    assert machine.host.path(signing_key_path(keys[0])).stat().st_uid == 0
    assert machine.host.restarts() == 1


def test_sudo_asking_for_a_password_is_a_clear_error(machine, keys, sudo_users):
    err = failed(machine.apply(host_config([keys[0]]), user=sudo_users.with_password))

    assert f"the user {sudo_users.with_password} needs passwordless sudo" in err
    assert machine.host.args_path.read_bytes() == ORIGINAL
    assert machine.host.calls() == []


def test_private_key_never_on_a_command_line_nor_in_the_output(machine, keys):
    key = keys[0]
    result = machine.apply(host_config([key]))
    succeeded(result)
    result_revert = machine.revert(host_config([key]))
    succeeded(result_revert)

    seen = machine.host.command_lines()
    # The snapshots did see the script's own processes while they ran.
    assert "bash -s -- apply" in seen and "bash -s -- revert" in seen
    for text in (seen, result.stdout, result.stderr, result_revert.stdout, result_revert.stderr):
        assert key.body_line not in text
        assert "PRIVATE KEY" not in text


def test_readme_rollback_by_hand_undoes_an_apply(machine, keys):
    readme = (Path(__file__).resolve().parents[2] / "docs" / "host-script.md").read_text()
    program = re.search(r"sudo awk '(.*?)' kube-apiserver", readme, re.S)
    assert program, "docs/host-script.md shows how to remove irsa's lines by hand"
    succeeded(machine.apply(host_config([keys[0]])))

    by_hand = subprocess.run(["awk", program.group(1), str(machine.host.args_path)],
                             capture_output=True, check=True)

    assert by_hand.stdout == ORIGINAL


def test_a_move_between_issuer_hosts_keeps_the_previous_issuer_accepted(machine, keys):
    """irsa:previousIssuerHosts: the node signs for the new issuer and still accepts the old
    one, so Kubernetes API tokens that pods hold keep working; dropping it retires it."""
    succeeded(machine.apply(host_config([keys[0]])))
    moving = host_config([keys[0]], issuer_url=OTHER_ISSUER, previous_issuer_urls=(ISSUER,))
    succeeded(machine.apply(moving))
    assert flags(machine).issuers == [OTHER_ISSUER, ISSUER, DEFAULT_ISSUER]
    # Nothing changes on a second run.
    restarts = machine.host.restarts()
    succeeded(machine.apply(moving))
    assert machine.host.restarts() == restarts

    succeeded(machine.apply(host_config([keys[0]], issuer_url=OTHER_ISSUER)))
    assert flags(machine).issuers == [OTHER_ISSUER, DEFAULT_ISSUER]
    succeeded(machine.revert(host_config([keys[0]], issuer_url=OTHER_ISSUER)))
    assert machine.host.args_path.read_bytes() == ORIGINAL
