"""The OidcIssuer component under Pulumi mocks."""

import json

import jwt
from cryptography.hazmat.primitives import serialization

from support.tokens import kubernetes_key_id

from irsa import oidc
from irsa.components.issuer import OidcIssuer, OidcIssuerArgs

URL = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
FILE = "github:index/repositoryFile:RepositoryFile"


def make_issuer(create_repository=False, key_names=("primary",), branch="main"):
    issuer = OidcIssuer(
        "issuer",
        OidcIssuerArgs(
            github_owner="example-org",
            github_repository="oidc-issuer",
            github_branch=branch,
            create_repository=create_repository,
            key_names=key_names,
            key_bits=2048,
        ),
    )
    return {
        "issuer_url": issuer.issuer_url,
        "jwks_uri": issuer.jwks_uri,
        "discovery_url": issuer.discovery_url,
        "condition_key_prefix": issuer.condition_key_prefix,
        "key_ids": issuer.key_ids,
        "public_keys_pem": issuer.public_keys_pem,
        "signing_private_key_pem": issuer.signing_private_key_pem,
    }


def published(recorder):
    return {r.inputs["file"]: r for r in recorder.of_type(FILE)}


def test_published_files_agree_with_each_other_and_the_keys(pulumi_mocks):
    out = pulumi_mocks.run(lambda: make_issuer(key_names=("next", "primary")))
    files = published(pulumi_mocks)
    assert set(files) == {".well-known/openid-configuration", "jwks.json"}
    for f in files.values():
        assert f.inputs["branch"] == "main"
        assert f.inputs["repository"] == "oidc-issuer"
        assert f.inputs["overwriteOnCreate"] is True
        assert URL in f.inputs["commitMessage"]
    discovery = json.loads(files[".well-known/openid-configuration"].inputs["content"])
    jwks = json.loads(files["jwks.json"].inputs["content"])
    assert discovery["issuer"] == URL == out["issuer_url"].value
    assert discovery["jwks_uri"] == URL + "/jwks.json" == out["jwks_uri"].value
    assert out["discovery_url"].value == URL + "/.well-known/openid-configuration"
    assert out["condition_key_prefix"].value == URL.removeprefix("https://")
    key_ids = out["key_ids"].value
    assert len(key_ids) == 2
    assert [k["kid"] for k in jwks["keys"]] == key_ids

    # The first name signs: its key id is first, and a token it signs verifies
    # against the published JWKS with an independent library.
    private_pem = out["signing_private_key_pem"].value
    private = serialization.load_pem_private_key(private_pem.encode(), None)
    assert kubernetes_key_id(private.public_key()) == key_ids[0]
    token = jwt.encode({"iss": URL}, private_pem, algorithm="RS256", headers={"kid": key_ids[0]})
    kid = jwt.get_unverified_header(token)["kid"]
    verifying = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
    assert jwt.decode(token, verifying.key, algorithms=["RS256"])["iss"] == URL


def test_no_private_material_is_published(pulumi_mocks):
    out = pulumi_mocks.run(lambda: make_issuer(key_names=("a", "b")))
    private_pem = out["signing_private_key_pem"].value
    body = "".join(private_pem.splitlines()[1:-1])
    for f in published(pulumi_mocks).values():
        content = f.inputs["content"]
        assert "PRIVATE" not in content
        assert body[:40] not in content.replace("\n", "")
        for key in json.loads(content).get("keys", []):
            assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}


def test_children_are_parented_and_typed(pulumi_mocks):
    pulumi_mocks.run(make_issuer)
    component = pulumi_mocks.one("irsa:issuer:OidcIssuer")
    children = [r for r in pulumi_mocks.registrations if r.parent == component.urn]
    assert sorted((r.type, r.name) for r in children) == [
        # Named by where they publish; the name of stacks from before is an alias.
        (FILE, "issuer-github/example-org/oidc-issuer@main-discovery"),
        (FILE, "issuer-github/example-org/oidc-issuer@main-jwks"),
        ("tls:index/privateKey:PrivateKey", "issuer-key-primary"),
    ]
    for name in ("discovery", "jwks"):
        assert {"name": f"issuer-{name}"}.items() <= pulumi_mocks.by_name(f"issuer-github/example-org/oidc-issuer@main-{name}").aliases[0].items()
    key = pulumi_mocks.one("tls:index/privateKey:PrivateKey")
    assert key.inputs["algorithm"] == "RSA" and key.inputs["rsaBits"] == 2048
    assert not pulumi_mocks.of_type("github:index/repository:Repository")


def test_other_branch_is_in_url_and_must_exist(pulumi_mocks):
    out = pulumi_mocks.run(lambda: make_issuer(branch="oidc"))
    assert out["issuer_url"].value.endswith("/refs/heads/oidc")
    for f in published(pulumi_mocks).values():
        assert f.inputs["branch"] == "oidc"
        # Deprecated in pulumi-github 6 (it warns on every run): an existing branch, or a Branch resource.
        assert "autocreateBranch" not in f.inputs
    assert not pulumi_mocks.of_type("github:index/branch:Branch")


def test_commit_messages_fit_create_update_and_delete(pulumi_mocks):
    pulumi_mocks.run(make_issuer)
    messages = sorted(f.inputs["commitMessage"] for f in published(pulumi_mocks).values())
    url = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
    assert messages == [f"irsa: the OIDC discovery document for {url}",
                        f"irsa: the service-account verification keys for {url}"]


def test_created_repository_gets_the_branch_when_it_is_not_main(pulumi_mocks):
    pulumi_mocks.run(lambda: make_issuer(create_repository=True, branch="oidc"))
    repository = pulumi_mocks.one("github:index/repository:Repository")
    branch = pulumi_mocks.one("github:index/branch:Branch")
    assert branch.inputs["branch"] == "oidc" and branch.inputs["sourceBranch"] == "main"
    assert repository.urn in pulumi_mocks.all_dependencies(branch)
    for f in published(pulumi_mocks).values():
        assert branch.urn in pulumi_mocks.all_dependencies(f)


def test_created_repository_is_public_and_files_depend_on_it(pulumi_mocks):
    pulumi_mocks.run(lambda: make_issuer(create_repository=True))
    repository = pulumi_mocks.one("github:index/repository:Repository")
    assert repository.inputs["visibility"] == "public"
    assert repository.inputs["autoInit"] is True
    assert len(published(pulumi_mocks)) == 2
    for f in published(pulumi_mocks).values():
        assert repository.urn in pulumi_mocks.all_dependencies(f)
    assert not pulumi_mocks.of_type("github:index/branch:Branch"), "main exists after auto_init"


def test_private_key_output_is_secret_and_others_are_not(pulumi_mocks):
    out = pulumi_mocks.run(make_issuer)
    assert out["signing_private_key_pem"].secret is True
    assert "PRIVATE KEY" in out["signing_private_key_pem"].value
    for name in ("issuer_url", "jwks_uri", "discovery_url", "key_ids", "public_keys_pem"):
        assert out[name].secret is False, name
