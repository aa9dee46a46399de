"""Recorded resource inputs as plain Python values."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc


def plain(value: Any) -> Any:
    """Mock inputs with Pulumi's secret wrappers taken off (a key's PEM arrives as a secret)."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
