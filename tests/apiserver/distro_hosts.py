"""Fake k3s and kubeadm hosts for the SSH tests: a file tree under a temp root, and stub programs.

Siblings of ``fakehost.py`` (MicroK8s). The stubs are this file run as a program
(``distro_hosts.py STATE PROGRAM ARGS...``) and read the flags the way the real
components do:

- k3s (``systemctl restart k3s``, ``k3s kubectl``): ``config.yaml``, then the
  ``*.yaml``/``*.yml`` drop-ins of ``config.yaml.d`` in lexical order, a key
  ending in ``+`` appending (k3s ``pkg/configfilearg/parser.go``); then the
  ``kube-apiserver-arg`` values combined with k3s's own flags as ``GetArgs``
  does (``-``/``+`` suffixes prepend/append, a plain value replaces).
- kubeadm (``crictl``, ``kubectl``): the kubelet's view of
  ``/etc/kubernetes/manifests``: every file not starting with a dot, parsed as
  YAML; a changed pod spec (not a changed comment) gives a new container.

Both refuse what kube-apiserver refuses: a flag it does not know, an issuer
given twice, a key file it cannot read. Tokens are real JWTs signed with the
key the running flags name.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
K3S_CONFIG_FIXTURE = FIXTURES / "k3s" / "config.yaml"
K3S_DEFAULTS_FIXTURE = FIXTURES / "k3s" / "apiserver-defaults"
KUBEADM_MANIFEST_FIXTURE = FIXTURES / "kubeadm" / "kube-apiserver.yaml"

K3S_CONFIG = "/etc/rancher/k3s/config.yaml"
K3S_TLS = "/var/lib/rancher/k3s/server/tls"
KUBEADM_MANIFESTS = "/etc/kubernetes/manifests"
KUBEADM_MANIFEST = f"{KUBEADM_MANIFESTS}/kube-apiserver.yaml"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: default\n"
WORKLOADS = "default Deployment web\nkube-system DaemonSet coredns\n"

# Files in the state directory that make the stubs misbehave.
RESTART_FAILS = "restart-fails"  # systemctl restart exits 1
NOT_READY = "not-ready"  # the API server started by the next restart never gets ready
TOKEN_ISS = "token-iss"  # tokens carry this iss instead of the first issuer (token-iss-after-restart: from the next restart on)
TOKEN_KID = "token-kid"  # tokens carry this kid instead of the signing key's
OLD_K3S = "old-k3s"  # k3s's GetArgs before repeated values and '-'/'+' names: the last value wins
NEVER_READY_WITH = "never-ready-with"  # holds an issuer: never ready while it signs
PAUSE_AT = "pause-at"  # holds restart|status|token[@N]: that (N-th) call writes "paused", waits for "release"
KUBELET_LATE = "kubelet-late"  # holds N: the kubelet notices a changed manifest only at the N+1-th look
REFUSE = "refuse"  # holds an error: the next new kube-apiserver container exits with it
_NOT_READY_NOW = "not-ready-now"
# A klog error line a healthy kube-apiserver 1.37 prints at every start (fakehost.py's too).
STARTUP_ERROR_LINE = "E1129 06:00:00.000000   42 options.go:205] The manifest file is empty, ignoring."


# --- how k3s builds kube-apiserver's arguments ------------------------------


def _k3s_string(value) -> str:
    # wrangler's convert.ToString: Go's formatting (true, not True; nil is "").
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def k3s_config_flags(config: Path) -> list[str]:
    """The flags k3s makes of ``config`` and ``config.d``, as ``readConfigFile`` does."""
    drop_ins = config.parent / (config.name + ".d")
    files = [config] if config.exists() else []
    if drop_ins.is_dir():
        files += [
            f for f in sorted(drop_ins.iterdir(), key=lambda p: p.name)
            if f.is_file() and f.name.lower().endswith((".yaml", ".yml"))
        ]
    order: list[str] = []
    values: dict[str, object] = {}
    for file in files:
        data = yaml.safe_load(file.read_text()) or {}
        for raw_key, value in data.items():
            key = str(raw_key)
            append = key.endswith("+")
            key = key.removesuffix("+")
            if key not in order:
                order.append(key)
            if key in values and append:
                values[key] = _as_list(values[key]) + _as_list(value)
            else:
                values[key] = value
    flags = []
    for key in order:
        prefix = "-" if len(key) == 1 else "--"
        value = values[key]
        for item in value if isinstance(value, list) else [value]:
            flags.append(f"{prefix}{key}={_k3s_string(item)}")
    return flags


def _as_list(value) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    text = _k3s_string(value).strip()
    return [text] if text else []


def k3s_get_args(initial: dict[str, str], extra: list[str]) -> list[str]:
    """k3s's ``GetArgs``: its own flags combined with the user's ``kube-apiserver-arg`` values."""
    initial = dict(initial)
    multi: dict[str, list[str]] = {}
    for unsplit in extra:
        arg, sep, value = unsplit.removeprefix("--").partition("=")
        value = value if sep else "true"
        cleaned = arg.rstrip("-+")
        existing = multi.get(cleaned, [])
        if arg.endswith("+"):
            new = ([initial[cleaned]] if cleaned in initial else []) + existing + [value]
        elif arg.endswith("-"):
            new = [value] + ([initial[cleaned]] if cleaned in initial else []) + existing
        else:
            new = existing + [value]
        initial.pop(cleaned, None)
        multi[cleaned] = new
    for arg, value in initial.items():
        multi[arg] = [value]
    return [f"--{arg}={value}" for arg in sorted(multi) for value in multi[arg]]


def old_k3s_get_args(initial: dict[str, str], extra: list[str]) -> list[str]:
    """GetArgs before k3s-io/k3s#5373 (2022): one value per flag, the last one wins, names kept as given."""
    merged = dict(initial)
    for unsplit in extra:
        arg, sep, value = unsplit.removeprefix("--").partition("=")
        merged[arg] = value if sep else "true"
    return [f"--{arg}={merged[arg]}" for arg in sorted(merged)]


