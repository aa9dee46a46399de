"""Safety paths of the host scripts, each made to happen: the revert's own rollback, root
ownership of what irsa writes, and no process ever receiving key material in its arguments.

The key-on-a-command-line rule is checked twice: statically, over the rendered script of
every distribution in ``irsa.apiserver.BUILDERS``, and dynamically, with an exec trace
(``strace -f -e trace=execve``) of a whole apply, key rotation and revert, which sees every
process however short-lived (process-list snapshots only see the ones that happen to be
running when the stubs sample).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.unavailable import skip_or_fail as unavailable

from apiserver.fakehost import RESTART_FAILS
from apiserver.harness import Key, Machine, host_config
from irsa import apiserver

SECRET_VARIABLES = ("IRSA_SIGNING_KEY",)
# The only way the scripts may hand a secret on: the printf builtin writing it to a pipe or
# process substitution (a builtin runs inside bash: no execve, no /proc/PID/cmdline).
ALLOWED_USE = re.compile(r"""(?:^|[|;&(]\s*|<\(\s*)printf '%s' "\$\{?(\w+)\}?"\s*(?:\)|\|)""")


def body_lines(key: Key) -> list[str]:
    """Every base64 line of the private key: any one of them on a command line is a leak."""
    return [line for line in key.private_pem.splitlines() if line and not line.startswith("-----")]


# --- static: the rendered scripts --------------------------------------------------------


@pytest.mark.parametrize("distribution", sorted(apiserver.BUILDERS))
def test_secrets_reach_no_external_command(distribution, keys):
    script = apiserver.host_script(distribution, host_config([keys[0], keys[1]]))
    uses = 0
    for number, line in enumerate(script.splitlines(), start=1):
        for variable in SECRET_VARIABLES:
            if variable not in line or line.startswith(f"{variable}="):
                continue
            assert ALLOWED_USE.search(line) and line.count(variable) == 1, (
                f"line {number} hands {variable} to something other than the printf builtin "
                f"writing to a pipe: {line.strip()}")
            uses += 1
    assert uses >= 1, "the scripts do install the signing key"
    # printf must stay the builtin: no function, alias or disabled builtin shadows it.
    assert not re.search(r"^\s*(function\s+)?printf\s*\(\)|alias\s+printf=|enable\s+-n|"
                         r"command\s+-p?\s*printf|env\s+printf|\bprintf\s*=",
                         script, re.M), "printf is shadowed or bypassed"


# --- dynamic: an exec trace of every process -----------------------------------------------


def traced_run(machine: Machine, mode: str, config: apiserver.HostConfig, trace: Path):
    """Run the host script as Pulumi would, locally under strace, following every child."""
    script = apiserver.host_script("microk8s", config)
    command = (f"export IRSA_HOST_ROOT={machine.host.root} PATH={machine.host.bin}:$PATH; "
               + apiserver.command_line(mode))
    return subprocess.run(
        ["strace", "-f", "-qq", "-s", "100000", "-e", "trace=execve", "-o", str(trace), "bash", "-c", command],
        input=script, capture_output=True, text=True, timeout=120)


def test_no_process_ever_gets_key_material_in_its_arguments(machine, keys, tmp_path):
    if shutil.which("strace") is None:
        unavailable("strace is not installed (apt-get install strace)")
    if os.geteuid() != 0:
        unavailable("the exec trace runs the script as root, as sudo would")
    probe = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", "/dev/null", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        unavailable(f"strace cannot trace here: {probe.stderr.strip()}")
    runs = [("apply", host_config([keys[0]])),
            ("apply", host_config([keys[1], keys[0]])),  # rotation: both keys in play
            ("revert", host_config([keys[1], keys[0]]))]
    traces = []
    for number, (mode, config) in enumerate(runs):
        trace = tmp_path / f"trace-{number}"
        result = traced_run(machine, mode, config, trace)
        assert result.returncode == 0, f"{mode}: {result.stdout}\n{result.stderr}"
        traces.append(trace.read_text())
    text = "\n".join(traces)
    execs = [line for line in text.splitlines() if "execve(" in line]
    # The trace really saw short-lived external commands and the stubs.
    for program in ("/mktemp", "/awk", "/mv", "/chown", "/cmp", f"{machine.host.bin}/snap"):
        assert any(f'execve("' in line and program + '"' in line for line in execs), \
            f"the trace saw no {program}"
    for key in keys[:2]:
        for line in body_lines(key):
            assert line not in text, "a process got a line of the private key in its arguments"
    assert "PRIVATE KEY" not in text


# --- the revert's own rollback -------------------------------------------------------------


def test_revert_that_cannot_restart_puts_irsas_file_back(machine, keys):
    config = host_config([keys[0]])
    assert machine.apply(config).returncode == 0
    configured = machine.host.args_path.read_bytes()
    key_files = sorted(p.name for p in machine.host.path("/opt/k8s").iterdir())
    restarts = machine.host.restarts()
    machine.host.misbehave(RESTART_FAILS)

    result = machine.revert(config)

    assert result.returncode != 0
    assert "The revert was rolled back" in result.stderr
    assert "snap restart microk8s.daemon-kubelite failed" in result.stderr
    assert machine.host.args_path.read_bytes() == configured, "irsa's flags are back"
    assert sorted(p.name for p in machine.host.path("/opt/k8s").iterdir()) == key_files, \
        "the key files the flags name stay"
    # One restart for the revert, one more for its rollback.
    assert machine.host.restarts() == restarts + 2


# --- ownership -------------------------------------------------------------------------------


def owner_and_mode(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def require_root():
    if os.geteuid() != 0:
        unavailable("ownership checks need to chown files to other users")


def test_new_key_files_belong_to_root_even_in_a_setgid_directory(machine, keys):
    """A setgid key directory of another group would hand that group the new files: irsa chowns."""
    require_root()
    key_dir = machine.host.path("/opt/k8s")
    key_dir.mkdir(parents=True)
    os.chown(key_dir, 0, 65534)
    key_dir.chmod(0o2755)

    assert machine.apply(host_config([keys[0], keys[1]])).returncode == 0

    files = {p.name: owner_and_mode(p) for p in key_dir.iterdir()}
    assert files == {
        f"irsa-sa-{keys[0].kid}.key": (0, 0, 0o600),
        f"irsa-sa-{keys[0].kid}.pub": (0, 0, 0o644),
        f"irsa-sa-{keys[1].kid}.pub": (0, 0, 0o644),
    }


def test_unchanged_key_files_get_roots_owner_and_mode_back(machine, keys):
    require_root()
    config = host_config([keys[0]])
    assert machine.apply(config).returncode == 0
    key_dir = machine.host.path("/opt/k8s")
    for path in key_dir.iterdir():
        os.chown(path, 65534, 65534)
        path.chmod(0o666)

    assert machine.apply(config).returncode == 0

    assert {p.name: owner_and_mode(p) for p in key_dir.iterdir()} == {
        f"irsa-sa-{keys[0].kid}.key": (0, 0, 0o600),
        f"irsa-sa-{keys[0].kid}.pub": (0, 0, 0o644),
    }


def test_the_args_file_and_its_backups_keep_the_files_owner_and_mode(machine, keys):
    require_root()
    args = machine.host.args_path
    os.chown(args, 4321, 4322)
    args.chmod(0o640)

    assert machine.apply(host_config([keys[0]])).returncode == 0

    assert owner_and_mode(args) == (4321, 4322, 0o640)
    for suffix in (".irsa-previous", ".irsa-pristine"):
        assert owner_and_mode(args.with_name(args.name + suffix)) == (4321, 4322, 0o640), suffix
