"""A Kubernetes API client from a kubeconfig, for the checks that read the cluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def api_client(kubeconfig: str | Mapping[str, Any], error: type[Exception]):
    """A ``kubernetes`` ApiClient for a kubeconfig file path or a parsed kubeconfig.

    Raises ``error`` with one line saying why the kubeconfig is unusable. The
    client library is imported here, so commands that never talk to a cluster
    do not need it installed.
    """
    from kubernetes import config

    try:
        if isinstance(kubeconfig, Mapping):
            return config.new_client_from_config_dict(dict(kubeconfig))
        return config.new_client_from_config(config_file=kubeconfig)
    except (config.ConfigException, OSError, ValueError, TypeError) as err:
        raise error(f"cannot use the kubeconfig: {err}") from None
