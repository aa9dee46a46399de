"""The admin kubeconfig a host prints, pointed at an API endpoint the operator can reach.

Pure, no Pulumi. ``microk8s config`` names the host's default-interface
address, which may not be reachable from where ``pulumi up`` runs; the program
replaces every cluster's ``server`` with ``irsa:apiEndpoint``.
"""

from __future__ import annotations

import yaml


class KubeconfigError(ValueError):
    """The host printed something that is not a kubeconfig with clusters."""


def with_server(text: str, server: str) -> str:
    """``text`` (a kubeconfig) with every cluster's ``server`` set to ``server``.

    Certificates, users and contexts stay as they are: the API server's
    certificate must name the endpoint's host (see docs/hosts.md).
    """
    document = yaml.safe_load(text) if text.strip() else None
    clusters = document.get("clusters") if isinstance(document, dict) else None
    if not isinstance(clusters, list) or not clusters:
        raise KubeconfigError("the host's kubeconfig has no clusters")
    for entry in clusters:
        if not isinstance(entry, dict) or not isinstance(entry.get("cluster"), dict):
            raise KubeconfigError("a cluster entry of the host's kubeconfig has no cluster field")
        entry["cluster"]["server"] = server
    return yaml.safe_dump(document, sort_keys=False)