def k3s_defaults() -> dict[str, str]:
    """The flags k3s passes itself (tests/fixtures/k3s/apiserver-defaults)."""
    pairs = [line.removeprefix("--").split("=", 1) for line in K3S_DEFAULTS_FIXTURE.read_text().splitlines() if line]
    return dict(pairs)


def k3s_apiserver_args(root: Path, old: bool = False) -> list[str]:
    """kube-apiserver's arguments on the fake k3s host rooted at ``root``."""
    flags = k3s_config_flags(root / K3S_CONFIG.lstrip("/"))
    extra = [f.split("=", 1)[1] for f in flags if f.startswith("--kube-apiserver-arg=")]
    return (old_k3s_get_args if old else k3s_get_args)(k3s_defaults(), extra)


def kubeadm_apiserver_args(manifest_text: str) -> list[str]:
    """kube-apiserver's arguments from a static pod manifest, as the kubelet runs it."""
    pod = yaml.safe_load(manifest_text)
    command = pod["spec"]["containers"][0]["command"]
    assert command[0] == "kube-apiserver", command
    return list(command[1:])


# --- what kube-apiserver makes of them --------------------------------------


@dataclass(frozen=True)
class ServiceAccountFlags:
    """What kube-apiserver makes of the service-account flags."""

    issuers: list[str]
    key_files: list[str]
    signing_key_file: str
    api_audiences: list[str]




