"""The pure OIDC module: key ids, JWKS, discovery document, issuer URL rules."""

import base64
import hashlib
import json
import subprocess

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk as jwcrypto_jwk

from irsa import oidc
from conftest import pem_block

ISSUER = "https://raw.githubusercontent.com/making/oidc-issuer/refs/heads/main"


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_key_id_matches_kubernetes_computed_independently_with_openssl(private_key, tmp_path):
    # kube-apiserver: base64url(sha256(DER SubjectPublicKeyInfo)), no padding.
    # Computed here with the openssl command line, not with our code path.
    pem = tmp_path / "public.pem"
    pem.write_bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pem), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    assert oidc.key_id(private_key.public_key()) == expected
    assert len(expected) == 43


def test_key_id_is_not_jwcryptos_default_thumbprint(private_key):
    thumbprint = jwcrypto_jwk.JWK.from_pyca(private_key.public_key()).thumbprint()
    assert oidc.key_id(private_key.public_key()) != thumbprint


def test_jwk_has_exactly_kube_apiserver_fields(private_key):
    entry = oidc.public_jwk(private_key.public_key())
    assert set(entry) == {"kty", "n", "e", "kid", "use", "alg"}
    assert entry["kty"] == "RSA" and entry["use"] == "sig" and entry["alg"] == "RS256"
    assert entry["e"] == "AQAB"
    n = int.from_bytes(base64.urlsafe_b64decode(entry["n"] + "=="), "big")
    assert n == private_key.public_key().public_numbers().n


def test_token_signed_with_key_and_kid_verifies_against_jwks_with_pyjwt(private_key):
    document = json.loads(oidc.to_json(oidc.jwks([private_key.public_key()])))
    kid = oidc.key_id(private_key.public_key())
    token = jwt.encode({"iss": ISSUER, "sub": "system:serviceaccount:default:aws-cli",
                        "aud": "sts.amazonaws.com"}, private_key, algorithm="RS256",
                       headers={"kid": kid})
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwt.PyJWKSet.from_dict(document).keys if k.key_id == header["kid"])
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="sts.amazonaws.com")
    assert claims["iss"] == ISSUER


def test_token_of_another_key_does_not_verify(private_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    document = oidc.jwks([private_key.public_key()])
    token = jwt.encode({"iss": ISSUER}, other, algorithm="RS256",
                       headers={"kid": oidc.key_id(private_key.public_key())})
    key = jwt.PyJWKSet.from_dict(document).keys[0]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key.key, algorithms=["RS256"])


def test_jwks_keeps_order_and_drops_repeats(private_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    mine = private_key.public_key()
    document = oidc.jwks([other, mine, other])
    assert [k["kid"] for k in document["keys"]] == [oidc.key_id(other), oidc.key_id(mine)]


def test_jwks_rejects_non_rsa_key():
    with pytest.raises(oidc.UnusableKeyError, match="RSA"):
        oidc.jwks([ec.generate_private_key(ec.SECP256R1()).public_key()])


@pytest.mark.parametrize("form", ["spki", "pkcs1", "private-pkcs1", "private-pkcs8"])
def test_load_public_key_reads_every_pem_form(private_key, form):
    public = private_key.public_key()
    pem = {
        "spki": public.public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs1": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        "private-pkcs1": private_key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                                   serialization.NoEncryption()),
        "private-pkcs8": private_key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()),
    }[form]
    assert oidc.key_id(oidc.load_public_key(pem)) == oidc.key_id(public)


@pytest.mark.parametrize(
    "pem, message",
    [
        (b"hello", "not a PEM public or private key"),
        (pem_block("PRIVATE KEY", "AAAA").encode(), "not a readable PEM private key"),
        (ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
         "only RSA keys"),
    ],
)
def test_load_public_key_explains_what_is_wrong(pem, message):
    with pytest.raises(oidc.UnusableKeyError, match=message):
        oidc.load_public_key(pem)


def test_encrypted_private_key_is_refused_with_reason(private_key):
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(b"pw"))
    with pytest.raises(oidc.UnusableKeyError, match="encrypted"):
        oidc.load_public_key(pem)


def test_discovery_document_matches_the_seed_and_kube_apiserver():
    document = oidc.discovery_document(ISSUER)
    assert document == {
        "issuer": ISSUER,
        "jwks_uri": ISSUER + "/jwks.json",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    assert oidc.discovery_url(ISSUER) == ISSUER + "/.well-known/openid-configuration"


def test_rendering_is_stable_and_round_trips():
    document = oidc.discovery_document(ISSUER)
    rendered = oidc.to_json(document)
    assert rendered == oidc.to_json(dict(reversed(list(document.items()))))
    assert json.loads(rendered) == document
    assert rendered.endswith("}\n")


def test_github_issuer_url_and_condition_prefix():
    url = oidc.github_issuer_url("making", "oidc-issuer", "main")
    assert url == ISSUER
    assert oidc.condition_key_prefix(url) == "raw.githubusercontent.com/making/oidc-issuer/refs/heads/main"


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://example.com/issuer", "must start with https://"),
        ("https:///path", "must name a host"),
        ("https://user:pw@example.com/x", "must not carry a user name or password"),
        ("https://example.com:8443/x", "must not name a port"),
        ("https://example.com:443/x", "must not name a port"),
        ("https://example.com/x?a=b", "must not have a query"),
        ("https://example.com/x#frag", "must not have a fragment"),
        (ISSUER + "/", "must not end with a slash"),
        ("https://example.com/a b", "must not contain white space"),
    ],
)
def test_issuer_url_rules_each_have_a_message(url, message):
    with pytest.raises(oidc.IssuerUrlError, match=message) as err:
        oidc.check_issuer_url(url)
    assert repr(url) in str(err.value)


def test_good_issuer_url_is_returned_unchanged():
    assert oidc.check_issuer_url(ISSUER) == ISSUER
    assert oidc.check_issuer_url("https://Example.com/CaseKept") == "https://Example.com/CaseKept"


def test_jwks_from_pems_reads_text_and_bytes_alike(private_key):
    """What the issuer component hands over (PEM text) and bytes give the same JWKS."""
    public = private_key.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = oidc.jwks([public])
    assert oidc.jwks_from_pems([pem.decode()]) == expected
    assert oidc.jwks_from_pems([pem]) == expected
    assert [k["n"] for k in expected["keys"]] and len(expected["keys"]) == 1
