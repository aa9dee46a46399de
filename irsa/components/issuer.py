"""The OIDC issuer: signing keys, and the two documents STS reads, published by a store.

The documents are built once (``irsa.oidc``); an ``IssuerStore`` publishes
them: GitHub files (here, the default) or S3 objects (``s3_store``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_github as github
import pulumi_tls as tls

from irsa import oidc
from irsa.components.s3_store import STORES, BucketStoreArgs, Document

DISCOVERY_FILE = oidc.DISCOVERY_PATH.lstrip("/")
JWKS_FILE = oidc.JWKS_PATH.lstrip("/")
# The branch GitHub's auto_init commits to with default account settings.
NEW_REPOSITORY_BRANCH = "main"


class IssuerStore(Protocol):
    """Where the issuer's two documents are published.

    ``base_url`` is the store's root URL (the issuer URL without
    ``irsa:issuerPath``); ``publish`` writes each document at its key below
    that root and returns the resources a reader must wait for.
    """

    kind: str
    base_url: pulumi.Output[str]

    def publish(self, documents: Sequence[Document]) -> list[pulumi.Resource]: ...


@dataclass(frozen=True)
class OidcIssuerArgs:
    """What the issuer needs: where to publish and which keys to make."""

    github_owner: str
    github_repository: str
    github_branch: str
    create_repository: bool
    key_names: tuple[str, ...]
    key_bits: int
    # github (default) | s3 | cloudfront; previous_hosts keep publishing the same
    # keys under their own issuer URLs while the issuer moves (docs/issuer-hosting.md).
    host: str = "github"
    path: str = ""
    previous_hosts: tuple[str, ...] = ()
    bucket: BucketStoreArgs = field(default_factory=BucketStoreArgs)
    # More verification keys to publish (JWK entries), e.g. a hand-made setup's key.
    extra_jwks: tuple[Mapping[str, str], ...] = ()


def github_location(kind: str, args: OidcIssuerArgs) -> tuple[str, str, str, str] | None:
    """(owner, repository, branch, path) of a GitHub store kind (``github`` or
    ``github:OWNER/REPO@BRANCH[:PATH]``, a previous GitHub issuer); None for others."""
    if kind == "github":
        return args.github_owner, args.github_repository, args.github_branch, args.path
    if kind.startswith("github:"):
        where, _, path = kind.removeprefix("github:").partition(":")
        repository, _, branch = where.partition("@")
        owner, _, repository = repository.partition("/")
        return owner, repository, branch, path
    return None


def github_store_name(name: str, location: tuple[str, str, str, str]) -> str:
    """A GitHub store's resource-name prefix: named by where it publishes, so an
    issuer that moves within GitHub keeps its files as a previous issuer."""
    owner, repository, branch, path = location
    return f"{name}-github/{owner}/{repository}@{branch}" + (f":{path}" if path else "")


class GitHubStore:
    """Files on a branch of a public GitHub repository, served by raw.githubusercontent.com.

    Resources are named by location (``github_store_name``). Stacks from before
    named them ``NAME-…`` whatever the location: the oldest GitHub store (the
    last of the previous issuers, else the current one) carries that name as an
    alias, so those resources are adopted, not replaced.
    """

    kind = "github"

    def __init__(self, name: str, args: OidcIssuerArgs, parent: pulumi.Resource,
                 location: tuple[str, str, str, str] | None = None, former_name: str | None = None):
        owner, repository, branch, path = location or github_location("github", args)
        self._name = github_store_name(name, (owner, repository, branch, path))
        self._former = former_name
        self._args = args
        self._repository, self._branch = repository, branch
        self._parent = parent
        self.base_url = pulumi.Output.from_input(oidc.github_issuer_url(owner, repository, branch))
        self._url = oidc.github_issuer_url(owner, repository, branch, path)

    def _opts(self, suffix: str, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self._parent, depends_on=depends_on,
            aliases=[pulumi.Alias(name=f"{self._former}-{suffix}")] if self._former else None)

    def publish(self, documents: Sequence[Document]) -> list[pulumi.Resource]:
        name, args, url = self._name, self._args, self._url
        repository_name: pulumi.Input[str] = self._repository
        made: list[pulumi.Resource] = []
        if args.create_repository:
            repository = github.Repository(
                f"{name}-repository",
                name=self._repository,
                description="OIDC discovery document and JWKS for Kubernetes service-account tokens",
                visibility="public",
                auto_init=True,
                opts=self._opts("repository"),
            )
            repository_name = repository.name
            made = [repository]
            if self._branch != NEW_REPOSITORY_BRANCH:
                # auto_init commits to the default branch; another branch is made from it.
                made.append(github.Branch(
                    f"{name}-branch",
                    repository=repository.name,
                    branch=self._branch,
                    source_branch=NEW_REPOSITORY_BRANCH,
                    opts=self._opts("branch", [repository]),
                ))

        def publish(suffix: str, path: str, content: pulumi.Input[str], what: str) -> github.RepositoryFile:
            return github.RepositoryFile(
                f"{name}-{suffix}",
                repository=repository_name,
                branch=self._branch,
                file=path,
                content=content,
                # The provider uses one message for create, update and delete.
                commit_message=f"irsa: {what} for {url}",
                overwrite_on_create=True,
                opts=self._opts(suffix, made or None),
            )

        return [publish(d.suffix, d.key, d.content, d.what) for d in documents]


def store_for(kind: str, name: str, args: OidcIssuerArgs, parent: pulumi.Resource) -> IssuerStore:
    """The store of one host kind, its resources children of ``parent``."""
    location = github_location(kind, args)
    if location:
        github_kinds = [k for k in (args.host, *args.previous_hosts) if github_location(k, args)]
        return GitHubStore(name, args, parent, location, name if kind == github_kinds[-1] else None)
    return STORES[kind](name, args.bucket, args.path, parent)


class OidcIssuer(pulumi.ComponentResource):
    """RSA signing keys and the discovery document and JWKS that publish them.

    The first key name signs; every key is published, so tokens signed by a
    key that is being rotated out stay verifiable until its name is dropped.
    Private key material only leaves through ``signing_private_key_pem``, a secret.
    """

    issuer_url: pulumi.Output[str]
    # The issuer URLs of previous_hosts, in that order (they still publish).
    previous_issuer_urls: pulumi.Output[list[str]]
    jwks_uri: pulumi.Output[str]
    discovery_url: pulumi.Output[str]
    condition_key_prefix: pulumi.Output[str]
    key_ids: pulumi.Output[list[str]]
    public_keys_pem: pulumi.Output[list[str]]
    signing_private_key_pem: pulumi.Output[str]
    published: list[pulumi.Resource]
    # DNS records to create by hand (a CloudFront custom domain), else [].
    dns_records: pulumi.Output[list[dict[str, str]]]

    def __init__(self, name: str, args: OidcIssuerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:issuer:OidcIssuer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        keys = [
            tls.PrivateKey(f"{name}-key-{key_name}", algorithm="RSA", rsa_bits=args.key_bits, opts=child)
            for key_name in args.key_names
        ]
        public_pems = pulumi.Output.all(*(k.public_key_pem for k in keys))
        jwks_json = public_pems.apply(
            lambda pems: oidc.to_json(oidc.jwks_with_extras(pems, args.extra_jwks)))

        # The same two documents for every store: only the issuer URL inside differs.
        urls: list[pulumi.Output[str]] = []
        self.published = []
        self.stores: dict[str, IssuerStore] = {}
        for kind in (args.host, *args.previous_hosts):
            store = store_for(kind, name, args, self)
            where = github_location(kind, args)
            path = where[3] if where else args.path
            url = store.base_url.apply(lambda base, path=path: oidc.check_issuer_url(oidc.with_path(base, path)))
            self.stores[kind] = store
            urls.append(url)
            self.published += store.publish([
                Document("discovery", oidc.document_key(path, oidc.DISCOVERY_PATH),
                          url.apply(lambda u: oidc.to_json(oidc.discovery_document(u))),
                          "the OIDC discovery document"),
                Document("jwks", oidc.document_key(path, oidc.JWKS_PATH), jwks_json,
                          "the service-account verification keys"),
            ])

        url = urls[0]
        records = [st.dns_records for st in self.stores.values() if getattr(st, "dns_records", None)]
        self.dns_records = records[0] if records else pulumi.Output.from_input([])
        self.issuer_url = url
        self.previous_issuer_urls = pulumi.Output.all(*urls[1:]) if urls[1:] else pulumi.Output.from_input([])
        self.jwks_uri = url.apply(oidc.jwks_uri)
        self.discovery_url = url.apply(oidc.discovery_url)
        self.condition_key_prefix = url.apply(oidc.condition_key_prefix)
        self.public_keys_pem = public_pems
        self.key_ids = public_pems.apply(
            lambda pems: [oidc.key_id(oidc.load_public_key(p.encode())) for p in pems]
        )
        self.signing_private_key_pem = pulumi.Output.secret(keys[0].private_key_pem)

        self.register_outputs(
            {
                "issuerUrl": self.issuer_url,
                "previousIssuerUrls": self.previous_issuer_urls,
                "jwksUri": self.jwks_uri,
                "discoveryUrl": self.discovery_url,
                "conditionKeyPrefix": self.condition_key_prefix,
                "keyIds": self.key_ids,
                "publicKeysPem": self.public_keys_pem,
                "signingPrivateKeyPem": self.signing_private_key_pem,
            }
        )
