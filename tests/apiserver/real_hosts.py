"""MicroK8s- and k3s-shaped hosts whose API server is a REAL kube-apiserver (scripts/real-parts).

The trees are the fake hosts' (fakehost.py, distro_hosts.py: the distributions'
real default files under a temp root); the distribution layer is a small
supervisor run as the stub programs (``real_hosts.py STATE PROGRAM ARGS...``):

- MicroK8s: ``snap restart microk8s.daemon-kubelite`` stops the running
  kube-apiserver and starts a new one from the args file, read as kubelite reads
  it (fakehost's ``kubelite_args``: ${SNAP_DATA} expanded); ``microk8s status
  --wait-ready`` polls ``/readyz``; ``microk8s kubectl create token`` is a real
  TokenRequest;
- k3s: ``systemctl restart k3s`` does the same with the flags k3s makes of
  config.yaml and config.yaml.d (distro_hosts' ``k3s_apiserver_args``, k3s's merge
  and GetArgs), plus the serving flags k3s passes itself; ``k3s kubectl get --raw
  /readyz`` and ``create token`` are real calls;
- ``journalctl`` prints the API server's own output since ``--since @EPOCH``;
  host paths in flags are mapped into the temp root.

What the supervisor still fakes, because no kubelet, kine or controller manager runs
here: it points ``--etcd-servers`` at a real etcd on loopback instead of kine's socket,
serves on a loopback port of its own, adds ``--endpoint-reconciler-type=none`` and
disables the ServiceAccount admission plugin, and creates the ``default``
ServiceAccount the controller manager would. Every service-account flag, the key
files, flag parsing and validation, TokenRequest, TokenReview, ``/readyz`` and
``/openid/v1/jwks`` are the real API server's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

SNAP_DATA = "/var/snap/microk8s/current"
ARGS_FILE = f"{SNAP_DATA}/args/kube-apiserver"
SERVICE = "microk8s.daemon-kubelite"
# MicroK8s ships this file (args/admission-control-config-file.yaml): EventRateLimit's limits.
ADMISSION_CONFIG = """apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: EventRateLimit
  configuration:
    apiVersion: eventratelimit.admission.k8s.io/v1alpha1
    kind: Configuration
    limits:
    - type: Server
      qps: 5000
      burst: 20000
