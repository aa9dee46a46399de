"""A stand-in ``systemd-run`` that gives the unit the environment systemd would, and a host to run it on.

On a host whose PID 1 is systemd, the host script detaches its run with
``systemd-run`` (irsa/apiserver/common.sh, ``irsa_detach``). The run is then a
transient service of the system manager, not a child of the SSH session, and
its environment is the manager's, not the session's. systemd.exec(5),
"Environment Variables in Spawned Processes": processes of the system manager
start in a clean environment holding the manager's ``$PATH`` (its built-in
default, ``/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin`` on a merged-/usr
system; ``/snap/bin`` is not in it) and ``$LANG`` (from locale.conf), plus
``$INVOCATION_ID`` and ``$SYSTEMD_EXEC_PID``; ``$USER``, ``$HOME``,
``$LOGNAME`` and ``$SHELL`` only when the unit sets ``User=``. What the unit's
``Environment=`` properties add comes on top; systemd-run's ``--setenv=NAME=VALUE``
(``-E``) is such a property, and ``--setenv=NAME`` takes the value from the
caller's environment (systemd-run(1)).

This file, run as a program (``systemd_run.py STATE ARGS…``), is that
stand-in: it reads systemd-run's options the way systemd-run does, refuses
options it does not know (so a changed command line cannot pass unnoticed),
records the call and the unit's environment in STATE, and starts the command
in its own session with only that environment, its standard streams as the
``Standard*=`` properties say, in ``/``, and returns at once, as systemd-run
does without ``--wait``.

``SystemdHost`` makes the rest of such a host for one test: in a private mount
namespace, a root folder of its own (the fake host's tree) with the real
``/usr`` read-only, ``/run/systemd/system`` (so the script sees systemd as
PID 1), and the distribution's programs where their packages put them:
``/snap/bin/microk8s``, ``/usr/local/bin/k3s``, ``/usr/local/bin/crictl``.
The host script runs there with ``IRSA_HOST_ROOT`` unset, as on a real host.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The system manager's built-in $PATH on a merged-/usr system (systemd's DEFAULT_PATH).
MANAGER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
MANAGER_LANG = "C.UTF-8"
# An SSH login on Ubuntu: pam_env reads /etc/environment, which adds /snap/bin; sudo's
# secure_path has it too.
LOGIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games:/snap/bin"
CALLS = "systemd-run.log"
# Where each distribution's programs are on a real host (package or installer defaults).
PROGRAM_DIRS = {
    "microk8s": {"microk8s": "/snap/bin", "snap": "/usr/local/bin", "journalctl": "/usr/local/bin"},
    "k3s": {"k3s": "/usr/local/bin", "systemctl": "/usr/local/bin", "journalctl": "/usr/local/bin"},
    "kubeadm": {"crictl": "/usr/local/bin", "kubectl": "/usr/local/bin"},
}


# --- the stand-in -------------------------------------------------------------


def parse(argv: list[str]) -> tuple[dict[str, object], list[str]]:
    """systemd-run's options (the ones the host script may use) and the command."""
    options: dict[str, object] = {"setenv": [], "property": [], "unit": None}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "--":
            return options, argv[i + (arg == "--"):]
        name, eq, value = arg.partition("=")
        if name in ("--quiet", "-q", "--collect", "-G"):
            options[name.lstrip("-")] = True
            i += 1
            continue
        if name in ("--unit", "-u", "--setenv", "-E", "--property", "-p"):
            if not eq:
                i += 1
                if i >= len(argv):
                    raise SystemExit(f"systemd-run: option {name} needs a value")
                value = argv[i]
            key = {"-u": "unit", "--unit": "unit", "-E": "setenv", "--setenv": "setenv"}.get(name, "property")
            if key == "unit":
                options["unit"] = value
            else:
                options[key].append(value)  # type: ignore[union-attr]
            i += 1
            continue
        raise SystemExit(f"systemd-run (stand-in): unknown option {arg!r}")
    raise SystemExit("systemd-run: no command given")


def unit_environment(options: dict[str, object], caller: dict[str, str]) -> dict[str, str]:
    """The environment systemd gives the transient service's process."""
    env = {"PATH": MANAGER_PATH, "LANG": MANAGER_LANG, "INVOCATION_ID": secrets.token_hex(16)}
    assignments: list[str] = []
    for prop in options["property"]:  # type: ignore[union-attr]
        name, _, value = prop.partition("=")
        if name == "Environment":
            assignments += shlex.split(value)
    for item in options["setenv"]:  # type: ignore[union-attr]
        if "=" in item:
            assignments.append(item)
        elif item in caller:
            assignments.append(f"{item}={caller[item]}")
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        env[name] = value
    return env


def _stream(options: dict[str, object], name: str, default: str):
    value = default
    for prop in options["property"]:  # type: ignore[union-attr]
        key, _, v = prop.partition("=")
        if key == name:
            value = v
    if value == "null":
        return subprocess.DEVNULL
    for kind, mode in (("append:", "ab"), ("file:", "r+b" if name == "StandardInput" else "wb"),
                       ("truncate:", "wb")):
        if value.startswith(kind):
            return open(value[len(kind):], mode)  # noqa: SIM115 (handed to the unit)
    raise SystemExit(f"systemd-run (stand-in): {name}={value} is not modelled")