def service_account_flags(args: list[str]) -> ServiceAccountFlags:
    """The service-account configuration of ``args``. Raises ValueError on a word
    that is not a flag or a flag name kube-apiserver does not know (``--x-`` or ``--x+``)."""
    values: dict[str, list[str]] = {}
    for arg in args:
        name, _, value = arg.partition("=")
        if not name.startswith("--") or name.endswith(("-", "+")):
            raise ValueError(f"unknown flag: {name}")
        values.setdefault(name, []).append(value)
    audiences = [a for v in values.get("--api-audiences", []) for a in v.split(",") if a]
    return ServiceAccountFlags(
        issuers=values.get("--service-account-issuer", []),
        # A file may hold several keys, the flag may repeat: all verify.
        key_files=values.get("--service-account-key-file", []),
        signing_key_file=values.get("--service-account-signing-key-file", [""])[-1],
        # --api-audiences is a string slice: repeated, the values add up.
        api_audiences=audiences,
    )


def apiserver_problem(args: list[str], resolve) -> str | None:
    """Why kube-apiserver would not start with ``args``, if it would not."""
    from irsa import oidc

    try:
        flags = service_account_flags(args)
    except ValueError as err:
        return str(err)
    if not flags.issuers or not flags.signing_key_file:
        return "service-account-issuer and service-account-signing-key-file are required"
    seen: set[str] = set()
    for issuer in flags.issuers:
        if issuer in seen:  # pkg/kubeapiserver/options/authentication.go
            return f"service-account-issuer {issuer!r} is already specified"
        seen.add(issuer)
    try:
        for key_file in [*flags.key_files, flags.signing_key_file]:
            oidc.load_public_key(resolve(key_file).read_bytes())
    except (OSError, oidc.UnusableKeyError) as err:
        return f"failed to parse service-account key file: {err}"
    return None


# --- the fake hosts ---------------------------------------------------------


class _Host:
    distribution = ""
    programs: tuple[str, ...] = ()

    def __init__(self, base: Path):
        self.root = base / "root"
        self.state = base / "state"
        self.bin = base / "bin"

    def path(self, host_path: str) -> Path:
        """Where a path of the real host lives in the fake tree."""
        return self.root / host_path.lstrip("/")

    def _stubs(self) -> None:
        self.state.mkdir()
        self.bin.mkdir()
        (self.state / "root").write_text(str(self.root))
        (self.state / "distribution").write_text(self.distribution)
        for program in self.programs:
            stub = self.bin / program
            stub.write_text(
                f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} {self.state} {program} \"$@\"\n"
            )
            stub.chmod(0o755)

    def misbehave(self, name: str, value: str = "") -> None:
        (self.state / name).write_text(value)

    def calls(self, program: str | None = None) -> list[list[str]]:
        """Every stub call as [program, args...]; for one ``program``, its args only."""
        log = self.state / "calls.log"
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return calls if program is None else [c[1:] for c in calls if c[0] == program]

    def command_lines(self) -> str:
        log = self.state / "cmdlines.log"
        return log.read_text() if log.exists() else ""

    def running_args(self) -> list[str]:
        return json.loads((self.state / "running-args").read_text())

    def running(self) -> ServiceAccountFlags:
        """The service-account flags of the kube-apiserver running now."""
        return service_account_flags(self.running_args())

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

    def tree(self) -> dict[str, tuple[bytes | None, int]]:
        """Every file and folder under the root with its bytes and mode: to compare before and after.

        Without irsa's own state (/var/lib/irsa: lock, run logs, owner file) and the
        folders above it, which the tests of the run itself check.
        """
        return {
            name: (p.read_bytes() if p.is_file() else None, p.stat().st_mode)
            for p in sorted(self.root.rglob("*"))
            if not ((name := str(p.relative_to(self.root))) in ("var", "var/lib") or name.startswith("var/lib/irsa"))
        }


