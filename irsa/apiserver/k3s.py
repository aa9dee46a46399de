"""The host script for k3s: one drop-in file of irsa's own in ``/etc/rancher/k3s/config.yaml.d/``.

Pure, no Pulumi. ``render`` returns the whole bash script; the logic lives in
``common.sh`` and ``k3s.sh`` beside this file, the inputs are prepended.

Why a drop-in and how its lines combine with k3s's own flags (k3s-io/k3s):

- ``pkg/configfilearg/parser.go`` (``readConfigFile``, ``dotDFiles``): k3s reads
  ``config.yaml`` and then every ``*.yaml``/``*.yml`` file of ``config.yaml.d/``
  in lexical order; a later file's key replaces an earlier one's, unless the key
  ends in ``+``, which appends to the list. So ``kube-apiserver-arg+:`` adds to
  what the user configured instead of replacing it, and revert only has to
  delete irsa's file. Other names (``99-irsa.yaml.irsa-previous``) are not read.
- ``pkg/daemons/control/server.go`` (``apiServer``): k3s passes its own
  ``--service-account-issuer=https://kubernetes.default.svc.<cluster-domain>``,
  ``--service-account-key-file=<data-dir>/server/tls/service.key``,
  ``--service-account-signing-key-file=<data-dir>/server/tls/service.current.key``
  and ``--api-audiences=https://kubernetes.default.svc.<cluster-domain>,k3s``.
- ``GetArgs`` (``pkg/daemons/config/types.go`` since k3s-io/k3s#5373, April 2022;
  ``pkg/util/args.go`` today): a user value replaces k3s's value of that flag,
  repeated user values all stay in order, a flag name ending in ``-`` puts the
  value *before* k3s's (or the earlier user values), one ending in ``+`` after.
  irsa's issuer and public keys use ``-`` (ours signs, the previous issuer and
  keys stay accepted), the audiences use ``+`` (tokens pods hold stay valid),
  the signing key replaces k3s's. A k3s whose GetArgs lacks this passes the
  unknown flag ``--service-account-issuer-`` to kube-apiserver, which refuses
  it; the API server then does not come back and the change is rolled back.
- The 'accept' phase (``irsa_accept``) uses ``+`` for the issuer and keys and
  no signing key: accepted, not signing (several servers, see docs/distributions.md).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from irsa.apiserver.common import COMMON_SHELL, HostConfig, shell_inputs

CONFIG_DIR = "/etc/rancher/k3s"
# Lexically last among the usual NN-name.yaml drop-ins, so nothing after it replaces irsa's list.
DROP_IN = f"{CONFIG_DIR}/config.yaml.d/99-irsa.yaml"
PREVIOUS_SUFFIX = ".irsa-previous"
SERVICE = "k3s"
KUBECONFIG = f"{CONFIG_DIR}/k3s.yaml"
# The header line that says irsa made config.yaml.d itself, so revert removes it when empty.
MARK_CREATED_DIR = "# irsa created config.yaml.d: irsa revert removes it when it is empty."

SHELL = Path(__file__).with_name("k3s.sh")
# Shared by the distributions whose API server has no "wait until ready" command.
POLL_SHELL = Path(__file__).with_name("poll.sh")
# The 'accept' phase: irsa's issuer and keys accepted, the signer unchanged (irsa_accept).
SIGNER_SHELL = Path(__file__).with_name("signer.sh")

HEADER = """\
#!/usr/bin/env bash
# irsa host script for k3s: makes kube-apiserver sign service-account
# tokens for an external OIDC issuer (IAM Roles for Service Accounts).
# Rendered by irsa (irsa/apiserver) from the Pulumi stack; do not edit.
# Runs as root with the script on stdin: bash -s -- apply | bash -s -- revert
set -euo pipefail
"""


def render(config: HostConfig) -> str:
    """The bash script that applies or reverts ``config`` on a k3s server.

    Deterministic: the same inputs give the same bytes.
    """
    distribution = "\n".join(
        [
            f"K3S_CONFIG_DIR={shlex.quote(CONFIG_DIR)}",
            f"K3S_DROP_IN={shlex.quote(DROP_IN)}",
            f"K3S_SERVICE={shlex.quote(SERVICE)}",
            f"K3S_MARK_CREATED_DIR={shlex.quote(MARK_CREATED_DIR)}",
        ]
    )
    return "\n".join(
        [
            HEADER,
            "# --- inputs ---",
            shell_inputs(config),
            distribution,
            "",
            COMMON_SHELL.read_text(),
            POLL_SHELL.read_text(),
            SIGNER_SHELL.read_text(),
            SHELL.read_text(),
            'irsa_main "$@" </dev/null',
            "",
        ]
    )
