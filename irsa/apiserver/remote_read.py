"""Reading a file from a node over SSH on every run, with the OpenSSH client where Pulumi runs.

Pure, no Pulumi: the bash script and its standard input. ``irsa.components.cluster``
runs them with pulumi-command's ``local.run`` invoke, which runs on every
preview and update and stores nothing, so the admin kubeconfig is read fresh
each time (a renewed client certificate is picked up) and the preview shows no
diff for it. pulumi-command 1.x has no remote counterpart of ``local.run``.

Secrets never reach a command line: the private key and the pinned host key
come on standard input and are written to a private temporary directory that
is removed on exit. With a host key configured, exactly that key is accepted
(``StrictHostKeyChecking=yes`` under a fixed alias); without one, any key, as
``remote.Command`` does without ``hostKey``. Without a private key, the SSH
agent (``SSH_AUTH_SOCK``) is used.
"""

from __future__ import annotations

import re
import shlex

# The name the pinned key is filed under, whatever the address: no [host]:port forms.
HOST_KEY_ALIAS = "irsa-node"
CONNECT_TIMEOUT_SECONDS = 15


def script(user: str, address: str, port: int, remote_command: str) -> str:
    """A bash script that prints ``remote_command``'s output from ``user@address:port``.

    An IPv6 address may come in brackets (irsa:hosts allows it); ssh gets it bare.

    Standard input: the host key (``TYPE BASE64``) or an empty line, then the
    private key's text (nothing: use the SSH agent). On failure, one line on
    stderr naming the node, and exit 1.
    """
    node = f"{user}@{address} port {int(port)}"
    if not re.fullmatch(r"[A-Za-z0-9_.:\[\]@ -]+", node):
        raise ValueError(f"not an SSH user, address and port: {node!r}")
    return f"""set -euo pipefail
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
IFS= read -r host_key || true
cat > "$work/key"
options=(-F /dev/null -o BatchMode=yes -o ConnectTimeout={CONNECT_TIMEOUT_SECONDS} -o LogLevel=ERROR \\
  -p {int(port)} -l {shlex.quote(user)})
if [ -n "$host_key" ]; then
  printf '%s %s\\n' {HOST_KEY_ALIAS} "$host_key" > "$work/known_hosts"
  options+=(-o HostKeyAlias={HOST_KEY_ALIAS} -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$work/known_hosts")
else
  options+=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
fi
if [ -s "$work/key" ]; then
  options+=(-i "$work/key" -o IdentitiesOnly=yes)
fi
if ! output=$(ssh "${{options[@]}}" {shlex.quote(address.strip("[]"))} {shlex.quote(remote_command)} </dev/null 2>"$work/err"); then
  echo "irsa: could not read the kubeconfig from {node} over SSH: $(tail -n 1 "$work/err")" >&2
  exit 1
fi
printf '%s\\n' "$output"
"""


def stdin(host_key: str | None, private_key: str | None) -> str:
    """The script's standard input: the host key line, then the private key."""
    if host_key and "\n" in host_key:
        raise ValueError("a host key is one line: TYPE BASE64")
    return f"{host_key or ''}\n{private_key or ''}"
