"""What every distribution's host script shares: its inputs, their checks, the modes.

Pure, no Pulumi. A distribution module (``microk8s.py``) adds the part that
knows where its API server's flags live and how to restart it.

Modes (``bash -s -- MODE`` with the script on stdin). Each makes the node's
API server *accept* a set of issuers and verification keys and *sign* with
one issuer and key; ``common.sh`` (``irsa_plan``) decides both, the same for
every distribution:

``accept``
    Accept this config's issuer and keys too; keep signing with what the node
    signs with now (irsa's earlier signer, or the host's own). Adds only.
``sign``
    Sign with this config's issuer and first key; keep accepting everything
    accepted before. Adds only.
``retire``
    Accept only this config's issuer and keys (and the host's own lines, and
    the previous issuers of a move between issuer hosts); the node must
    already sign with this config (refused otherwise). Before
    ``IRSA_RETIRE_FROM`` (an epoch second; 0: any time) it holds instead:
    nothing accepted is dropped, so tokens signed under the previous signer
    stay valid until they expire.
``apply``
    ``sign`` and ``retire`` in one restart: for a single node, and by hand.
``unsign``
    Sign with the host's own issuer and key again; keep accepting irsa's.
``revert``
    Remove everything irsa added; the file is the one irsa found, byte for
    byte; only irsa's own key files are removed.

A rollout (``irsa/apiserver/rollout.py``) runs ``accept`` on every node but
the last, ``sign`` on the last (accept and sign in one restart), then
``sign`` on the others, one node at a time; ``retire`` runs on every node
once the previous signer's tokens have expired (a later ``up``). Destroy
runs ``unsign`` on every node but the last, then every ``revert``.
Every change-mode run records when the node's signer changed
(``$IRSA_STATE_DIR/signer``) and prints one ``irsa: rollout-state`` line the
program reads. Because accept, sign and unsign
only add to what a node accepts, and only retire and revert remove, every
running API server accepts whatever any other one signs at every step.
Every mode is idempotent: when the file and keys already say what the mode
wants, nothing is written and the API server is not restarted.

A distribution section (``microk8s.sh``) implements these shell hooks:
``irsa_dist_config_path`` (the flags file), ``irsa_dist_preflight`` (checks,
sets ``IRSA_CONFIG_FILE``), ``irsa_dist_strip`` (stdin→stdout without irsa's
lines; byte for byte the file irsa found), ``irsa_dist_render STRIPPED``
(the file with the lines ``IRSA_WANT_*`` asks for), ``irsa_dist_current FILE``
(``IRSA_CUR_*``: what irsa's lines accept and sign with),
``irsa_dist_signing_issuer FILE``, ``irsa_dist_marked_key_paths FILE``,
``irsa_dist_restart_and_wait`` (sets ``IRSA_PROBLEM`` on failure),
``irsa_issue_token AUDIENCE`` and ``irsa_kubectl``; it sets
``IRSA_DIST_PREFIX`` (the prefix of its own variables, which the detached
copy of the script carries). Hooks may read ``IRSA_MODE``. Optional:
``irsa_dist_backup_dir`` (where ``*.irsa-pristine``/``*.irsa-previous`` go
instead of beside the file: kubeadm's kubelet would run a copy in its
folder), and ``IRSA_DIST_OWNS_FILE=true`` with ``irsa_dist_remove FILE`` for
a file that is irsa's own (k3s's drop-in): a missing file reads as empty and
an empty result is removed, not written. ``microk8s.sh``, ``k3s.sh`` and
``kubeadm.sh`` implement the hooks.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from irsa import oidc
from irsa.settings import HostSettings

MODES = ("accept", "sign", "retire", "apply", "unsign", "revert")
# Kubernetes key ids are base64url: safe in file names and shell words as they are.
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
_KEY_DIR = re.compile(r"^/[A-Za-z0-9._/-]*$")
# Audiences become one comma-separated flag value, unquoted, in a line kubelite splits on spaces.
_AUDIENCE = re.compile(r"^[^\s,\"'#\\]+$")
# Node and stack names travel in the script and the host's owner file.
_NAME = re.compile(r"^[A-Za-z0-9._:/\[\]-]{1,300}$")

COMMON_SHELL = Path(__file__).with_name("common.sh")


class HostConfigError(ValueError):
    """Inputs that would give a broken or unsafe host script."""


@dataclass(frozen=True)
class HostConfig:
    """Everything the host script needs, already resolved to plain values.

    ``key_ids`` and ``public_keys_pem`` are in the same order, the signing key
    first; ``signing_private_key_pem`` is that first key's private half.
    """

    issuer_url: str
    key_ids: tuple[str, ...]
    public_keys_pem: tuple[str, ...]
    signing_private_key_pem: str = field(repr=False)
    api_audiences: tuple[str, ...]
    audience: str
    key_dir: str
    ready_timeout_seconds: int
    restart_workloads: bool
    # Which node of which stack this is: kept on the host, so another stack's
    # host is refused and a renamed node's revert leaves the host alone.
    node: str = "node"
    owner_stack: str = "irsa"
    take_over: bool = False
    # How long a run waits for another run's host-side lock; 0: two ready
    # timeouts (a change and its rollback) and two minutes.
    lock_timeout_seconds: int = 0
    # Issuers the node keeps accepting (never signing) while the issuer moves
    # between hosts (irsa:previousIssuerHosts), so tokens pods hold stay valid.
    previous_issuer_urls: tuple[str, ...] = ()
    # retire drops nothing before this epoch second (0: any time); see rollout.py.
    retire_from: int = 0

    def __post_init__(self) -> None:
        check(self)


def host_config(
    host: HostSettings,
    *,
    issuer_url: str,
    key_ids: Sequence[str],
    public_keys_pem: Sequence[str],
    signing_private_key_pem: str,
    api_audiences: Sequence[str],
    audience: str,
    node: str = "node",
    owner_stack: str = "irsa",
    previous_issuer_urls: Sequence[str] = (),
    retire_from: int = 0,
) -> HostConfig:
    """The script's inputs from the host's settings and the issuer's resolved values."""
    return HostConfig(
        issuer_url=issuer_url,
        key_ids=tuple(key_ids),
        public_keys_pem=tuple(public_keys_pem),
        signing_private_key_pem=signing_private_key_pem,
        api_audiences=tuple(api_audiences),
        audience=audience,
        key_dir=host.key_dir,
        ready_timeout_seconds=host.ready_timeout_seconds,
        restart_workloads=host.restart_workloads,
        node=node,
        owner_stack=owner_stack,
        take_over=host.take_over,
        previous_issuer_urls=tuple(previous_issuer_urls),
        retire_from=retire_from,
    )


