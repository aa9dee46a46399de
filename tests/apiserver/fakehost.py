"""A fake MicroK8s host for the SSH tests: a file tree under a temp root, and stub programs.

The stubs `snap` and `microk8s` are this file run as a program
(``fakehost.py STATE snap|microk8s ARGS...``). They behave as MicroK8s would
as far as the host script can tell: `snap restart` makes kubelite read the
args file again; `microk8s status --wait-ready` fails unless kube-apiserver
could start with those arguments; `kubectl create token` signs a real JWT with
the key and issuer the running arguments name. Every call is recorded, with a
snapshot of all processes' command lines, and the state directory holds files
that make a stub misbehave on purpose.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SNAP_DATA = "/var/snap/microk8s/current"
ARGS_FILE = f"{SNAP_DATA}/args/kube-apiserver"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "microk8s" / "kube-apiserver"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: microk8s-cluster\n"
WORKLOADS = "default Deployment web\nkube-system DaemonSet calico-node\n"

# Files in the state directory that make the stubs misbehave.
RESTART_FAILS = "restart-fails"  # snap restart exits 1
NOT_READY = "not-ready"  # holds N: the next N readiness waits fail
NEVER_READY_WITH = "never-ready-with"  # holds an issuer: never ready while it signs
PAUSE_AT = "pause-at"  # holds restart|status|token: that call writes "paused", waits for "release"
TOKEN_ISS = "token-iss"  # tokens carry this iss instead of the first issuer
TOKEN_KID = "token-kid"  # tokens carry this kid instead of the signing key's

# A klog error line a healthy kube-apiserver prints at every start: no refusal.
STARTUP_ERROR_LINE = "E1129 06:00:00.000000   42 options.go:205] The manifest file is empty, ignoring."

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def kubelite_args(text: str) -> list[str]:
    """The arguments kubelite hands kube-apiserver for an args file's text.

    As kubelite reads it: empty lines and lines starting with '#' are skipped,
    quotes are removed, $VARS expanded (SNAP_DATA), the rest split on spaces.
    """
    env = {"SNAP_DATA": SNAP_DATA}
    args: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.replace('"', "").replace("'", "")
        line = _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), line)
        args.extend(part for part in line.split(" ") if part)
    return args


def flag_values(args: list[str]) -> dict[str, list[str]]:
    """Each flag's values in order. Raises ValueError on a word that is not a flag,
    as kube-apiserver refuses to start on one."""
    values: dict[str, list[str]] = {}
    for arg in args:
        if not arg.startswith("--"):
            raise ValueError(f"unexpected argument {arg!r}")
        name, _, value = arg.partition("=")
        values.setdefault(name, []).append(value)
    return values


@dataclass(frozen=True)
class ServiceAccountFlags:
    """What kube-apiserver makes of the service-account flags."""

    issuers: list[str]
    key_files: list[str]
    signing_key_file: str
    api_audiences: list[str]


def service_account_flags(text: str) -> ServiceAccountFlags:
    """The service-account configuration an args file's text gives kube-apiserver."""
    values = flag_values(kubelite_args(text))
    audiences = values.get("--api-audiences", [""])[-1]
    return ServiceAccountFlags(
        issuers=values.get("--service-account-issuer", []),
        key_files=values.get("--service-account-key-file", []),
        # A single-valued flag given twice: the last one wins.
        signing_key_file=values.get("--service-account-signing-key-file", [""])[-1],
        api_audiences=audiences.split(",") if audiences else [],
    )


