"""The Kubernetes hosts whose API servers are reconfigured over SSH: the distribution,
the nodes, the SSH login and pinned host keys, and the API endpoint."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from irsa.settings.keys import Secret
from irsa.settings.problems import _duplicates, _Problems

DISTRIBUTIONS = ("microk8s", "k3s", "kubeadm")

# The API server's port per distribution, for irsa:apiEndpoint's default.
API_PORTS = {"microk8s": 16443, "k3s": 6443, "kubeadm": 6443}

# Host key types pulumi-command's SSH client (golang.org/x/crypto/ssh) accepts as hostKey.
HOST_KEY_TYPES = (
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "ssh-rsa", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
# pulumi-command offers the pinned key's type as the only host key algorithm; for an
# RSA key that is SHA-1 "ssh-rsa", which OpenSSH >= 8.8 no longer accepts (it offers
# rsa-sha2-256/512): such a pin can never connect (tests/real/test_ssh_host_key_pins.py).
UNPINNABLE_HOST_KEY_TYPES = ("ssh-rsa",)

_SSH_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,253}$")
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")
_API_ENDPOINT = re.compile(r"^https://[A-Za-z0-9.\[\]:-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")


@dataclass(frozen=True)
class HostSettings:
    """The Kubernetes host whose API server is reconfigured over SSH."""

    distribution: str
    host: str
    ssh_user: str
    ssh_port: int
    ssh_private_key: Secret | None
    key_dir: str
    ready_timeout_seconds: int
    restart_workloads: bool
    # irsa:hosts: several control-plane nodes, in rollout order (``host`` is the
    # first); empty when irsa:host names the only one.
    hosts: tuple[str, ...] = ()
    # host -> its SSH host key ("TYPE BASE64"); empty: any server key is accepted.
    host_keys: Mapping[str, str] = field(default_factory=dict)
    # The API server URL the kubeconfig names, reachable from where `pulumi up` runs.
    api_endpoint: str = ""
    # Configure a host that another stack's irsa configured (irsa:takeOverHost).
    take_over: bool = False

    @property
    def nodes(self) -> tuple[str, ...]:
        """The hosts whose API servers this stack configures, in rollout order."""
        return self.hosts or ((self.host,) if self.host else ())


def _host_settings(v: dict[str, Any], p: _Problems, opaque: frozenset[str] = frozenset()) -> HostSettings:
    distribution = v["distribution"]
    if distribution is not None:
        p.check(distribution in DISTRIBUTIONS,
                f"irsa:distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")
    host, hosts = v["host"], v["hosts"]
    if host is not None and hosts is not None:
        if host and hosts:
            p.add("set irsa:host (one node) or irsa:hosts (several), not both")
        elif not host and not hosts:
            p.add("irsa:host is required (or irsa:hosts for several control-plane nodes): "
                  "pulumi config set irsa:host VALUE")
    for key, name in [("irsa:host", host)] + [(f"irsa:hosts[{i}]", h) for i, h in enumerate(hosts or ())]:
        if name:
            p.check(bool(_HOST.fullmatch(name)),
                    f"{key} must be a host name or IP address (no spaces, no user@ or :port), "
                    f"got {name!r}")
    for name in _duplicates([h.strip("[]") for h in hosts or ()]):
        p.add(f"irsa:hosts lists {name!r} more than once")
    nodes = tuple(hosts) if hosts else ((host,) if host else ())
    user = v["sshUser"]
    if user is not None:
        p.check(bool(_SSH_USER.fullmatch(user)), f"irsa:sshUser must be a login name, got {user!r}")
    port = v["sshPort"]
    if port is not None:
        p.check(1 <= port <= 65535, f"irsa:sshPort must be between 1 and 65535, got {port}")
    private_key = v["sshPrivateKey"]
    if private_key is not None and "sshPrivateKey" not in opaque:
        p.check("PRIVATE KEY-----" in private_key,
                "irsa:sshPrivateKey must be a PEM or OpenSSH private key "
                "(pulumi config set --secret irsa:sshPrivateKey < ~/.ssh/id_ed25519)")
    host_keys: dict[str, str] = {}
    # Offline (check-config) an encrypted host, port or key cannot be matched up; without
    # a host (a misspelled irsa:hosts) there is nothing to match, and that is said above.
    if v["sshHostKey"] and nodes and not {"host", "hosts", "sshPort", "sshHostKey"} & opaque:
        try:
            host_keys = parse_host_keys(v["sshHostKey"], nodes, port or 22)
        except ValueError as err:
            p.add(str(err))
    key_dir = v["keyDir"]
    if key_dir is not None:
        p.check(bool(_SAFE_PATH.fullmatch(key_dir)) and posixpath.normpath(key_dir) == key_dir
                and key_dir != "/",
                f"irsa:keyDir must be an absolute, normalised directory path of letters, digits, "
                f"'.', '_', '-' and '/', other than /, got {key_dir!r}")
    timeout = v["readyTimeoutSeconds"]
    if timeout is not None:
        p.check(10 <= timeout <= 3600,
                f"irsa:readyTimeoutSeconds must be between 10 and 3600, got {timeout}")
    endpoint = v["apiEndpoint"]
    if endpoint:
        p.check(bool(_API_ENDPOINT.fullmatch(endpoint)) and not endpoint.endswith("/"),
                "irsa:apiEndpoint must be the API server's https URL as reached from where "
                f"pulumi up runs, e.g. https://{nodes[0] if nodes else 'HOST'}:16443 (no query, no "
                f"trailing slash), got {endpoint!r}")
    elif nodes and distribution in API_PORTS:
        endpoint = f"https://{_url_host(nodes[0])}:{API_PORTS[distribution]}"
    return HostSettings(
        distribution=distribution or "",
        host=nodes[0] if nodes else "",
        ssh_user=user or "",
        ssh_port=port or 0,
        ssh_private_key=Secret(private_key) if private_key else None,
        key_dir=key_dir or "",
        ready_timeout_seconds=timeout or 0,
        restart_workloads=bool(v["restartWorkloads"]),
        hosts=tuple(hosts or ()),
        host_keys=host_keys,
        api_endpoint=endpoint or "",
        take_over=bool(v["takeOverHost"]),
    )


def _url_host(host: str) -> str:
    """A host as a URL names it: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def parse_host_keys(text: str, hosts: tuple[str, ...], port: int) -> dict[str, str]:
    """The SSH host key of each host, from irsa:sshHostKey; raises ValueError naming the problem.

    Accepts what ``ssh-keyscan`` prints: one line ``HOST TYPE BASE64`` per host
    (``[HOST]:PORT`` on a port other than 22), or, for a single host, the bare
    ``TYPE BASE64 [comment]`` of its ``/etc/ssh/ssh_host_*_key.pub``. Each key is
    checked to be SSH wire format of its type. One key per host, because
    pulumi-command pins exactly one (ssh.FixedHostKey over ssh.ParseAuthorizedKey).
    """
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    found: dict[str, str] = {}
    prefix = "irsa:sshHostKey"
    for line in lines:
        words = line.split()
        if words and words[0] in HOST_KEY_TYPES:
            if len(hosts) != 1 or len(lines) != 1:
                raise ValueError(f"{prefix}: with several hosts, give one line per host as "
                                 "ssh-keyscan prints it: HOST TYPE KEY")
            name, key_type, body = hosts[0], words[0], words[1] if len(words) > 1 else ""
        elif len(words) >= 3:
            name, key_type, body = words[0], words[1], words[2]
            if name.startswith("|1|"):
                raise ValueError(f"{prefix}: hashed known_hosts entries cannot be matched to a "
                                 "host; use ssh-keyscan without -H")
            bracketed = re.fullmatch(r"\[(.+)\]:(\d+)", name)
            if bracketed:
                name = bracketed.group(1)
                if int(bracketed.group(2)) != port:
                    raise ValueError(f"{prefix}: the key for {words[0]} is for port "
                                     f"{bracketed.group(2)}, but irsa:sshPort is {port}")
        else:
            raise ValueError(f"{prefix} must hold a public key as ssh-keyscan prints it "
                             f"(e.g. 'ssh-ed25519 AAAA…'), got {line[:60]!r}")
        if key_type not in HOST_KEY_TYPES:
            raise ValueError(f"{prefix}: unknown key type {key_type!r}; one of "
                             f"{', '.join(HOST_KEY_TYPES)}")
        if not _is_ssh_key_blob(key_type, body):
            inner = _ssh_key_blob_type(body)
            if inner in HOST_KEY_TYPES and inner != key_type:
                raise ValueError(f"{prefix}: the key for {name} is labelled {key_type} but is an "
                                 f"{inner} key: write '{inner} {body[:12]}…'")
            raise ValueError(f"{prefix}: the {key_type} key for {name} is not a valid key "
                             "(truncated or mistyped base64?)")
        if key_type in UNPINNABLE_HOST_KEY_TYPES:
            flag = f" -p {port}" if port != 22 else ""
            raise ValueError(f"{prefix}: the {key_type} key for {name} cannot be pinned: pulumi-command then "
                             f"offers only the SHA-1 {key_type} algorithm, which OpenSSH 8.8 and newer refuse "
                             "(no common algorithm for host key); pin its ed25519 key instead "
                             f"(ssh-keyscan{flag} -t ed25519 {name})")
        if name not in hosts:
            raise ValueError(f"{prefix} has a key for {name!r}, which is not a configured host "
                             f"({', '.join(hosts) or 'none'})")
        if name in found:
            raise ValueError(f"{prefix} has more than one key for {name}: keep one "
                             "(ssh-keyscan -t ed25519 prints one)")
        found[name] = f"{key_type} {body}"
    missing = [h for h in hosts if h not in found]
    if missing:
        raise ValueError(f"{prefix} has no key for {', '.join(missing)}: add a line "
                         f"'HOST TYPE KEY' for each (ssh-keyscan -t ed25519 {' '.join(missing)})")
    return found


def _ssh_key_blob_type(body: str) -> str | None:
    """The key type an SSH public key blob names inside (RFC 4253 6.6), or None."""
    import base64
    import binascii

    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    length = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else 0
    try:
        return blob[4:4 + length].decode("ascii") if 0 < length <= 64 else None
    except UnicodeDecodeError:
        return None


def _is_ssh_key_blob(key_type: str, body: str) -> bool:
    """Whether base64 ``body`` is an SSH public key blob that starts with its own type name (RFC 4253 6.6)."""
    import base64
    import binascii

    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(blob) < 4:
        return False
    length = int.from_bytes(blob[:4], "big")
    return blob[4:4 + length] == key_type.encode() and len(blob) > 4 + length