"""
# Flags the supervisor sets, whatever the args file says (see the module docstring).
OVERRIDDEN = ("--etcd-servers", "--secure-port", "--bind-address", "--advertise-address",
              "--endpoint-reconciler-type", "--disable-admission-plugins", "--etcd-prefix")


# kubeadm's names (/etc/kubernetes/pki) for the PKI's files.
KUBEADM_NAMES = {"server.crt": "apiserver.crt", "server.key": "apiserver.key"}


def _public_pem(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def tests_dir() -> Path:
    return Path(__file__).resolve().parents[1]


class RealHost:
    """One MicroK8s- or k3s-shaped host (temp tree, supervisor state) with a real API server."""

    def __init__(self, base: Path, distribution: str = "microk8s"):
        self.root = base / "root"
        self.state = base / "state"
        self.bin = base / "bin"
        self.distribution = distribution

    # --- set-up (in the test process) --------------------------------------------

    def create(self, default_sa_key_pem: str, *, apiserver: Path, etcd_url: str, etcd_prefix: str,
               pki: dict[str, bytes]) -> RealHost:
        """Lay out the host: the distribution's default files, certificates, its own key, the stubs.

        ``pki`` maps file names (ca.crt, server.crt, …) to their contents; they go where
        the distribution keeps them (MicroK8s ${SNAP_DATA}/certs, k3s server/tls), and
        ``admin.crt``/``admin.key`` into the state, for the supervisor's own calls.
        """
        from support.real_parts import free_port

        self.state.mkdir()
        self.bin.mkdir()
        if self.distribution == "microk8s":
            from apiserver.fakehost import FIXTURE

            self.path(ARGS_FILE).parent.mkdir(parents=True)
            shutil.copyfile(FIXTURE, self.path(ARGS_FILE))
            self.path(f"{SNAP_DATA}/args/admission-control-config-file.yaml").write_text(ADMISSION_CONFIG)
            certs = self.path(f"{SNAP_DATA}/certs")
            certs.mkdir(parents=True)
            (certs / "serviceaccount.key").write_text(default_sa_key_pem)
            programs = ("snap", "microk8s", "journalctl")
        elif self.distribution == "kubeadm":
            from apiserver.distro_hosts import KUBEADM_MANIFEST, KUBEADM_MANIFEST_FIXTURE

            manifest = self.path(KUBEADM_MANIFEST)
            manifest.parent.mkdir(parents=True)
            manifest.write_text(KUBEADM_MANIFEST_FIXTURE.read_text())
            manifest.chmod(0o600)
            certs = self.path("/etc/kubernetes/pki")
            certs.mkdir(parents=True)
            (certs / "sa.key").write_text(default_sa_key_pem)
            (certs / "sa.pub").write_text(_public_pem(default_sa_key_pem))
            self.path("/etc/kubernetes/admin.conf").write_text("apiVersion: v1\nkind: Config\n")
            pki = {KUBEADM_NAMES.get(name, name): content for name, content in pki.items()}
            programs = ("crictl", "kubectl")
        else:
            from apiserver.distro_hosts import K3S_CONFIG, K3S_CONFIG_FIXTURE, K3S_TLS

            config_path = self.path(K3S_CONFIG)
            config_path.parent.mkdir(parents=True)
            config_path.write_text(K3S_CONFIG_FIXTURE.read_text())
            config_path.chmod(0o600)
            certs = self.path(K3S_TLS)
            certs.mkdir(parents=True)
            for name in ("service.key", "service.current.key"):
                (certs / name).write_text(default_sa_key_pem)
            programs = ("systemctl", "k3s", "journalctl")
        for name, content in pki.items():
            target = self.state / name if name.startswith("admin.") else certs / name
            target.write_bytes(content)
            target.chmod(0o600)
        shutil.copyfile(certs / "ca.crt", self.state / "certs-ca.crt")
        config = {
            "distribution": self.distribution, "root": str(self.root), "certs": str(certs),
            "apiserver": str(apiserver), "etcd": etcd_url, "etcd_prefix": etcd_prefix, "port": free_port(),
        }
        (self.state / "config.json").write_text(json.dumps(config))
        for program in programs:
            stub = self.bin / program
            stub.write_text(
                f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} {self.state} {program} \"$@\"\n")
            stub.chmod(0o755)
        return self

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    @property
    def args_path(self) -> Path:
        return self.path(ARGS_FILE)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.config()['port']}"

    def config(self) -> dict:
        return json.loads((self.state / "config.json").read_text())

    def calls(self, program: str) -> list[list[str]]:
        log = self.state / "calls.log"
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return [c[1:] for c in calls if c[0] == program]

    def restarts(self) -> int:
        if self.distribution == "kubeadm":
            return int((self.state / "generation").read_text()) - 1 if (self.state / "generation").exists() else 0
        if self.distribution == "k3s":
            return self.calls("systemctl").count(["restart", "k3s"])
        return self.calls("snap").count(["restart", SERVICE])

    def start(self) -> None:
        """Start the API server as the distribution runs it after install, and wait until it is ready."""
        supervisor = Supervisor(self.state)
        if self.distribution == "kubeadm":
            supervisor.sync()
        else:
            supervisor.restart()
        if not supervisor.wait_ready(180):
            raise RuntimeError(f"kube-apiserver did not become ready: {supervisor.output_since(0)[-3000:]}")

    def stop(self) -> None:
        Supervisor(self.state).stop()

    def client(self) -> Client:
        return Client(self.url, self.state / "certs-ca.crt", self.state / "admin.crt", self.state / "admin.key")


class Client:
    """A few API calls, with the cluster's CA and an admin client certificate."""

    def __init__(self, url: str, ca: Path, cert: Path, key: Path):
        self.url, self.ca, self.cert, self.key = url, ca, cert, key

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        import requests

        return requests.request(method, self.url + path, json=body, verify=str(self.ca),
                                cert=(str(self.cert), str(self.key)), timeout=timeout)

    def ensure_service_account(self, namespace: str, name: str) -> None:
        """Create the ServiceAccount, as the controller manager does for ``default``."""
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts"
        if self.request("GET", f"{path}/{name}").status_code == 404:
            created = self.request("POST", path, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                  "metadata": {"name": name, "namespace": namespace}})
            if created.status_code not in (201, 409):
                raise RuntimeError(f"creating ServiceAccount {namespace}/{name}: {created.status_code} {created.text}")

    def token(self, audience: str, namespace: str = "default", name: str = "default",
              seconds: int = 3600) -> str:
        """A real TokenRequest."""
        self.ensure_service_account(namespace, name)
        answer = self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [audience], "expirationSeconds": seconds}})
        if answer.status_code != 201:
            raise RuntimeError(f"TokenRequest: {answer.status_code} {answer.text}")
        return answer.json()["status"]["token"]

    def review(self, token: str, audience: str) -> dict:
        """A real TokenReview: the API server's verdict on ``token``."""
        answer = self.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": [audience]}})
        if answer.status_code != 201:
            raise RuntimeError(f"TokenReview: {answer.status_code} {answer.text}")
        return answer.json()["status"]

    def jwks(self) -> dict:
        answer = self.request("GET", "/openid/v1/jwks")
        answer.raise_for_status()
        return answer.json()

    def discovery(self) -> dict:
        answer = self.request("GET", "/.well-known/openid-configuration")
        answer.raise_for_status()
        return answer.json()

    def ready(self) -> bool:
        import requests

        try:
            return self.request("GET", "/readyz", timeout=3).status_code == 200
        except requests.RequestException:
            return False


