"""A MicroK8s-shaped host whose restart (re)starts a REAL kube-apiserver (with a real etcd).

Run as a program, this file is the host's ``snap``, ``microk8s`` and
``journalctl`` (``apiserver_host.py STATE PROGRAM ARGS...``), the small
supervisor the issue allows: everything past it is the real API server.

- ``snap restart microk8s.daemon-kubelite``: stops the running kube-apiserver
  and starts it again from the args file the way kubelite reads it
  (``fakehost.kubelite_args``), with the host's paths under the fake root.
  Only what a loopback test needs is put on top, after the file's own flags:
  the etcd of the test (MicroK8s runs kine), the port, loopback binding,
  ``--endpoint-reconciler-type=none`` and no ServiceAccount admission plugin
  (no controller manager runs; it also makes the ``default`` ServiceAccount,
  as the controller manager would).
- ``microk8s status --wait-ready [--timeout N]``: the real ``/readyz``.
- ``microk8s config``: an admin kubeconfig (client certificate, system:masters).
- ``microk8s kubectl create token|get|rollout``: the calls the host script
  makes, done against the real API.
- ``journalctl -u snap.microk8s.daemon-kubelite --since @T``: the API
  server's own output since T.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SNAP_DATA = "/var/snap/microk8s/current"
HERE = Path(__file__).resolve()
TESTS = HERE.parents[1]
FIXTURE = TESTS / "fixtures" / "microk8s" / "kube-apiserver"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from apiserver.fakehost import flag_values, kubelite_args  # noqa: E402
# MicroK8s's own admission-control-config-file.yaml (EventRateLimit's limits).
from apiserver.real_hosts import ADMISSION_CONFIG  # noqa: E402

PAUSE = "pause-restart"


# --- the PKI MicroK8s makes at install time ------------------------------------


def _pki(certs: Path, state: Path, addresses: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def pem_key(k) -> bytes:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                               serialization.NoEncryption())

    def ca(name: str):
        k = key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(k.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=3))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(k, hashes.SHA256()))
        return cert, k

    def leaf(ca_pair, cn: str, orgs=(), server=False):
        ca_cert, ca_key = ca_pair
        k = key()
        names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] + [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
        b = (x509.CertificateBuilder().subject_name(x509.Name(names)).issuer_name(ca_cert.subject)
             .public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            sans = [x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default.svc")]
            sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(ca_key, hashes.SHA256()), k

    def write(name: str, cert, k, directory: Path = certs) -> None:
        (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if k is not None:
            (directory / f"{name}.key").write_bytes(pem_key(k))

    main_ca = ca("10.152.183.1")
    write("ca", main_ca[0], main_ca[1])
    write("server", *leaf(main_ca, "127.0.0.1", server=True))
    write("apiserver-kubelet-client", *leaf(main_ca, "kube-apiserver-kubelet-client", ("system:masters",)))
    front = ca("front-proxy-ca")
    write("front-proxy-ca", front[0], front[1])
    write("front-proxy-client", *leaf(front, "front-proxy-client"))
    write("admin", *leaf(main_ca, "admin", ("system:masters",)), directory=state)
    (certs / "serviceaccount.key").write_bytes(pem_key(key()))


# --- the host as the test sees it ------------------------------------------------


@dataclass
class MicroK8sHost:
    """The fake root, the stubs' state, and the API server they run."""

    root: Path
    state: Path
    bin: Path
    port: int

    @property
    def session_env(self) -> dict[str, str]:
        return {"IRSA_HOST_ROOT": str(self.root), "PATH": f"{self.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

    @property
    def api_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def args_path(self) -> Path:
        return self.root / SNAP_DATA.lstrip("/") / "args" / "kube-apiserver"

    def restarts(self) -> int:
        path = self.state / "restarts"
        return int(path.read_text()) if path.exists() else 0

    def running_flags(self) -> dict[str, list[str]]:
        """The flags of the running API server that came from the args file (the test's own left out)."""
        argv = json.loads((self.state / "running-argv").read_text())
        return flag_values([a for a in argv[1:] if a not in json.loads((self.state / "added").read_text())])

    def wait_ready(self, timeout: float) -> bool:
        return _wait_ready(self.state, timeout)

    def kubeconfig(self) -> str:
        return _config(self.state)

    def stop(self) -> None:
        _stop_apiserver(self.state)
        etcd = self.state / "etcd.pid"
        if etcd.exists():
            _kill(int(etcd.read_text()))
        shutil.rmtree(self.state.parent, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_microk8s_host(directory: Path, addresses: tuple[str, ...] = (),
                        wrap: list[str] | None = None) -> MicroK8sHost:
    """Lay out the host (MicroK8s's real default args file, its certs), start etcd and the API server.

    ``wrap`` is a command prefix the API server runs under (the test's private host names).
    """
    from real import parts

    root, state, stubs = directory / "root", directory / "state", directory / "bin"
    data = root / SNAP_DATA.lstrip("/")
    (data / "args").mkdir(parents=True)
    (data / "certs").mkdir(parents=True)
    state.mkdir()
    stubs.mkdir()
    shutil.copyfile(FIXTURE, data / "args" / "kube-apiserver")
    (data / "args" / "admission-control-config-file.yaml").write_text(ADMISSION_CONFIG)
    _pki(data / "certs", state, ["127.0.0.1", *addresses])
    port, etcd_port, peer = _free_port(), _free_port(), _free_port()
    etcd_log = open(state / "etcd.log", "wb")  # noqa: SIM115
    etcd = subprocess.Popen(
        [str(parts.binary("etcd")), "--name", "irsa", "--data-dir", str(state / "etcd"),
         "--listen-client-urls", f"http://127.0.0.1:{etcd_port}", "--advertise-client-urls",
         f"http://127.0.0.1:{etcd_port}", "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"irsa=http://127.0.0.1:{peer}", "--log-level", "warn"],
        stdout=etcd_log, stderr=subprocess.STDOUT, start_new_session=True)
    (state / "etcd.pid").write_text(str(etcd.pid))
    settings = {"root": str(root), "port": port, "etcd": f"http://127.0.0.1:{etcd_port}",
                "apiserver": str(parts.binary("kube-apiserver")), "wrap": list(wrap or [])}
    (state / "settings.json").write_text(json.dumps(settings))
    for program in ("snap", "microk8s", "journalctl"):
        stub = stubs / program
        stub.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE} {state} {program} \"$@\"\n")
        stub.chmod(0o755)
    host = MicroK8sHost(root, state, stubs, port)
    _start_apiserver(state)
    if not _wait_ready(state, 120):
        raise RuntimeError(f"kube-apiserver did not become ready: {_journal(state, 0)[-3000:]}")
    (state / "restarts").write_text("0")
    return host


# --- the stubs ------------------------------------------------------------------


def _settings(state: Path) -> dict:
    return json.loads((state / "settings.json").read_text())


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_apiserver(state: Path) -> None:
    pid = state / "apiserver.pid"
    if pid.exists():
        _kill(int(pid.read_text()))
        pid.unlink()


def _host_path(root: str, value: str) -> str:
    """A path on the host, under the fake root."""
    return root + value if value.startswith("/") and not value.startswith(root) else value


def _argv(state: Path) -> tuple[list[str], list[str]]:
    s = _settings(state)
    root = s["root"]
    text = (Path(root) / SNAP_DATA.lstrip("/") / "args" / "kube-apiserver").read_text()
    args = []
    for arg in kubelite_args(text):
        name, eq, value = arg.partition("=")
        if eq and value.startswith("/"):
            value = _host_path(root, value)
        args.append(f"{name}{eq}{value}" if eq else arg)
    # What a loopback test adds (after the file's flags, so these win); see the module docstring.
    added = [f"--etcd-servers={s['etcd']}", f"--secure-port={s['port']}", "--bind-address=127.0.0.1",
             "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
             "--disable-admission-plugins=ServiceAccount"]
    # MicroK8s's kine socket is not there: drop the file's own etcd servers.
    args = [a for a in args if not a.startswith("--etcd-servers=")]
    return [s["apiserver"], *args, *added], added


def _start_apiserver(state: Path) -> None:
    argv, added = _argv(state)
    log = open(state / "apiserver.log", "ab")  # noqa: SIM115
    log.write(f"--- start {time.time():.0f}\n".encode())
    log.flush()
    process = subprocess.Popen([*_settings(state).get("wrap", []), *argv], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    (state / "apiserver.pid").write_text(str(process.pid))
    (state / "running-argv").write_text(json.dumps(argv))
    (state / "added").write_text(json.dumps(added))


def _context(state: Path) -> ssl.SSLContext:
    root = _settings(state)["root"]
    context = ssl.create_default_context(cafile=f"{root}{SNAP_DATA}/certs/ca.crt")
    context.load_cert_chain(str(state / "admin.crt"), str(state / "admin.key"))
    return context


def _api(state: Path, method: str, path: str, body=None, timeout: float = 5):
    port = _settings(state)["port"]
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=_context(state), timeout=timeout) as reply:  # noqa: S310
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _wait_ready(state: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _ = _api(state, "GET", "/readyz", timeout=2)
            if status == 200:
                # The controller manager's ServiceAccount controller would make it.
                _api(state, "POST", "/api/v1/namespaces/default/serviceaccounts",
                     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
                return True
        except (OSError, ssl.SSLError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _config(state: Path) -> str:
    s = _settings(state)
    ca = Path(f"{s['root']}{SNAP_DATA}/certs/ca.crt").read_bytes()
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
        f"    certificate-authority-data: {b64(ca)}\n    server: https://127.0.0.1:{s['port']}\n"
        "  name: microk8s-cluster\ncontexts:\n- context:\n    cluster: microk8s-cluster\n    user: admin\n"
        "  name: microk8s\ncurrent-context: microk8s\nusers:\n- name: admin\n  user:\n"
        f"    client-certificate-data: {b64((state / 'admin.crt').read_bytes())}\n"
        f"    client-key-data: {b64((state / 'admin.key').read_bytes())}\n"
    )


def _journal(state: Path, since: float) -> str:
    text = (state / "apiserver.log").read_text(errors="replace") if (state / "apiserver.log").exists() else ""
    out, keep = [], False
    for line in text.splitlines():
        if line.startswith("--- start "):
            keep = float(line.split()[2]) >= since
            continue
        if keep:
            out.append(line)
    return "\n".join(out)


def _option(args: list[str], name: str, default: str = "") -> str:
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def _kubectl(state: Path, args: list[str]) -> int:
    if args[:2] == ["create", "token"]:
        name, namespace = args[2], _option(args, "-n", "default")
        audience = _option(args, "--audience")
        spec = {"audiences": [audience]} if audience else {}
        status, body = _api(state, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
        if status != 201:
            print(f"error: {body.decode(errors='replace')}", file=sys.stderr)
            return 1
        print(json.loads(body)["status"]["token"])
        return 0
    if args[:2] == ["get", "--raw"]:
        status, body = _api(state, "GET", args[2])
        sys.stdout.write(body.decode(errors="replace"))
        return 0 if status == 200 else 1
    if args and args[0] == "get":  # the workload list of restartWorkloads: none run here
        return 0
    print(f"apiserver_host: kubectl {' '.join(args)} is not modelled", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    state, program, args = Path(argv[1]), argv[2], argv[3:]
    if program == "snap":
        if args[:1] == ["restart"]:
            # A test holds the restart here (to cut the SSH session meanwhile) by creating PAUSE.
            if (state / PAUSE).exists():
                (state / "paused").write_text(str(os.getpid()))
                deadline = time.monotonic() + 600
                while (state / PAUSE).exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
            _stop_apiserver(state)
            _start_apiserver(state)
            count = int((state / "restarts").read_text() or 0) if (state / "restarts").exists() else 0
            (state / "restarts").write_text(str(count + 1))
            return 0
        print(f"snap {' '.join(args)}: not modelled", file=sys.stderr)
        return 1
    if program == "journalctl":
        since = _option(args, "--since", "@0").lstrip("@")
        print(_journal(state, float(since or 0)))
        return 0
    if program == "microk8s":
        if args[:1] == ["status"]:
            return 0 if _wait_ready(state, float(_option(args, "--timeout", "30"))) else 1
        if args[:1] == ["config"]:
            sys.stdout.write(_config(state))
            return 0
        if args[:1] == ["kubectl"]:
            return _kubectl(state, args[1:])
    print(f"{program} {' '.join(args)}: not modelled", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
