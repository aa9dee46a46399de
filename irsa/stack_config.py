"""Reads this stack's configuration from the Pulumi engine and validates it.

The only module besides the components that touches Pulumi for settings:
it collects the raw values and which of them are secret, then hands them to
the pure ``settings.parse``.
"""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from irsa import settings


def raw_config() -> tuple[dict[str, str], set[str]]:
    """Every configuration value the engine gave this program, and the secret keys."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = {key for key in values if runtime_config.is_config_secret(key)}
    secret |= set(runtime_config.get_config_secret_keys_env())
    return values, secret


def load() -> settings.Settings:
    """Validated settings, or a clean stop naming every bad key before any resource exists."""
    values, secret = raw_config()
    try:
        loaded = settings.parse(values, secret)
    except settings.SettingsError as err:
        raise pulumi.RunError("invalid configuration:\n  " + "\n  ".join(err.problems)) from None
    for warning in loaded.warnings:
        pulumi.log.warn(warning)
    return loaded