class K3sHost(_Host):
    """A k3s server: the documentation's config.yaml, k3s's own service-account keys, stub systemctl and k3s."""

    distribution = "k3s"
    programs = ("systemctl", "k3s", "journalctl")

    def create(self, service_key_pem: str, config: str | None = None) -> K3sHost:
        config_path = self.path(K3S_CONFIG)
        config_path.parent.mkdir(parents=True)
        config_path.write_text(K3S_CONFIG_FIXTURE.read_text() if config is None else config)
        config_path.chmod(0o600)
        tls = self.path(K3S_TLS)
        tls.mkdir(parents=True)
        for name in ("service.key", "service.current.key"):
            (tls / name).write_text(service_key_pem)
        self._stubs()
        (self.state / "running-args").write_text(json.dumps(k3s_apiserver_args(self.root)))
        return self

    @property
    def drop_in(self) -> Path:
        return self.path("/etc/rancher/k3s/config.yaml.d/99-irsa.yaml")

    def restarts(self) -> int:
        return self.calls("systemctl").count(["restart", "k3s"])


class KubeadmHost(_Host):
    """A kubeadm control-plane node: the kubeadm manifest, sa.key/sa.pub, stub crictl and kubectl."""

    distribution = "kubeadm"
    programs = ("crictl", "kubectl")

    def create(self, sa_private_pem: str, sa_public_pem: str, manifest: str | None = None) -> KubeadmHost:
        self.manifest.parent.mkdir(parents=True)
        self.manifest.write_text(KUBEADM_MANIFEST_FIXTURE.read_text() if manifest is None else manifest)
        self.manifest.chmod(0o600)
        pki = self.path("/etc/kubernetes/pki")
        pki.mkdir(parents=True)
        (pki / "sa.key").write_text(sa_private_pem)
        (pki / "sa.pub").write_text(sa_public_pem)
        self.path("/etc/kubernetes/admin.conf").write_text(KUBECONFIG)
        self._stubs()
        (self.state / "running-spec").write_text(json.dumps(yaml.safe_load(self.manifest.read_text())))
        (self.state / "running-args").write_text(json.dumps(kubeadm_apiserver_args(self.manifest.read_text())))
        (self.state / "generation").write_text("1")
        (self.state / "container").write_text("c1")
        return self

    @property
    def manifest(self) -> Path:
        return self.path(KUBEADM_MANIFEST)

    def restarts(self) -> int:
        """How many times the kubelet replaced kube-apiserver."""
        return int((self.state / "generation").read_text()) - 1

    def container(self) -> str:
        return (self.state / "container").read_text()


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

    def pause(self, where: str) -> None:
        """Hold this call until the test says go, once: the moment to cut the SSH session.

        PAUSE_AT holds ``where`` (its first call) or ``where@N`` (its N-th call).
        """
        count_file = self.state / f"calls-{where}"
        count = int(count_file.read_text()) + 1 if count_file.exists() else 1
        count_file.write_text(str(count))
        at, _, nth = (self.flag(PAUSE_AT) or "").partition("@")
        if at == where and count == int(nth or 1) and not (self.state / "paused").exists():
            (self.state / "paused").write_text(where)
            deadline = time.monotonic() + 120
            while not (self.state / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def running_args(self) -> list[str] | None:
        path = self.state / "running-args"
        return json.loads(path.read_text()) if path.exists() else None

    def start(self, args: list[str]) -> None:
        """A new kube-apiserver process with ``args``; NOT_READY applies to this one only."""
        (self.state / "running-args").write_text(json.dumps(args))
        if (self.state / (TOKEN_ISS + "-after-restart")).exists():
            (self.state / (TOKEN_ISS + "-after-restart")).rename(self.state / TOKEN_ISS)
        (self.state / _NOT_READY_NOW).unlink(missing_ok=True)
        if (self.state / NOT_READY).exists():
            (self.state / NOT_READY).rename(self.state / _NOT_READY_NOW)

    def resolve_in_apiserver(self, host_path: str) -> Path:
        """A path as the API server process sees it (k3s: in-process, the whole host)."""
        return self.resolve(host_path)

    def problem(self) -> str | None:
        args = self.running_args()
        if args is None:
            return "no kube-apiserver is running"
        return apiserver_problem(args, self.resolve_in_apiserver)

    def ready(self) -> bool:
        if self.problem() is not None or self.flag(_NOT_READY_NOW) is not None:
            return False
        never = self.flag(NEVER_READY_WITH)
        return not never or service_account_flags(self.running_args()).issuers[0] != never

    def kubectl(self, args: list[str]) -> int:
        if args[:2] == ["--kubeconfig", "/etc/kubernetes/admin.conf"]:
            args = args[2:]
            # This node's own API server, as the manifest's annotation names it.
            if args[:2] != ["--server", "https://192.0.2.10:6443"]:
                print(f"stub kubectl: not this node's API server: {args[:2]}", file=sys.stderr)
                return 2
            args = args[2:]
        if args == ["get", "--raw", "/readyz"]:
            self.pause("status")
            if not self.ready():
                print("The connection to the server 127.0.0.1:6443 was refused", file=sys.stderr)
                return 1
            print("ok", end="")
            return 0
        if args[:2] == ["create", "token"]:
            return self.create_token(args[2:])
        if args[:1] == ["get"]:
            print(WORKLOADS, end="")
            return 0
        if args[:2] == ["rollout", "restart"]:
            print(f"{args[-1]} restarted")
            return 0
        print(f"stub kubectl: unexpected {args}", file=sys.stderr)
        return 2

    def create_token(self, args: list[str]) -> int:
        import jwt

        from irsa import oidc

        self.pause("token")
        if not self.ready():
            print("The connection to the server 127.0.0.1:6443 was refused", file=sys.stderr)
            return 1
        audience = args[args.index("--audience") + 1]
        flags = service_account_flags(self.running_args())
        pem = self.resolve_in_apiserver(flags.signing_key_file).read_bytes()
        now = int(time.time())
        claims = {
            "aud": [audience],
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "iss": self.flag(TOKEN_ISS) or flags.issuers[0],
            "sub": "system:serviceaccount:default:default",
        }
        kid = self.flag(TOKEN_KID) or oidc.key_id(oidc.load_public_key(pem))
        print(jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid}))
        return 0