def check(config: HostConfig) -> None:
    """Raise ``HostConfigError`` unless the keys agree with each other and every value is safe."""
    oidc.check_issuer_url(config.issuer_url)
    for url in config.previous_issuer_urls:
        oidc.check_issuer_url(url)
        if url == config.issuer_url:
            raise HostConfigError(f"the previous issuer {url} is the issuer itself")
    if not config.key_ids or len(config.key_ids) != len(config.public_keys_pem):
        raise HostConfigError(
            f"need one key id per public key, signing key first; got {len(config.key_ids)} key ids "
            f"and {len(config.public_keys_pem)} public keys"
        )
    for kid, pem in zip(config.key_ids, config.public_keys_pem, strict=True):
        if not _KEY_ID.match(kid) or oidc.key_id(oidc.load_public_key(pem.encode())) != kid:
            raise HostConfigError(f"key id {kid!r} is not the Kubernetes key id of its public key")
    signing_kid = oidc.key_id(oidc.load_public_key(config.signing_private_key_pem.encode()))
    if signing_kid != config.key_ids[0]:
        raise HostConfigError("the signing private key does not belong to the first public key")
    if len(set(config.key_ids)) != len(config.key_ids):
        raise HostConfigError("a public key is listed more than once")
    for audience in (config.audience, *config.api_audiences):
        if not _AUDIENCE.match(audience):
            raise HostConfigError(
                f"audience {audience!r} must be non-empty, without spaces, commas, quotes or '#'"
            )
    if not config.api_audiences:
        raise HostConfigError("at least one API audience is needed")
    if not _KEY_DIR.match(config.key_dir) or config.key_dir in ("/", "") or "/." in config.key_dir:
        raise HostConfigError(f"key directory {config.key_dir!r} must be a plain absolute path")
    for what, name in (("node", config.node), ("stack", config.owner_stack)):
        if not _NAME.match(name):
            raise HostConfigError(f"{what} name {name!r} must be letters, digits and ._:/[]-")
    if config.retire_from < 0:
        raise HostConfigError("the retire time must be an epoch second, or 0")
    if config.ready_timeout_seconds < 1:
        raise HostConfigError("the ready timeout must be at least one second")


