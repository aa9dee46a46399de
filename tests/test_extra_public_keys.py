"""irsa:extraPublicKeys: a hand-made setup's key published beside irsa's, so its tokens keep passing STS."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import ROOT, run_program, stack_file_config
from irsa import oidc, settings

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")


def public_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def kubernetes_kid(key) -> str:
    """keyIDFromPublicKey written out: base64url, no padding, of SHA-256 over the DER SPKI."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


@pytest.fixture(scope="module")
def hand_made_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def published_jwks(pulumi_mocks, extras: list[str]) -> dict:
    config = {**DEV, "irsa:extraPublicKeys": json.dumps(extras)}
    pulumi_mocks.run(lambda: run_program(config))
    jwks_file = next(f for f in pulumi_mocks.of_type("github:index/repositoryFile:RepositoryFile")
                     if f.inputs["file"] == "jwks.json")
    return json.loads(jwks_file.inputs["content"])


def test_a_hand_made_key_is_published_after_irsas_and_its_tokens_verify(pulumi_mocks, hand_made_key):
    jwks = published_jwks(pulumi_mocks, [public_pem(hand_made_key)])
    kids = [k["kid"] for k in jwks["keys"]]
    assert kids == [*pulumi_mocks.stack_outputs["signingKeyIds"].value, kubernetes_kid(hand_made_key)]
    # A token the old API server signed, as STS would check it: by kid, against the published key.
    token = jwt.encode({"iss": "https://old", "sub": "system:serviceaccount:default:app", "aud": "sts.amazonaws.com",
                        "exp": int(time.time()) + 600}, hand_made_key, algorithm="RS256",
                       headers={"kid": kubernetes_kid(hand_made_key)})
    entry = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"])
    key = jwt.PyJWK(entry).key
    assert jwt.decode(token, key, algorithms=["RS256"], audience="sts.amazonaws.com")["sub"].endswith(":app")
    # The wait before signing is only for irsa's own keys.
    wait = pulumi_mocks.one("command:local:Command").inputs["create"]
    assert kubernetes_kid(hand_made_key) not in wait


def test_a_jwk_keeps_its_own_kid_and_only_public_members(hand_made_key):
    from jwcrypto import jwk
    entry = jwk.JWK.from_pyca(hand_made_key.public_key()).export_public(as_dict=True) | {"kid": "old-kid"}
    published = oidc.extra_jwk(json.dumps(entry))
    assert published["kid"] == "old-kid" and published["kty"] == "RSA"
    assert set(published) == {"kty", "n", "e", "kid", "use", "alg"}


def test_an_extra_key_equal_to_irsas_is_listed_once(hand_made_key):
    pem = public_pem(hand_made_key)
    document = oidc.jwks_with_extras([pem], [oidc.extra_jwk(pem)])
    assert [k["kid"] for k in document["keys"]] == [kubernetes_kid(hand_made_key)]


@pytest.mark.parametrize(("make", "message"), [
    (lambda k: "not a key", "not a PEM public or private key"),
    (lambda k: json.dumps({"kty": "RSA", "n": "AQAB", "e": "AQAB"}), "the JWK has no kid"),
    (lambda k: json.dumps({"kty": "oct", "k": "c2VjcmV0", "kid": "x"}), "only RSA keys"),
    (lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode(), "a private key"),
    (lambda k: public_pem(ec.generate_private_key(ec.SECP256R1())), "only RSA keys can sign"),
    (lambda k: "{not json", "not a readable JWK"),
])
def test_each_bad_entry_gets_one_message_naming_its_index(hand_made_key, make, message):
    raw = {"irsa:githubOwner": "example-org", "irsa:githubRepository": "oidc", "irsa:host": "h",
           "irsa:extraPublicKeys": json.dumps([public_pem(hand_made_key), make(hand_made_key)])}
    with pytest.raises(settings.SettingsError) as err:
        settings.parse(raw)
    (problem,) = err.value.problems
    assert problem.startswith("irsa:extraPublicKeys[1] must be a PEM public key or an RSA JWK with a kid: ")
    assert message in problem


def test_an_entry_with_several_keys_is_refused_not_cut_to_its_first(hand_made_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw = {"irsa:githubOwner": "example-org", "irsa:githubRepository": "oidc", "irsa:host": "h",
           "irsa:extraPublicKeys": json.dumps([public_pem(hand_made_key) + public_pem(other)])}
    with pytest.raises(settings.SettingsError) as err:
        settings.parse(raw)
    assert err.value.problems == [
        "irsa:extraPublicKeys[0] must be a PEM public key or an RSA JWK with a kid: holds 2 PEM "
        "blocks; give one key here (irsa jwks reads every key of a file)"]