class _K3sStub(_Stub):
    def systemctl(self, args: list[str]) -> int:
        if args != ["restart", "k3s"]:
            print(f"stub systemctl: unexpected {args}", file=sys.stderr)
            return 2
        self.pause("restart")
        if self.flag(RESTART_FAILS) is not None:
            print('Job for k3s.service failed because the control process exited with error code.', file=sys.stderr)
            return 1
        self.start(k3s_apiserver_args(self.root, old=self.flag(OLD_K3S) is not None))
        self.journal(STARTUP_ERROR_LINE)  # printed by every kube-apiserver 1.37 start
        problem = self.problem()
        if problem:
            # kube-apiserver runs inside k3s: its last words and k3s's fatal line go to k3s's journal.
            self.journal(f"Error: {problem}")
            self.journal('time="2026-11-29T06:00:00Z" level=fatal msg="apiserver exited: ' + problem + '"')
        return 0

    def journal(self, text: str) -> None:
        with open(self.state / "journal.log", "a") as log:
            log.write(f"{time.time():.3f}\t{text}\n")

    def journalctl(self, args: list[str]) -> int:
        """k3s's journal lines since ``--since @EPOCH`` (``-u k3s -o cat``: text only)."""
        if args[:2] != ["-u", "k3s"]:
            print(f"stub journalctl: unexpected {args}", file=sys.stderr)
            return 2
        since = float(args[args.index("--since") + 1].lstrip("@")) if "--since" in args else 0.0
        log = self.state / "journal.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            stamp, _, text = line.partition("\t")
            if float(stamp) >= since:
                print(text)
        return 0

    def k3s(self, args: list[str]) -> int:
        if args[:1] == ["kubectl"]:
            return self.kubectl(args[1:])
        print(f"stub k3s: unexpected {args}", file=sys.stderr)
        return 2