def pem_text(pem: str) -> str:
    """A PEM block exactly as written to the host: no surrounding blank lines, one final newline.

    One canonical form keeps the script, and so the Pulumi inputs, identical run after run.
    """
    return pem.strip() + "\n"


def shell_inputs(config: HostConfig) -> str:
    """The script's input section: one shell assignment per value, quoted for bash.

    Keys are plain single-quoted strings written with the ``printf`` builtin,
    so no key ever reaches a process's command line.
    """
    public_keys = "\n".join(f"  {shlex.quote(pem_text(p))}" for p in config.public_keys_pem)
    lines = [
        f"IRSA_ISSUER={shlex.quote(config.issuer_url)}",
        f"IRSA_AUDIENCE={shlex.quote(config.audience)}",
        f"IRSA_API_AUDIENCES={shlex.quote(','.join(config.api_audiences))}",
        f"IRSA_KEY_DIR={shlex.quote(config.key_dir)}",
        f"IRSA_READY_TIMEOUT={config.ready_timeout_seconds}",
        f"IRSA_LOCK_TIMEOUT={config.lock_timeout_seconds or 2 * config.ready_timeout_seconds + 120}",
        f"IRSA_RESTART_WORKLOADS={'true' if config.restart_workloads else 'false'}",
        f"IRSA_NODE={shlex.quote(config.node)}",
        f"IRSA_OWNER_STACK={shlex.quote(config.owner_stack)}",
        f"IRSA_TAKE_OVER={'true' if config.take_over else 'false'}",
        f"IRSA_KEY_IDS=({' '.join(config.key_ids)})",
        f"IRSA_PREVIOUS_ISSUERS=({' '.join(shlex.quote(u) for u in config.previous_issuer_urls)})",
        f"IRSA_RETIRE_FROM={int(config.retire_from)}",
        f"IRSA_PUBLIC_KEYS=(\n{public_keys}\n)",
        f"IRSA_SIGNING_KEY={shlex.quote(pem_text(config.signing_private_key_pem))}",
    ]
    return "\n".join(lines) + "\n"


def assemble_script(title: str, prefix: str, variables: Mapping[str, str], shell: Path,
                    config: HostConfig) -> str:
    """One distribution's whole host script: header, inputs, its own variables, the shell.

    ``variables`` become ``PREFIX_NAME=value`` lines; the detached copy of the
    script carries every variable with that prefix. Deterministic: the same
    inputs give the same bytes, so an unchanged stack runs nothing on the host.
    """
    header = (
        "#!/usr/bin/env bash\n"
        f"# irsa host script for {title}: makes kube-apiserver sign service-account\n"
        "# tokens for an external OIDC issuer (IAM Roles for Service Accounts).\n"
        "# Rendered by irsa (irsa/apiserver) from the Pulumi stack; do not edit.\n"
        "# Runs as root with the script on stdin: bash -s -- MODE, one of\n"
        f"# {' | '.join(MODES)} (irsa/apiserver/common.py)\n"
        "set -euo pipefail\n"
    )
    distribution = "\n".join(
        [f"IRSA_DIST_PREFIX={prefix}",
         *(f"{prefix}{name}={shlex.quote(value)}" for name, value in variables.items())]
    )
    return "\n".join(
        [header, "# --- inputs ---", shell_inputs(config), distribution, "",
         COMMON_SHELL.read_text(), shell.read_text(), 'irsa_main "$@" </dev/null', ""]
    )


def as_root(command: str) -> str:
    """A command line that runs ``command`` as root over SSH.

    As root it runs as it is; any other user goes through ``sudo -n``, and a
    user without passwordless sudo gets a message naming what is missing
    instead of a password prompt that would hang.
    """
    return (
        f'if [ "$(id -u)" -eq 0 ]; then exec {command}; fi; '
        f"if sudo -n true 2>/dev/null; then exec sudo -n {command}; fi; "
        'echo "irsa: the user $(id -un) needs passwordless sudo (sudo -n true failed), '
        'or connect as root (irsa:sshUser)" >&2; exit 1'
    )


def command_line(mode: str) -> str:
    """The command Pulumi runs over SSH for ``mode``; the script arrives on stdin.

    Nothing secret is on this line: keys travel inside the script.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return as_root(f"bash -s -- {mode}")