def main(argv: list[str]) -> int:
    state = Path(argv[0])
    options, command = parse(argv[1:])
    for prop in options["property"]:  # type: ignore[union-attr]
        name = prop.partition("=")[0]
        if name not in ("StandardInput", "StandardOutput", "StandardError", "Environment"):
            raise SystemExit(f"systemd-run (stand-in): property {name} is not modelled")
    env = unit_environment(options, dict(os.environ))
    with open(state / CALLS, "a") as log:
        log.write(json.dumps({"argv": argv[1:], "unit": options["unit"], "command": command,
                              "environment": env}) + "\n")
    # The service's main process: its own session, no parent in the caller's session.
    process = subprocess.Popen(
        command, env={**env, "SYSTEMD_EXEC_PID": "0"}, cwd="/", start_new_session=True,
        stdin=_stream(options, "StandardInput", "null"),
        stdout=_stream(options, "StandardOutput", f"append:{state / 'journal'}"),
        stderr=_stream(options, "StandardError", f"append:{state / 'journal'}"),
    )
    if not options.get("quiet"):
        print(f"Running as unit: {options['unit']}.service; invocation ID: {env['INVOCATION_ID']}",
              file=sys.stderr)
    del process  # not waited for: systemd-run without --wait returns once the unit started
    return 0


# --- the host ---------------------------------------------------------------


@dataclass
class SystemdHost:
    """A fake host (MicroK8s, k3s or kubeadm) run as its own root, with systemd as PID 1."""

    distribution: str
    host: object  # FakeHost, K3sHost or KubeadmHost: .root, .state, .bin
    base: Path

    def __post_init__(self) -> None:
        root = Path(self.host.root)
        (root / "run/systemd/system").mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(exist_ok=True)
        (root / "tmp").chmod(0o1777)
        # Inside its root the stubs find the host's files at their real paths.
        (Path(self.host.state) / "root").write_text("/")
        self.usr_local = self.base / "usr-local"
        for sub in ("bin", "sbin"):
            (self.usr_local / sub).mkdir(parents=True, exist_ok=True)
        stand_in = self.usr_local / "bin" / "systemd-run"
        stand_in.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} {self.host.state} \"$@\"\n")
        stand_in.chmod(0o755)
        for program, folder in PROGRAM_DIRS[self.distribution].items():
            target = self.usr_local / "bin" / program if folder == "/usr/local/bin" else root / folder.lstrip("/") / program
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((Path(self.host.bin) / program).read_bytes())
            target.chmod(0o755)

    def _setup(self) -> str:
        """Shell lines that build the root in a new mount namespace."""
        root = Path(self.host.root)
        lines = ["set -e"]

        def bind(source: str, read_only: bool = True) -> None:
            target = root / source.lstrip("/")
            make = "mkdir -p" if Path(source).is_dir() else "mkdir -p $(dirname -- {0}) && touch".format(
                shlex.quote(str(target)))
            lines.append(f"{make} {shlex.quote(str(target))}")
            lines.append(f"mount --bind {shlex.quote(source)} {shlex.quote(str(target))}")
            if read_only:
                lines.append(f"mount -o remount,bind,ro {shlex.quote(str(target))}")

        bind("/usr")
        lines.append(f"mount --bind {shlex.quote(str(self.usr_local))} {shlex.quote(str(root / 'usr/local'))}")
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            real = Path("/") / name
            if real.is_symlink():
                link = root / name
                if not link.is_symlink():
                    link.symlink_to(os.readlink(real))
            elif real.is_dir():
                bind(str(real))
        # What programs need of /etc (awk is an alternatives link); the host's own /etc stays the fake one.
        for name in ("alternatives", "ld.so.cache", "passwd", "group", "nsswitch.conf"):
            if (Path("/etc") / name).exists():
                bind(f"/etc/{name}")
        bind("/dev", read_only=False)
        bind("/proc", read_only=False)
        repo = Path(__file__).resolve().parents[2]
        for source in sorted({sys.base_prefix, sys.prefix, str(repo)}, key=len):
            bind(source)
        bind(str(self.host.state), read_only=False)
        return "\n".join(lines)

    def run(self, mode: str, script: str) -> subprocess.CompletedProcess:
        """Run the host script's command line in ``mode`` as root on this host, as an SSH login would."""
        from irsa import apiserver

        login = {"PATH": LOGIN_PATH, "HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/bash",
                 "SSH_CONNECTION": "127.0.0.1 50000 127.0.0.1 22", "LANG": "C.UTF-8"}
        env_words = " ".join(shlex.quote(f"{k}={v}") for k, v in login.items())
        inner = (f"{self._setup()}\nexec chroot {shlex.quote(str(self.host.root))} /usr/bin/env -i {env_words} "
                 f"/bin/bash -c {shlex.quote(apiserver.command_line(mode))}")
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", inner],
                              input=script, capture_output=True, text=True, timeout=300)

    def calls(self) -> list[dict]:
        log = Path(self.host.state) / CALLS
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