class _KubeletStub(_Stub):
    """crictl and kubectl on a kubeadm node; each call first lets the kubelet look at its folder."""

    def sync(self) -> None:
        folder = self.resolve(KUBEADM_MANIFESTS)
        files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        if files != ["kube-apiserver.yaml"]:
            # A second pod from a backup or a stray file: not what kubeadm's node runs.
            (self.state / "stray-manifests").write_text(json.dumps(files))
        try:
            spec = yaml.safe_load((folder / "kube-apiserver.yaml").read_text())
            args = kubeadm_apiserver_args((folder / "kube-apiserver.yaml").read_text())
        except (OSError, yaml.YAMLError, KeyError, TypeError, AssertionError):
            spec, args = None, None
        if spec == json.loads((self.state / "running-spec").read_text()):
            return  # comments and layout do not matter: the pod is the same
        late = int(self.flag(KUBELET_LATE) or 0)
        if late > 0:
            # The kubelet has not looked yet: the old container runs on and answers.
            (self.state / KUBELET_LATE).write_text(str(late - 1))
            return
        (self.state / "running-spec").write_text(json.dumps(spec))
        generation = int((self.state / "generation").read_text()) + 1
        (self.state / "generation").write_text(str(generation))
        if args is None:
            (self.state / "running-args").unlink(missing_ok=True)
            (self.state / "container").write_text("")
            return
        self.start(args)
        # A kube-apiserver that exits at once leaves no running container, and its log.
        problem = self.flag(REFUSE) or apiserver_problem(args, self.resolve_in_apiserver)
        (self.state / REFUSE).unlink(missing_ok=True)
        (self.state / "container").write_text("" if problem else f"c{generation}")
        if problem:
            exited = json.loads(self.flag("exited") or "[]")
            (self.state / "exited").write_text(json.dumps([f"c{generation}", *exited]))
            (self.state / f"c{generation}.log").write_text(
                "I1129 06:00:00.000000       1 options.go:222] external host was not specified\n"
                f"Error: {problem}\n"
            )

    def resolve_in_apiserver(self, host_path: str) -> Path:
        """A path inside the kube-apiserver container: only its hostPath volume mounts are there."""
        pod = json.loads((self.state / "running-spec").read_text())["spec"]
        volumes = {v["name"]: v["hostPath"]["path"] for v in pod.get("volumes", []) if "hostPath" in v}
        for mount in pod["containers"][0].get("volumeMounts", []):
            inside = mount["mountPath"].rstrip("/")
            if mount["name"] in volumes and (host_path == inside or host_path.startswith(inside + "/")):
                return self.resolve(volumes[mount["name"]] + host_path[len(inside):])
        return self.state / "not-mounted-in-the-container" / host_path.lstrip("/")

    def crictl(self, args: list[str]) -> int:
        self.sync()
        if args == ["ps", "-a", "--name", "kube-apiserver", "--state", "exited", "-q"]:
            # crictl ps lists the newest container first.
            for container in json.loads(self.flag("exited") or "[]"):
                print(container)
            return 0
        if args[:2] == ["logs", "--tail"] and len(args) == 4:
            log = self.state / f"{args[3]}.log"
            if not log.exists():
                print(f"stub crictl: no container {args[3]}", file=sys.stderr)
                return 1
            print("\n".join(log.read_text().splitlines()[-int(args[2]):]))
            return 0
        if args != ["ps", "--name", "kube-apiserver", "--state", "running", "-q"]:
            print(f"stub crictl: unexpected {args}", file=sys.stderr)
            return 2
        container = (self.state / "container").read_text()
        if container:
            print(container)
        return 0

    def kubectl(self, args: list[str]) -> int:
        self.sync()
        if not (self.state / "container").read_text():
            print("The connection to the server 192.0.2.10:6443 was refused", file=sys.stderr)
            return 1
        return super().kubectl(args)


def main(argv: list[str]) -> int:
    state, program, *args = argv
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    state_dir = Path(state)
    stub = _K3sStub(state_dir) if (state_dir / "distribution").read_text() == "k3s" else _KubeletStub(state_dir)
    stub.record([program, *args])
    return getattr(stub, program)(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