class FakeHost:
    """The temp tree standing in for a MicroK8s host, and the stubs' state."""

    def __init__(self, base: Path):
        self.root = base / "root"
        self.state = base / "state"
        self.bin = base / "bin"

    # --- set-up -----------------------------------------------------------

    def create(self, default_sa_key_pem: str) -> FakeHost:
        """Lay out a fresh host: the real default args file, MicroK8s's own key, the stubs."""
        self.args_path.parent.mkdir(parents=True)
        shutil.copyfile(FIXTURE, self.args_path)
        certs = self.path(f"{SNAP_DATA}/certs/serviceaccount.key")
        certs.parent.mkdir(parents=True)
        certs.write_text(default_sa_key_pem)
        self.state.mkdir()
        self.bin.mkdir()
        shutil.copyfile(FIXTURE, self.state / "running-args")
        for program in ("snap", "microk8s", "journalctl"):
            stub = self.bin / program
            stub.write_text(
                f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} {self.state} {program} \"$@\"\n"
            )
            stub.chmod(0o755)
        (self.state / "root").write_text(str(self.root))
        return self

    def path(self, host_path: str) -> Path:
        """Where a path of the real host lives in the fake tree."""
        return self.root / host_path.lstrip("/")

    @property
    def args_path(self) -> Path:
        return self.path(ARGS_FILE)

    def misbehave(self, name: str, value: str = "") -> None:
        (self.state / name).write_text(value)

    # --- what happened ----------------------------------------------------

    def calls(self, program: str | None = None) -> list[list[str]]:
        """Every stub call as [program, args...]; for one ``program``, its args only."""
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        calls = [json.loads(line) for line in lines]
        if program is None:
            return calls
        return [c[1:] for c in calls if c[0] == program]

    def restarts(self) -> int:
        return self.calls("snap").count(["restart", "microk8s.daemon-kubelite"])

    def wait_for(self, name: str, seconds: float = 120) -> None:
        """Wait (bounded) until the stubs' state directory holds ``name``."""
        deadline = time.monotonic() + seconds
        while not (self.state / name).exists():
            assert time.monotonic() < deadline, f"{name} never appeared"
            time.sleep(0.05)

    def release(self) -> None:
        (self.state / "release").write_text("")

    def runs(self) -> Path:
        return self.path("/var/lib/irsa/runs")

    def wait_for_runs_to_end(self, count: int, seconds: float = 120) -> None:
        """Wait (bounded) until ``count`` detached runs have recorded their exit status."""
        deadline = time.monotonic() + seconds
        while len(list(self.runs().glob("*.exit"))) < count:
            assert time.monotonic() < deadline, "the detached run did not end"
            time.sleep(0.1)

    def command_lines(self) -> str:
        log = self.state / "cmdlines.log"
        return log.read_text() if log.exists() else ""


# --- the stubs ------------------------------------------------------------


