"""A host on which someone followed the manual procedure, and an API server that refuses its flags.

The hand-made file is the real MicroK8s default file with the seed
walkthrough's steps applied: MicroK8s's service-account lines commented out,
its own issuer, key files and audiences appended. The fake kube-apiserver
refuses a repeated issuer and a missing key file, as the real one does, and
writes its error to kubelite's (fake) journal.
"""

from __future__ import annotations

import pytest

from apiserver.fakehost import FIXTURE, service_account_flags
from apiserver.harness import DEFAULT_ISSUER, ISSUER, Key, Machine, host_config

HAND_PUBLIC = "/opt/k8s/public.pem"
HAND_PRIVATE = "/opt/k8s/private_key.pem"
OTHER_ISSUER = "https://raw.githubusercontent.com/someone/oidc-issuer/refs/heads/main"


def by_hand(issuer: str) -> bytes:
    """The manual procedure on the default file: defaults commented out, its flags appended."""
    text = FIXTURE.read_text()
    for line in ("--service-account-key-file=${SNAP_DATA}/certs/serviceaccount.key",
                 "--service-account-issuer='https://kubernetes.default.svc'",
                 "--service-account-signing-key-file=${SNAP_DATA}/certs/serviceaccount.key"):
        assert line in text
        text = text.replace(line + "\n", "#" + line + "\n")
    text += (f"--api-audiences=https://kubernetes.default.svc\n--service-account-issuer={issuer}\n"
             f"--service-account-key-file={HAND_PUBLIC}\n--service-account-signing-key-file={HAND_PRIVATE}\n")
    return text.encode()


@pytest.fixture(scope="module")
def hand_key() -> Key:
    return Key.generate()


def configure_by_hand(machine: Machine, hand_key: Key, issuer: str) -> bytes:
    text = by_hand(issuer)
    machine.host.args_path.write_bytes(text)
    (machine.host.state / "running-args").write_bytes(text)
    machine.host.path(HAND_PUBLIC).parent.mkdir(parents=True, exist_ok=True)
    machine.host.path(HAND_PUBLIC).write_text(hand_key.public_pem)
    machine.host.path(HAND_PRIVATE).write_text(hand_key.private_pem)
    return text


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def running(machine: Machine):
    return service_account_flags((machine.host.state / "running-args").read_text())


@pytest.mark.parametrize(("hand_issuer", "issuers"), [
    (ISSUER, [ISSUER]),  # the same repository and branch: the same URL, given once
    (OTHER_ISSUER, [ISSUER, OTHER_ISSUER]),
])
def test_hand_configured_host_is_taken_over_and_given_back_byte_for_byte(machine, keys, hand_key,
                                                                         hand_issuer, issuers):
    hand = configure_by_hand(machine, hand_key, hand_issuer)
    config = host_config([keys[0]])

    ok(machine.apply(config))

    flags = running(machine)  # what the (fake) kube-apiserver accepted at its restart
    assert flags.issuers == issuers, "no repeated issuer, ours signs"
    assert HAND_PUBLIC in flags.key_files, "tokens the hand-made key signed stay valid"
    assert flags.signing_key_file == f"/opt/k8s/irsa-sa-{keys[0].kid}.key"
    assert flags.api_audiences == [DEFAULT_ISSUER]
    restarts = machine.host.restarts()

    out = ok(machine.apply(config))
    assert "not written" in out and machine.host.restarts() == restarts

    ok(machine.revert(config))
    assert machine.host.args_path.read_bytes() == hand
    assert machine.host.path(HAND_PUBLIC).read_text() == hand_key.public_pem
    assert machine.host.path(HAND_PRIVATE).read_text() == hand_key.private_pem
    assert sorted(p.name for p in machine.host.path("/opt/k8s").iterdir()) == ["private_key.pem", "public.pem"]
    assert running(machine).signing_key_file == HAND_PRIVATE


def test_a_refused_flag_is_quoted_from_the_journal_without_waiting_for_the_timeout(machine, keys, hand_key):
    hand = configure_by_hand(machine, hand_key, OTHER_ISSUER)
    # The hand-made public key was deleted since the API server last started.
    machine.host.path(HAND_PUBLIC).unlink()

    result = machine.apply(host_config([keys[0]], ready_timeout_seconds=600))

    assert result.returncode != 0
    assert (f"the API server refused to start; its journal (journalctl -u snap.microk8s.daemon-kubelite) "
            f"says: Error: failed to read key file '{HAND_PUBLIC}': open {HAND_PUBLIC}: no such file or directory"
            ) in result.stderr
    assert "rolled back" in result.stderr
    assert machine.host.args_path.read_bytes() == hand
    # Early: one readiness probe per restart (the change, the rollback), not a wait of 600s.
    waits = [c for c in machine.host.calls("microk8s") if c[:2] == ["status", "--wait-ready"]]
    assert len(waits) == machine.host.restarts() == 2


def test_a_repeated_issuer_is_what_the_fake_api_server_refuses(machine, keys):
    # The fake holds the program to kube-apiserver's rule: this is what an
    # apply without de-duplication would have produced on a hand-made host.
    text = FIXTURE.read_text() + f"--service-account-issuer={DEFAULT_ISSUER}\n"
    machine.host.args_path.write_text(text)

    result = machine.apply(host_config([keys[0]], ready_timeout_seconds=600))

    assert result.returncode != 0
    assert f'Error: service-account-issuer "{DEFAULT_ISSUER}" is already specified' in result.stderr


def test_accept_on_a_host_that_names_our_issuer_by_hand_adds_it_no_second_time(machine, keys, hand_key):
    # The host signs with its own line naming irsa's issuer: accept keeps that signer and
    # must not repeat the issuer (kube-apiserver refuses a repeated one).
    text = configure_by_hand(machine, hand_key, ISSUER)

    ok(machine.run("accept", host_config([keys[0]])))

    after = running(machine)
    assert after.issuers == [ISSUER]
    assert after.signing_key_file == HAND_PRIVATE
    assert f"/opt/k8s/irsa-sa-{keys[0].kid}.pub" in after.key_files
    ok(machine.revert(host_config([keys[0]])))
    assert machine.host.args_path.read_bytes() == text
