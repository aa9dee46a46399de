"""The service-account signing keys and the tokens they sign: audiences, lifetimes,
the OIDC provider's client ids, and how long a retired key stays trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from irsa import oidc
from irsa.settings.names import _KEY_NAME
from irsa.settings.problems import _duplicates, _Problems

KEY_BITS = (2048, 3072, 4096)
DEFAULT_AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class KeySettings:
    """The service-account signing keys; the first signs, all verify."""

    names: tuple[str, ...]
    bits: int
    # Published beside irsa's keys (JWK entries), e.g. a hand-made setup's key.
    extra_jwks: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class TokenSettings:
    """Audiences and lifetime of service-account tokens."""

    audience: str
    api_audiences: tuple[str, ...]
    expiration_seconds: int
    extra_client_ids: tuple[str, ...]
    # How long what stopped signing stays accepted (irsa:retireAfterSeconds).
    retire_after_seconds: int = 86400

    @property
    def client_ids(self) -> tuple[str, ...]:
        """The OIDC provider's client ids: the web-identity audience first."""
        return (self.audience, *(c for c in self.extra_client_ids if c != self.audience))


def _key_settings(v: dict[str, Any], p: _Problems) -> KeySettings:
    """irsa:signingKeys, irsa:keyBits and irsa:extraPublicKeys."""
    names = v["signingKeys"]
    if names is not None:
        if p.check(bool(names), "irsa:signingKeys must list at least one key name, e.g. [\"primary\"]"):
            for n in names:
                p.check(bool(_KEY_NAME.fullmatch(n)),
                        f"irsa:signingKeys entry {n!r} must be lowercase letters, digits and "
                        "hyphens (at most 32), starting and ending with a letter or digit")
            for n in _duplicates(names):
                p.add(f"irsa:signingKeys names {n!r} more than once")
    bits = v["keyBits"]
    if bits is not None:
        p.check(bits in KEY_BITS, f"irsa:keyBits must be one of 2048, 3072 or 4096, got {bits}")
    extra_jwks = []
    for index, text in enumerate(v["extraPublicKeys"] or []):
        try:
            extra_jwks.append(oidc.extra_jwk(text))
        except oidc.UnusableKeyError as err:
            p.add(f"irsa:extraPublicKeys[{index}] must be a PEM public key or an RSA JWK with a kid: {err}")
    return KeySettings(tuple(names or ()), bits or 0, tuple(extra_jwks))


def _token_settings(v: dict[str, Any], p: _Problems) -> TokenSettings:
    """irsa:audience, irsa:apiAudiences, irsa:tokenExpirationSeconds, irsa:extraClientIds
    and irsa:retireAfterSeconds."""
    audience = v["audience"]
    if audience is not None:
        p.check(bool(audience) and not any(c.isspace() for c in audience),
                f"irsa:audience must be a non-empty string without spaces, got {audience!r}")
    api_audiences = v["apiAudiences"]
    if api_audiences is not None:
        p.check(bool(api_audiences) and all(a and not any(c.isspace() for c in a) for a in api_audiences),
                "irsa:apiAudiences must list at least one audience, each without spaces, "
                "e.g. [\"https://kubernetes.default.svc\"]")
    expiration = v["tokenExpirationSeconds"]
    if expiration is not None:
        p.check(600 <= expiration <= 86400,
                f"irsa:tokenExpirationSeconds must be between 600 and 86400, got {expiration}")
    extra = v["extraClientIds"]
    if extra is not None:
        p.check(len(set(extra) | {audience}) <= 100 and all(extra),
                "irsa:extraClientIds must hold non-empty strings, at most 99 of them")
    # Kubelet's own projected token (kube-api-access) lives 3607 s.
    retire_after, longest = v["retireAfterSeconds"], max(expiration or 0, 3607)
    if retire_after is not None:
        p.check(longest <= retire_after <= 2592000,
                f"irsa:retireAfterSeconds must be between {longest} (the longest token the cluster issues) "
                f"and 2592000, got {retire_after}")
    return TokenSettings(audience or "", tuple(api_audiences or ()), expiration or 0, tuple(extra or ()),
                         retire_after or 86400)
