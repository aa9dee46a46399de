"""The OIDC documents an IRSA issuer publishes, and the rules its URL must follow.

Pure functions, no Pulumi: each builder computes exactly one published thing,
the way kube-apiserver computes it (kubernetes ``pkg/serviceaccount``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwk

from irsa import partitions

SIGNING_ALGORITHM = "RS256"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
GITHUB_RAW_HOST = "raw.githubusercontent.com"


class UnusableKeyError(ValueError):
    """A key that cannot be published (not RSA, not PEM)."""


class IssuerUrlError(ValueError):
    """An issuer URL that AWS IAM or kube-apiserver would not accept."""


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Return the RSA public key in a PEM file's bytes.

    Accepts an SPKI public key (``BEGIN PUBLIC KEY``), a PKCS#1 public key
    (``BEGIN RSA PUBLIC KEY``) or a private key in PKCS#1 or PKCS#8 form, whose
    public half is used. Raises ``UnusableKeyError`` with the reason otherwise.
    """
    what = _not_a_pem_key(pem)
    if what:
        raise UnusableKeyError(what)
    blocks = pem_blocks(pem)
    if len(blocks) > 1:
        raise UnusableKeyError(f"holds {len(blocks)} PEM blocks; give one key here "
                               "(irsa jwks reads every key of a file)")
    if b"PRIVATE KEY-----" in pem:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except TypeError as err:
            raise UnusableKeyError("the private key is encrypted; give an unencrypted key") from err
        except ValueError as err:
            raise UnusableKeyError("not a readable PEM private key") from err
        public = key.public_key()
    else:
        try:
            public = serialization.load_pem_public_key(pem)
        except ValueError as err:
            raise UnusableKeyError("not a PEM public or private key") from err
    if not isinstance(public, rsa.RSAPublicKey):
        raise UnusableKeyError(
            f"an {type(public).__name__.removeprefix('_').replace('PublicKey', '')} key, "
            "but only RSA keys can sign service-account tokens for RS256"
        )
    return public


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


def pem_blocks(data: bytes) -> list[bytes]:
    """Every PEM block (BEGIN … END) in a file's bytes, in order."""
    return [m.group(0) + b"\n" for m in _PEM_BLOCK.finditer(data)]


def load_public_keys(pem: bytes) -> list[rsa.RSAPublicKey]:
    """Every RSA public key in a PEM file's bytes, in order (``load_public_key`` per block).

    A file of several keys (a bundle of the old and the new signing key) gives
    them all; one that cannot be read names the block: ``key 2: …``.
    """
    blocks = pem_blocks(pem)
    if len(blocks) <= 1:
        return [load_public_key(pem)]
    keys = []
    for number, block in enumerate(blocks, 1):
        try:
            keys.append(load_public_key(block))
        except UnusableKeyError as err:
            raise UnusableKeyError(f"key {number} of {len(blocks)}: {err}") from None
    return keys


def _not_a_pem_key(data: bytes) -> str | None:
    """What a file is when it holds a key in a form other than PEM, and how to convert it."""
    if b"BEGIN OPENSSH PRIVATE KEY" in data:
        return ("an OpenSSH-format private key, not PEM; convert a copy in place with "
                "ssh-keygen -p -m PEM -f COPY (or give its public half: "
                "ssh-keygen -e -m PKCS8 -f KEY.pub)")
    if data.lstrip().startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-")):
        return "an OpenSSH public key, not PEM; convert it with ssh-keygen -e -m PKCS8 -f FILE"
    if b"-----BEGIN CERTIFICATE-----" in data:
        return ("an X.509 certificate, not a key; take its public key with "
                "openssl x509 -pubkey -noout -in FILE")
    return None


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key id kube-apiserver puts in every token's ``kid`` header.

    base64url without padding of SHA-256 over the DER SubjectPublicKeyInfo
    (``keyIDFromPublicKey``). This is not the RFC 7638 thumbprint jwcrypto would
    pick by default, so STS would miss the key if we let jwcrypto choose.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """One verification key as kube-apiserver publishes it."""
    key = jwk.JWK.from_pyca(public_key)
    return key.export_public(as_dict=True) | {
        "kid": key_id(public_key),
        "use": "sig",
        "alg": SIGNING_ALGORITHM,
    }


def jwks(public_keys: Iterable[rsa.RSAPublicKey]) -> dict[str, list[dict[str, str]]]:
    """The JWKS listing every verification key, in the order given, once each.

    Order is kept so the published file changes only when the keys do.
    """
    keys: list[dict[str, str]] = []
    seen: set[str] = set()
    for public_key in public_keys:
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise UnusableKeyError("only RSA public keys can be published for RS256")
        entry = public_jwk(public_key)
        if entry["kid"] not in seen:
            seen.add(entry["kid"])
            keys.append(entry)
    return {"keys": keys}


def jwks_from_pems(pems: Sequence[str | bytes]) -> dict[str, list[dict[str, str]]]:
    """The JWKS for PEM-encoded keys (public or private; only public parts are used)."""
    return jwks(load_public_key(p.encode() if isinstance(p, str) else p) for p in pems)