# --- the supervisor (run as the stub programs on the host, over SSH) -----------------


class Supervisor:
    def __init__(self, state: Path):
        self.state = state
        self.conf = json.loads((state / "config.json").read_text())
        self.root = Path(self.conf["root"])

    def resolve(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def manifest(self) -> Path:
        return self.resolve("/etc/kubernetes/manifests/kube-apiserver.yaml")

    def resolve_in_apiserver(self, host_path: str) -> Path:
        """A path as kube-apiserver sees it: kubeadm's container sees only its hostPath mounts."""
        if self.conf["distribution"] != "kubeadm":
            return self.resolve(host_path)
        pod = json.loads((self.state / "running-spec").read_text())["spec"]
        volumes = {v["name"]: v["hostPath"]["path"] for v in pod.get("volumes", []) if "hostPath" in v}
        for mount in pod["containers"][0].get("volumeMounts", []):
            inside = mount["mountPath"].rstrip("/")
            if mount["name"] in volumes and (host_path == inside or host_path.startswith(inside + "/")):
                return self.resolve(volumes[mount["name"]] + host_path[len(inside):])
        return self.state / "not-mounted-in-the-container" / host_path.lstrip("/")

    def sync(self) -> None:
        """The kubelet's look at its manifest folder: a changed pod spec gets a new container."""
        import yaml

        try:
            spec = yaml.safe_load(self.manifest().read_text())
        except (OSError, yaml.YAMLError):
            spec = None
        running = self.state / "running-spec"
        if running.exists() and spec == json.loads(running.read_text()):
            return  # comments and layout do not matter: the pod is the same
        running.write_text(json.dumps(spec))
        generation = int(self.flag("generation") or "0") + 1
        (self.state / "generation").write_text(str(generation))
        old = self.flag("container")
        if old:
            exited = json.loads(self.flag("exited") or "[]")
            (self.state / "exited").write_text(json.dumps([old, *exited]))
        if spec is None:
            self.stop()
            (self.state / "container").write_text("")
            return
        self.restart()
        (self.state / "container").write_text(f"c{generation}")

    def flag(self, name: str) -> str | None:
        path = self.state / name
        return path.read_text() if path.exists() else None

    def container_alive(self) -> str:
        """The running container's id, or "" (and it moves to the exited ones) when its process ended."""
        container = self.flag("container") or ""
        if container and self.pid() is None:
            exited = json.loads(self.flag("exited") or "[]")
            (self.state / "exited").write_text(json.dumps([container, *exited]))
            (self.state / "container").write_text("")
            return ""
        return container

    def crictl(self, args: list[str]) -> int:
        self.sync()
        running = self.container_alive()
        if args == ["ps", "-a", "--name", "kube-apiserver", "--state", "exited", "-q"]:
            for container in json.loads(self.flag("exited") or "[]"):  # newest first
                print(container)
            return 0
        if args[:2] == ["logs", "--tail"] and len(args) == 4:
            logs = self.state / f"{args[3]}.log-path"
            if not logs.exists():
                print(f"crictl: no container {args[3]}", file=sys.stderr)
                return 1
            text = Path(logs.read_text()).read_text(errors="replace")
            print("\n".join(text.splitlines()[-int(args[2]):]))
            return 0
        if args == ["ps", "--name", "kube-apiserver", "--state", "running", "-q"]:
            if running:
                print(running)
            return 0
        print(f"stub crictl: unexpected {args}", file=sys.stderr)
        return 2

    def kubectl(self, args: list[str]) -> int:
        self.sync()
        if args[:2] == ["--kubeconfig", "/etc/kubernetes/admin.conf"]:
            args = args[2:]
        if args[:1] == ["--server"]:
            args = args[2:]  # this node's own API server: the supervisor's port
        if args == ["get", "--raw", "/readyz"]:
            return self.k3s(["kubectl", *args])
        return self.microk8s(["kubectl", *args])

    def record(self, argv: list[str]) -> None:
        with open(self.state / "calls.log", "a") as log:
            log.write(json.dumps(argv) + "\n")

    def client(self) -> Client:
        ca = self.state / "certs-ca.crt"
        return Client(f"https://127.0.0.1:{self.conf['port']}", ca, self.state / "admin.crt",
                      self.state / "admin.key")

    def command_line(self) -> list[str]:
        """kube-apiserver's argv for the args file, as kubelite builds it, plus the overrides."""
        if self.conf["distribution"] == "k3s":
            from apiserver.distro_hosts import k3s_apiserver_args

            # k3s's own serving flags (its server/tls files), then what it makes of the config.
            tls = self.conf["certs"]
            given = [f"--client-ca-file={tls}/ca.crt", f"--tls-cert-file={tls}/server.crt",
                     f"--tls-private-key-file={tls}/server.key", "--authorization-mode=Node,RBAC",
                     "--service-cluster-ip-range=10.43.0.0/16", "--allow-privileged=true"]
            given += k3s_apiserver_args(self.root)
        elif self.conf["distribution"] == "kubeadm":
            from apiserver.distro_hosts import kubeadm_apiserver_args

            given = kubeadm_apiserver_args(self.manifest().read_text())
        else:
            from apiserver.fakehost import kubelite_args

            given = kubelite_args(self.resolve(ARGS_FILE).read_text())
        args = []
        for arg in given:
            name, eq, value = arg.partition("=")
            if name in OVERRIDDEN or name in ("--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"):
                continue
            # Host paths live under the temp root (in kubeadm's container: only its mounts).
            if eq and value.startswith("/") and not value.startswith(str(self.root)):
                value = str(self.resolve_in_apiserver(value))
            args.append(f"{name}{eq}{value}")
        args += [
            f"--etcd-servers={self.conf['etcd']}", f"--etcd-prefix={self.conf['etcd_prefix']}",
            f"--secure-port={self.conf['port']}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
            "--disable-admission-plugins=ServiceAccount",
        ]
        return [self.conf["apiserver"], *args]

    def pid(self) -> int | None:
        path = self.state / "apiserver.pid"
        if not path.exists():
            return None
        pid = int(path.read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        # The port must be free before the next start.
        time.sleep(0.2)

    def restart(self) -> None:
        self.stop()
        started = time.time()
        log = self.state / f"apiserver-{started:.3f}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(self.command_line(), stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        (self.state / "apiserver.pid").write_text(str(process.pid))
        if self.conf["distribution"] == "kubeadm":
            generation = self.flag("generation") or "0"
            (self.state / f"c{generation}.log-path").write_text(str(log))

    def output_since(self, since: float) -> str:
        text = []
        for log in sorted(self.state.glob("apiserver-*.log")):
            if float(log.stem.split("-", 1)[1]) >= since:
                text.append(log.read_text(errors="replace"))
        return "".join(text)

    def wait_ready(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        client = self.client()
        while True:
            if self.pid() is None:
                return False  # it exited: its output says why
            if client.ready():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)

    # --- the stub programs --------------------------------------------------------

    def snap(self, args: list[str]) -> int:
        if args != ["restart", SERVICE]:
            print(f"stub snap: unexpected {args}", file=sys.stderr)
            return 2
        self.restart()
        print("Restarted.")
        return 0

    def microk8s(self, args: list[str]) -> int:
        if args[:2] == ["status", "--wait-ready"]:
            timeout = float(args[args.index("--timeout") + 1]) if "--timeout" in args else 300
            if self.wait_ready(timeout):
                print("microk8s is running")
                return 0
            print("microk8s is not running", file=sys.stderr)
            return 1
        if args[:3] == ["kubectl", "create", "token"]:
            rest = args[3:]
            name = rest[0]
            namespace = rest[rest.index("-n") + 1] if "-n" in rest else "default"
            try:
                print(self.client().token(rest[rest.index("--audience") + 1], namespace, name))
            except Exception as err:  # noqa: BLE001 - kubectl prints the error and exits 1
                print(f"error: {err}", file=sys.stderr)
                return 1
            return 0
        if args[:2] == ["kubectl", "get"]:
            return 0  # no workloads: nothing runs pods here
        if args == ["config"]:
            print(f"apiVersion: v1\nkind: Config\nclusters:\n- name: microk8s-cluster\n"
                  f"  cluster:\n    server: https://127.0.0.1:{self.conf['port']}\n")
            return 0
        print(f"stub microk8s: unexpected {args}", file=sys.stderr)
        return 2

    def systemctl(self, args: list[str]) -> int:
        if args != ["restart", "k3s"]:
            print(f"stub systemctl: unexpected {args}", file=sys.stderr)
            return 2
        self.restart()
        return 0

    def k3s(self, args: list[str]) -> int:
        if args == ["kubectl", "get", "--raw", "/readyz"]:
            if self.wait_ready(0):
                print("ok", end="")
                return 0
            print("The connection to the server 127.0.0.1:6443 was refused", file=sys.stderr)
            return 1
        if args[:1] == ["kubectl"]:
            return self.microk8s(args)
        print(f"stub k3s: unexpected {args}", file=sys.stderr)
        return 2

    def journalctl(self, args: list[str]) -> int:
        since = float(args[args.index("--since") + 1].lstrip("@")) if "--since" in args else 0.0
        print(self.output_since(since), end="")
        return 0


def main(argv: list[str]) -> int:
    state, program, *args = argv
    sys.path.insert(0, str(tests_dir()))
    sys.path.insert(1, str(tests_dir().parent))
    supervisor = Supervisor(Path(state))
    supervisor.record([program, *args])
    return getattr(supervisor, program)(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