class _Stub:
    def __init__(self, state: Path):
        self.state = state
        self.root = Path((state / "root").read_text())

    def resolve(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def record(self, argv: list[str]) -> None:
        with open(self.state / "calls.log", "a") as log:
            log.write(json.dumps(argv) + "\n")
        lines = set()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                lines.add(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace").strip())
            except OSError:
                continue  # the process ended meanwhile
        with open(self.state / "cmdlines.log", "a") as log:
            log.write("\n".join(sorted(lines)) + "\n")

    def pause(self, where: str) -> None:
        """Hold this call until the test says go, once: the moment to cut the SSH session."""
        if self.flag(PAUSE_AT) == where and not (self.state / "paused").exists():
            (self.state / "paused").write_text(where)
            deadline = time.monotonic() + 120
            while not (self.state / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def flag(self, name: str) -> str | None:
        path = self.state / name
        return path.read_text() if path.exists() else None

    def running(self) -> ServiceAccountFlags:
        return service_account_flags((self.state / "running-args").read_text())

    def apiserver_problem(self) -> str | None:
        """Why kube-apiserver would not start with the running arguments, if it would not."""
        from irsa import oidc

        try:
            flags = self.running()
        except ValueError as err:
            return str(err)
        if not flags.issuers or not flags.signing_key_file:
            return "no issuer or no signing key"
        # kube-apiserver's own check (pkg/kubeapiserver/options/authentication.go).
        seen = set()
        for issuer in flags.issuers:
            if issuer in seen:
                return f'service-account-issuer "{issuer}" is already specified'
            seen.add(issuer)
        for key_file in [*flags.key_files, flags.signing_key_file]:
            path = key_file.replace("${SNAP_DATA}", SNAP_DATA)
            try:
                oidc.load_public_key(self.resolve(path).read_bytes())
            except OSError:
                return f"failed to read key file {path!r}: open {path}: no such file or directory"
            except oidc.UnusableKeyError as err:
                return f"cannot read key {path}: {err}"
        return None

    def journal(self, text: str) -> None:
        with open(self.state / "journal.log", "a") as log:
            log.write(f"{time.time():.3f}\t{text}\n")

    def journalctl(self, args: list[str]) -> int:
        """Print kubelite's journal lines since ``--since @EPOCH`` (``-o cat``: text only)."""
        since = 0.0
        if "--since" in args:
            since = float(args[args.index("--since") + 1].lstrip("@"))
        log = self.state / "journal.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            stamp, _, text = line.partition("\t")
            if float(stamp) >= since:
                print(text)
        return 0

    def snap(self, args: list[str]) -> int:
        if args != ["restart", "microk8s.daemon-kubelite"]:
            print(f"stub snap: unexpected {args}", file=sys.stderr)
            return 2
        self.pause("restart")
        if self.flag(RESTART_FAILS) is not None:
            print("error: cannot perform the following tasks: restart microk8s.daemon-kubelite", file=sys.stderr)
            return 1
        shutil.copyfile(self.resolve(ARGS_FILE), self.state / "running-args")
        # Every start of kube-apiserver 1.37 logs this error line, healthy or not
        # (component-base metrics options; seen in tests/apiserver/test_real_apiserver.py).
        self.journal(STARTUP_ERROR_LINE)
        problem = self.apiserver_problem()
        if problem:
            # kubelite exits; kube-apiserver's last words go to the service's journal.
            self.journal("I1129 06:00:00.000000   42 options.go:222] external host was not specified")
            self.journal(f"Error: {problem}")
        print("Restarted.")
        return 0

    def microk8s(self, args: list[str]) -> int:
        if args[:2] == ["status", "--wait-ready"]:
            return self.wait_ready()
        if args[:3] == ["kubectl", "create", "token"]:
            return self.create_token(args[3:])
        if args[:2] == ["kubectl", "get"]:
            print(WORKLOADS, end="")
            return 0
        if args[:3] == ["kubectl", "rollout", "restart"]:
            print(f"{args[-1]} restarted")
            return 0
        if args == ["config"]:
            print(KUBECONFIG, end="")
            return 0
        print(f"stub microk8s: unexpected {args}", file=sys.stderr)
        return 2

    def wait_ready(self) -> int:
        self.pause("status")
        forced = self.flag(NOT_READY)
        if forced and int(forced) > 0:
            (self.state / NOT_READY).write_text(str(int(forced) - 1))
            time.sleep(0.2)
            print("microk8s is not running", file=sys.stderr)
            return 1
        never = self.flag(NEVER_READY_WITH)
        if never and self.running().issuers[:1] == [never]:
            print("microk8s is not running", file=sys.stderr)
            return 1
        problem = self.apiserver_problem()
        if problem:
            print(f"microk8s is not running: {problem}", file=sys.stderr)
            return 1
        print("microk8s is running")
        return 0

    def create_token(self, args: list[str]) -> int:
        import jwt

        self.pause("token")
        if self.apiserver_problem():
            print("The connection to the server was refused", file=sys.stderr)
            return 1
        audience = args[args.index("--audience") + 1]
        flags = self.running()
        pem = self.resolve(flags.signing_key_file).read_bytes()
        now = int(time.time())
        claims = {
            "aud": [audience],
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "iss": self.flag(TOKEN_ISS) or flags.issuers[0],
            "sub": "system:serviceaccount:default:default",
        }
        kid = self.flag(TOKEN_KID) or kubernetes_key_id(pem)
        print(jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid}))
        return 0


def kubernetes_key_id(private_pem: bytes) -> str:
    """The kid kube-apiserver writes, as Kubernetes computes it (pkg/serviceaccount/jwt.go,
    keyIDFromPublicKey): base64url, no padding, of SHA-256 over the DER SubjectPublicKeyInfo.
    Written out here so that a wrong ``irsa.oidc.key_id`` cannot agree with itself."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_private_key(private_pem, None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def main(argv: list[str]) -> int:
    state, program, *args = argv
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    stub = _Stub(Path(state))
    stub.record([program, *args])
    if program == "journalctl":
        return stub.journalctl(args)
    return stub.snap(args) if program == "snap" else stub.microk8s(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
