"""The OIDC issuer: signing keys, and the two documents STS reads, published on GitHub."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_github as github
import pulumi_tls as tls

from irsa import oidc

DISCOVERY_FILE = oidc.DISCOVERY_PATH.lstrip("/")
JWKS_FILE = oidc.JWKS_PATH.lstrip("/")
# The branch GitHub's auto_init commits to with default account settings.
NEW_REPOSITORY_BRANCH = "main"


@dataclass(frozen=True)
class OidcIssuerArgs:
    """What the issuer needs: where to publish and which keys to make."""

    github_owner: str
    github_repository: str
    github_branch: str
    create_repository: bool
    key_names: tuple[str, ...]
    key_bits: int


class OidcIssuer(pulumi.ComponentResource):
    """RSA signing keys and the discovery document and JWKS that publish them.

    The first key name signs; every key is published, so tokens signed by a
    key that is being rotated out stay verifiable until its name is dropped.
    Private key material only leaves through ``signing_private_key_pem``, a secret.
    """

    issuer_url: pulumi.Output[str]
    jwks_uri: pulumi.Output[str]
    discovery_url: pulumi.Output[str]
    condition_key_prefix: pulumi.Output[str]
    key_ids: pulumi.Output[list[str]]
    public_keys_pem: pulumi.Output[list[str]]
    signing_private_key_pem: pulumi.Output[str]
    published: list[pulumi.Resource]

    def __init__(self, name: str, args: OidcIssuerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:issuer:OidcIssuer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        url = oidc.github_issuer_url(args.github_owner, args.github_repository, args.github_branch)

        keys = [
            tls.PrivateKey(f"{name}-key-{key_name}", algorithm="RSA", rsa_bits=args.key_bits, opts=child)
            for key_name in args.key_names
        ]
        public_pems = pulumi.Output.all(*(k.public_key_pem for k in keys))
        jwks_json = public_pems.apply(lambda pems: oidc.to_json(oidc.jwks_from_pems(pems)))

        repository_name: pulumi.Input[str] = args.github_repository
        file_opts = child
        if args.create_repository:
            repository = github.Repository(
                f"{name}-repository",
                name=args.github_repository,
                description="OIDC discovery document and JWKS for Kubernetes service-account tokens",
                visibility="public",
                auto_init=True,
                opts=child,
            )
            repository_name = repository.name
            branch_made: list[pulumi.Resource] = [repository]
            if args.github_branch != NEW_REPOSITORY_BRANCH:
                # auto_init commits to the default branch; another branch is made from it.
                branch_made.append(github.Branch(
                    f"{name}-branch",
                    repository=repository.name,
                    branch=args.github_branch,
                    source_branch=NEW_REPOSITORY_BRANCH,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[repository]),
                ))
            file_opts = pulumi.ResourceOptions(parent=self, depends_on=branch_made)

        def publish(suffix: str, path: str, content: pulumi.Input[str], what: str) -> github.RepositoryFile:
            return github.RepositoryFile(
                f"{name}-{suffix}",
                repository=repository_name,
                branch=args.github_branch,
                file=path,
                content=content,
                # The provider uses one message for create, update and delete.
                commit_message=f"irsa: {what} for {url}",
                overwrite_on_create=True,
                opts=file_opts,
            )

        self.published = [
            publish("discovery", DISCOVERY_FILE, oidc.to_json(oidc.discovery_document(url)),
                    "the OIDC discovery document"),
            publish("jwks", JWKS_FILE, jwks_json, "the service-account verification keys"),
        ]

        self.issuer_url = pulumi.Output.from_input(url)
        self.jwks_uri = pulumi.Output.from_input(oidc.jwks_uri(url))
        self.discovery_url = pulumi.Output.from_input(oidc.discovery_url(url))
        self.condition_key_prefix = pulumi.Output.from_input(oidc.condition_key_prefix(url))
        self.public_keys_pem = public_pems
        self.key_ids = public_pems.apply(
            lambda pems: [oidc.key_id(oidc.load_public_key(p.encode())) for p in pems]
        )
        self.signing_private_key_pem = pulumi.Output.secret(keys[0].private_key_pem)

        self.register_outputs(
            {
                "issuerUrl": self.issuer_url,
                "jwksUri": self.jwks_uri,
                "discoveryUrl": self.discovery_url,
                "conditionKeyPrefix": self.condition_key_prefix,
                "keyIds": self.key_ids,
                "publicKeysPem": self.public_keys_pem,
                "signingPrivateKeyPem": self.signing_private_key_pem,
            }
        )
