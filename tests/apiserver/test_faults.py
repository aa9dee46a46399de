"""Faults on the way: the SSH session cut at each step of a run, two runs at once.

The run on the host is detached from the SSH session, so cutting the session
(killing the ssh client, as a cancelled CI job or a closed laptop would) at
any step leaves the host applied and verified, or rolled back; the next run
reports what the cut run did and converges.
"""

from __future__ import annotations

import pytest

from apiserver.fakehost import FIXTURE, NEVER_READY_WITH, PAUSE_AT, service_account_flags
from apiserver.harness import DEFAULT_ISSUER, ISSUER, host_config

ORIGINAL = FIXTURE.read_bytes()


def running_issuers(machine):
    return service_account_flags((machine.host.state / "running-args").read_text()).issuers


@pytest.mark.parametrize(("step", "comes_back"), [
    ("restart", True),  # before the restart
    ("status", True),  # during it: the API server is coming back
    ("status", False),  # during it: the API server never comes back
    ("token", True),  # after it: the self-check
])
def test_cutting_the_session_at_any_step_leaves_the_host_applied_or_rolled_back(machine, keys, step, comes_back):
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

    if comes_back:
        assert running_issuers(machine) == [ISSUER, DEFAULT_ISSUER], "applied and verified"
        assert next(machine.host.runs().glob("*.log")).read_text().count("self-check passed") == 1
    else:
        assert machine.host.args_path.read_bytes() == ORIGINAL, "rolled back"
        assert running_issuers(machine) == [DEFAULT_ISSUER]
    log = next(machine.host.runs().glob("*.log"))
    assert log.stat().st_mode & 0o777 == 0o600 and machine.host.path("/var/lib/irsa").stat().st_mode & 0o777 == 0o700
    assert not list(machine.host.runs().glob("*.sh")), "the run's copy of the script (keys) is gone"

    (machine.host.state / NEVER_READY_WITH).unlink(missing_ok=True)
    second = machine.apply(config)
    assert second.returncode == 0, second.stderr
    assert "an earlier run lost its connection before it ended" in second.stdout
    expected = "irsa: done (apply)" if comes_back else "irsa: error on node: MicroK8s did not become ready"
    assert expected in second.stdout
    assert running_issuers(machine) == [ISSUER, DEFAULT_ISSUER]


def test_two_runs_at_once_take_turns(machine, keys):
    config = host_config([keys[0]])
    machine.host.misbehave(PAUSE_AT, "restart")
    first = machine.start("apply", config)
    machine.host.wait_for("paused")
    second = machine.start("apply", config)
    while not any("another irsa run holds" in p.read_text() for p in machine.host.runs().glob("*.log")):
        assert second.poll() is None, second.stderr.read()

    machine.host.release()
    out_first, err_first = first.communicate(timeout=120)
    out_second, err_second = second.communicate(timeout=120)

    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second
    assert "waiting up to" in out_second and "already carries these flags" in out_second
    assert machine.host.restarts() == 1


def test_a_run_that_cannot_get_the_lock_in_time_says_so(machine, keys):
    machine.host.misbehave(PAUSE_AT, "restart")
    first = machine.start("apply", host_config([keys[0]]))
    machine.host.wait_for("paused")

    late = machine.apply(host_config([keys[0]], lock_timeout_seconds=1))

    machine.host.release()
    first.communicate(timeout=120)
    assert late.returncode != 0
    assert "another irsa run still holds" in late.stderr and "/var/lib/irsa/runs" in late.stderr
    assert first.returncode == 0