def extra_jwk(text: str) -> dict[str, str]:
    """A verification key to publish beside irsa's own, from a PEM public key or a JWK.

    For a host set up by hand: tokens its own key signed keep passing STS until
    they expire. A PEM key gets the Kubernetes key id, as the API server that
    signed with it set it; a JWK (JSON, as found in the old jwks.json) is kept
    with its own ``kid``, public members only. Raises ``UnusableKeyError``.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            key = jwk.JWK.from_json(stripped)
        except (ValueError, TypeError, jwk.InvalidJWKValue) as err:
            raise UnusableKeyError(f"not a readable JWK: {err}") from err
        entry = json.loads(stripped)
        if key.get("kty") != "RSA":
            raise UnusableKeyError("only RSA keys can verify RS256 tokens")
        if not entry.get("kid"):
            raise UnusableKeyError("the JWK has no kid: STS finds the key by the token's kid")
        if key.has_private:
            raise UnusableKeyError("the JWK holds a private key: give only its public members")
        public = key.export_public(as_dict=True)
        return public | {"kid": entry["kid"], "use": "sig", "alg": SIGNING_ALGORITHM}
    public_key = load_public_key(stripped.encode())
    if b"PRIVATE KEY-----" in stripped.encode():
        raise UnusableKeyError("a private key: give only its public half (openssl rsa -pubout)")
    return public_jwk(public_key)


def jwks_with_extras(pems: Sequence[str | bytes], extras: Iterable[Mapping[str, str]]) -> dict[str, list]:
    """irsa's keys (signing key first) and then the extra keys, once each by ``kid``."""
    document = jwks_from_pems(pems)
    seen = {entry["kid"] for entry in document["keys"]}
    for entry in extras:
        if entry["kid"] not in seen:
            seen.add(entry["kid"])
            document["keys"].append(dict(entry))
    return document


def jwks_uri(issuer_url: str) -> str:
    """Where the JWKS is published next to the discovery document."""
    return issuer_url + JWKS_PATH


def discovery_url(issuer_url: str) -> str:
    """Where STS looks for the discovery document of an issuer."""
    return issuer_url + DISCOVERY_PATH


def discovery_document(issuer_url: str) -> dict[str, object]:
    """The discovery document, with exactly the fields kube-apiserver serves."""
    check_issuer_url(issuer_url)
    return {
        "issuer": issuer_url,
        "jwks_uri": jwks_uri(issuer_url),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
    }


def to_json(document: object) -> str:
    """The bytes we publish: sorted keys, two-space indent, final newline.

    A stable rendering keeps a second ``pulumi up`` from seeing a change.
    """
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def github_issuer_url(owner: str, repository: str, branch: str, path: str = "") -> str:
    """The issuer URL for documents served from a GitHub repository's branch (under ``path``)."""
    return with_path(f"https://{GITHUB_RAW_HOST}/{owner}/{repository}/refs/heads/{branch}", path)


def s3_issuer_url(bucket: str, region: str, path: str = "") -> str:
    """The issuer URL for documents served straight from an S3 bucket.

    The regional virtual-hosted form ``https://BUCKET.s3.REGION.amazonaws.com``:
    AWS is retiring path-style URLs (``s3.amazonaws.com/BUCKET``); the global
    name ``BUCKET.s3.amazonaws.com`` may answer ``307 Temporary Redirect`` for up
    to a day after a bucket is made outside us-east-1 (AWS knowledge center,
    "s3-http-307-response"), and an issuer URL must answer directly, at once;
    the regional name is covered by S3's own ``*.s3.REGION.amazonaws.com``
    certificate as long as the bucket name has no dots. In the China regions
    the suffix is ``amazonaws.com.cn`` (the region's partition, irsa.partitions).
    """
    return with_path(f"https://{bucket}.s3.{region}.{partitions.dns_suffix(region)}", path)


def https_issuer_url(domain: str, path: str = "") -> str:
    """The issuer URL for documents served by a host name of its own (CloudFront)."""
    return with_path(f"https://{domain}", path)


def with_path(base_url: str, path: str) -> str:
    """``base_url`` with the issuer path appended (``""``: unchanged)."""
    return f"{base_url}/{path}" if path else base_url


def document_key(path: str, document_path: str) -> str:
    """Where a document lives in a store, relative to its root: ``PATH/jwks.json``.

    ``document_path`` is ``DISCOVERY_PATH`` or ``JWKS_PATH``.
    """
    return f"{path}{document_path}" if path else document_path.lstrip("/")


def check_issuer_url(url: str) -> str:
    """Return ``url`` if IAM and kube-apiserver accept it as an issuer; raise otherwise.

    The same string must appear byte for byte in the discovery document, every
    token's ``iss`` and the IAM OIDC provider, so nothing is normalised here.
    """
    parts = urlsplit(url)
    try:
        has_port = parts.port is not None
    except ValueError:  # a port that is not a number is still a port
        has_port = True
    problems = [
        (parts.scheme != "https", "must start with https://"),
        (not parts.hostname, "must name a host"),
        (bool(parts.username or parts.password), "must not carry a user name or password"),
        (has_port, "must not name a port"),
        (bool(parts.query) or url.endswith("?"), "must not have a query (?…)"),
        (bool(parts.fragment) or "#" in url, "must not have a fragment (#…)"),
        (url.endswith("/"), "must not end with a slash: STS compares it byte for byte"),
        (any(c.isspace() for c in url), "must not contain white space"),
    ]
    for failed, message in problems:
        if failed:
            raise IssuerUrlError(f"issuer URL {url!r} {message}")
    return url


def condition_key_prefix(issuer_url: str) -> str:
    """The prefix of IAM trust-policy condition keys: the URL without ``https://``."""
    return check_issuer_url(issuer_url).removeprefix("https://")
