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
  irsa's signing issuer uses ``-`` (ours signs, the previous issuers stay
  accepted), the audiences use ``+`` (tokens pods hold stay valid), the
  signing key replaces k3s's. A k3s whose GetArgs lacks this passes the
  unknown flag ``--service-account-issuer-`` to kube-apiserver, which refuses
  it; the API server then does not come back and the change is rolled back.
- The modes (``common.py``): irsa's signer (when irsa signs) uses ``-``; every
  other issuer irsa accepts, and its public keys, use ``+``: accepted, not
  signing. While k3s's own issuer signs (accept from a fresh host, unsign) no
  ``-`` entry is written and no signing key.
"""

from __future__ import annotations

from pathlib import Path

from irsa.apiserver.common import HostConfig, assemble_script

CONFIG_DIR = "/etc/rancher/k3s"
# Lexically last among the usual NN-name.yaml drop-ins, so nothing after it replaces irsa's list.
DROP_IN = f"{CONFIG_DIR}/config.yaml.d/99-irsa.yaml"
# The drop-in's previous copy (99-irsa.yaml.irsa-previous), kept while a change may
# need it: outside config.yaml.d, so that folder can go when irsa made it.
BACKUP_DIR = "/var/lib/irsa/k3s"
PREVIOUS_SUFFIX = ".irsa-previous"
SERVICE = "k3s"
KUBECONFIG = f"{CONFIG_DIR}/k3s.yaml"
# The header line that says irsa made config.yaml.d itself, so revert removes it when empty.
MARK_CREATED_DIR = "# irsa created config.yaml.d: irsa revert removes it when it is empty."
# The issuer k3s signs with by itself, as a token said while irsa did not sign:
# what the self-check expects after unsign (k3s's flags are spread over its
# own defaults and the user's files, so the drop-in alone does not say).
MARK_HOST_ISSUER = "# k3s's own issuer (irsa's self-check after unsign): "

SHELL = Path(__file__).with_name("k3s.sh")


def render(config: HostConfig) -> str:
    """The bash script that applies or reverts ``config`` on a k3s server.

    Deterministic: the same inputs give the same bytes.
    """
    return assemble_script("k3s", "K3S_", {
        "CONFIG_DIR": CONFIG_DIR,
        "DROP_IN": DROP_IN,
        "SERVICE": SERVICE,
        "BACKUP_DIR": BACKUP_DIR,
        "MARK_CREATED_DIR": MARK_CREATED_DIR,
        "MARK_HOST_ISSUER": MARK_HOST_ISSUER,
    }, SHELL, config)
