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
TOKEN_ISS = "token-iss"  # tokens carry this iss instead of the first issuer
TOKEN_KID = "token-kid"  # tokens carry this kid instead of the signing key's

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
        for program in ("snap", "microk8s"):
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
        try:
            for key_file in [*flags.key_files, flags.signing_key_file]:
                oidc.load_public_key(self.resolve(key_file).read_bytes())
        except (OSError, oidc.UnusableKeyError) as err:
            return f"cannot read key: {err}"
        return None

    def snap(self, args: list[str]) -> int:
        if args != ["restart", "microk8s.daemon-kubelite"]:
            print(f"stub snap: unexpected {args}", file=sys.stderr)
            return 2
        if self.flag(RESTART_FAILS) is not None:
            print("error: cannot perform the following tasks: restart microk8s.daemon-kubelite", file=sys.stderr)
            return 1
        shutil.copyfile(self.resolve(ARGS_FILE), self.state / "running-args")
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
        forced = self.flag(NOT_READY)
        if forced:
            (self.state / NOT_READY).write_text(str(int(forced) - 1))
            time.sleep(0.2)
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
    return stub.snap(args) if program == "snap" else stub.microk8s(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
