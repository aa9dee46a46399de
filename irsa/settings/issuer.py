"""Where the issuer's discovery document and JWKS are published (irsa:issuerHost:
a GitHub repository, an S3 bucket, or CloudFront in front of one), the stores that
keep publishing while tokens of a previous issuer live (irsa:previousIssuerHosts),
and the OIDC provider's thumbprints. See docs/issuer-hosting.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from irsa import oidc, s3
from irsa.settings.names import _DNS_SUBDOMAIN
from irsa.settings.problems import _duplicates, _Problems

ISSUER_HOSTS = ("github", "s3", "cloudfront")
MAX_THUMBPRINTS = 5
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")

# A previous GitHub issuer elsewhere (irsa:previousIssuerHosts): github:OWNER/REPO@BRANCH[:PATH].
_GITHUB_ENTRY = re.compile(r"^github:([^/@:]+)/([^/@:]+)@([^:]+)(?::(.+))?$")
_THUMBPRINT = re.compile(r"^[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class IssuerSettings:
    """Where the discovery document and JWKS are published.

    ``host`` is the store that serves the issuer now; ``previous_hosts`` are
    stores that keep serving the same keys under their old issuer URLs while
    tokens of those issuers are still in use (the move between hosts).
    """

    github_owner: str
    github_repository: str
    github_branch: str
    create_repository: bool
    # How long to wait for the public URL to serve new keys; 0: do not wait.
    wait_seconds: int = 900
    host: str = "github"
    path: str = ""
    bucket: str = ""
    create_bucket: bool = True
    domain: str = ""
    region: str | None = None
    previous_hosts: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """The issuer URL of ``host``; raises when it is only known at deploy time."""
        found = self.url_of(self.host)
        if found is None:
            raise ValueError(f"the {self.host} issuer URL is known only once its resources exist")
        return found

    def github_location(self, host: str) -> tuple[str, str, str, str] | None:
        """(owner, repository, branch, path) of a GitHub store: ``github`` (the stack's
        settings) or a previous ``github:OWNER/REPO@BRANCH[:PATH]``; None for other hosts."""
        if host == "github":
            return self.github_owner, self.github_repository, self.github_branch, self.path
        found = _GITHUB_ENTRY.fullmatch(host)
        return (found[1], found[2], found[3], found[4] or "") if found else None

    def url_of(self, host: str) -> str | None:
        """The issuer URL the given store serves, or None when AWS names it at deploy time
        (a derived bucket name, a CloudFront distribution's domain)."""
        location = self.github_location(host)
        if location:
            return oidc.github_issuer_url(*location)
        if host == "s3" and self.bucket and self.region:
            return oidc.s3_issuer_url(self.bucket, self.region, self.path)
        if host == "cloudfront" and self.domain:
            return oidc.https_issuer_url(self.domain, self.path)
        return None

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every store that publishes: the current host first."""
        return (self.host, *self.previous_hosts)


def _issuer(v: dict[str, Any], region: str | None, p: _Problems, region_known: bool = True) -> IssuerSettings:
    """The GitHub repository keys, irsa:issuerWaitSeconds, and where the issuer is published."""
    owner, repo, branch = v["githubOwner"], v["githubRepository"], v["githubBranch"]
    host_kind, previous = v["issuerHost"], v["previousIssuerHosts"]
    uses_github = host_kind == "github" or (previous is not None and "github" in previous)
    for key, value in (("githubOwner", owner), ("githubRepository", repo)):
        if value == "" and uses_github:
            p.add(f"irsa:{key} is required: pulumi config set irsa:{key} VALUE")
    if owner:
        p.check(bool(_GITHUB_OWNER.fullmatch(owner)),
                f"irsa:githubOwner must be a GitHub user or organisation name "
                f"(letters, digits, single hyphens, at most 39), got {owner!r}")
    if repo:
        p.check(bool(_GITHUB_REPOSITORY.fullmatch(repo)) and repo not in (".", ".."),
                f"irsa:githubRepository must be a repository name (letters, digits, '.', '-', '_'), "
                f"got {repo!r}")
    if branch is not None:
        p.check(_is_branch_name(branch),
                f"irsa:githubBranch must be a git branch name (no spaces, '..', '~^:?*[\\', "
                f"no leading or trailing '/'), got {branch!r}")
    wait = v["issuerWaitSeconds"]
    if wait is not None:
        p.check(0 <= wait <= 3600, f"irsa:issuerWaitSeconds must be between 0 and 3600, got {wait}")
    return _issuer_settings(v, owner or "", repo or "", branch or "", region, p, region_known)


def _issuer_settings(v: dict[str, Any], owner: str, repo: str, branch: str, region: str | None,
                     p: _Problems, region_known: bool = True) -> IssuerSettings:
    """irsa:issuerHost and what each store needs (see docs/issuer-hosting.md)."""
    host = v["issuerHost"]
    # With an unknown host, what the other keys are for cannot be judged: say only that.
    host_known = host is None or host in ISSUER_HOSTS
    if not host_known:
        lowered = host.lower()
        p.add(f"irsa:issuerHost must be one of {', '.join(ISSUER_HOSTS)}, got {host!r}"
              + (f": write {lowered} (lower case)" if lowered in ISSUER_HOSTS else ""))
        if lowered in ISSUER_HOSTS:
            host, host_known = lowered, True  # judge the rest as meant
    path = v["issuerPath"]
    if path is not None:
        try:
            s3.check_issuer_path(path)
        except ValueError as err:
            p.add(f"irsa:issuerPath {err}")
    bucket = v["issuerBucket"]
    if bucket:
        try:
            s3.check_bucket_name(bucket)
        except s3.BucketNameError as err:
            p.add(f"irsa:issuerBucket: {err}")
    previous = v["previousIssuerHosts"] or []
    for entry in previous:
        found = _GITHUB_ENTRY.fullmatch(entry)
        if entry.startswith("github:"):
            p.check(bool(found and _GITHUB_OWNER.fullmatch(found[1]) and _GITHUB_REPOSITORY.fullmatch(found[2])
                         and _is_branch_name(found[3]) and _is_issuer_path(found[4] or ""))
                    and (host != "github" or (found[1], found[2], found[3], found[4] or "")  # type: ignore[index]
                         != (owner, repo, branch, path or "")),
                    f"irsa:previousIssuerHosts entry {entry!r} must name a GitHub issuer other than the "
                    "current one, as github:OWNER/REPO@BRANCH or github:OWNER/REPO@BRANCH:PATH")
            continue
        p.check(entry in ISSUER_HOSTS and entry != host,
                f"irsa:previousIssuerHosts entry {entry!r} must be one of "
                f"{', '.join(h for h in ISSUER_HOSTS if h != host)} (a host other than "
                f"irsa:issuerHost), or github:OWNER/REPO@BRANCH[:PATH] for another GitHub issuer")
    for entry in _duplicates(previous):
        p.add(f"irsa:previousIssuerHosts names {entry!r} more than once")
    hosts = {host, *previous}
    uses_bucket = bool(hosts & {"s3", "cloudfront"})
    domain = v["issuerDomain"]
    if domain and host_known:
        p.check("cloudfront" in hosts,
                "irsa:issuerDomain is for irsa:issuerHost cloudfront (a custom domain on the "
                "distribution); unset it for other hosts")
        p.check(len(domain) <= 253 and domain.count(".") >= 1 and bool(_DNS_SUBDOMAIN.fullmatch(domain)),
                f"irsa:issuerDomain must be a lowercase DNS name such as oidc.example.com, "
                f"got {domain!r}")
    if bucket and {"s3", "cloudfront"} <= hosts:
        p.add("irsa:issuerBucket names one bucket, but irsa:issuerHost and "
              "irsa:previousIssuerHosts use both s3 and cloudfront, which need a bucket each (their "
              "discovery documents differ): leave irsa:issuerBucket unset during the move "
              "(derived names differ per host), or move through github")
    if bucket and not uses_bucket and host_known:
        p.add("irsa:issuerBucket is for irsa:issuerHost s3 or cloudfront; unset it for github")
    create_bucket = v["createBucket"]
    if create_bucket is False and host_known:
        p.check(bool(bucket) and uses_bucket,
                "irsa:createBucket false publishes into an existing bucket: set irsa:issuerBucket "
                "to its name (and irsa:issuerHost to s3 or cloudfront)")
        p.check(bool(path),
                "irsa:createBucket false means the bucket belongs to another stack: set "
                "irsa:issuerPath so this cluster's documents do not overwrite that stack's")
    if "s3" in hosts:
        if not region:
            p.add("irsa:issuerHost s3 needs aws:region set in the stack (pulumi config set "
                  "aws:region REGION): the region is part of the issuer URL, which must not "
                  "change with the environment")
        elif region_known:
            try:
                s3.check_region(region)
            except ValueError as err:
                p.add(f"aws:region: {err}")
    issuer = IssuerSettings(
        github_owner=owner,
        github_repository=repo,
        github_branch=branch,
        create_repository=bool(v["createRepository"]),
        host=host or "github",
        path=path or "",
        bucket=bucket or "",
        create_bucket=create_bucket is not False,
        domain=domain or "",
        region=region,
        previous_hosts=tuple(previous),
        wait_seconds=v["issuerWaitSeconds"] if v["issuerWaitSeconds"] is not None else 0,
    )
    if not p.messages:
        for kind in issuer.hosts:
            if kind == "github" and not (owner and repo and branch):
                continue
            url = issuer.url_of(kind)
            try:
                if url is not None:
                    oidc.check_issuer_url(url)
                    # IAM's OpenIDConnectProviderUrlType: at most 255 (botocore's IAM model).
                    p.check(kind == "github" or len(url) <= 255,
                            f"the {kind} issuer URL {url} is longer than the 255 characters "
                            "IAM accepts for an OIDC provider: shorten irsa:issuerPath")
            except oidc.IssuerUrlError as err:
                key = "irsa:githubBranch" if kind == "github" else "irsa:issuerPath"
                p.add(f"{key} gives an unusable issuer URL: {err}")
    return issuer


def _thumbprints(v: dict[str, Any], p: _Problems) -> tuple[str, ...]:
    """irsa:thumbprints: "auto" or SHA-1 fingerprints, lower-cased."""
    thumbprints = v["thumbprints"]
    if thumbprints is not None:
        p.check(len(thumbprints) <= MAX_THUMBPRINTS,
                f"irsa:thumbprints may hold at most {MAX_THUMBPRINTS} entries, got {len(thumbprints)}")
        for t in thumbprints:
            p.check(t == "auto" or bool(_THUMBPRINT.fullmatch(t)),
                    f"irsa:thumbprints entry {t!r} must be \"auto\" or a SHA-1 fingerprint of "
                    "40 hex digits (no colons)")
    return tuple(t if t == "auto" else t.lower() for t in thumbprints or ())


def _is_issuer_path(path: str) -> bool:
    try:
        s3.check_issuer_path(path)
    except ValueError:
        return False
    return True


def _is_branch_name(branch: str) -> bool:
    return (
        bool(branch)
        and not re.search(r"[\s~^:?*\[\\]|\.\.|//|@\{", branch)
        and not branch.startswith(("/", "-", "."))
        and not branch.endswith(("/", ".", ".lock"))
        and branch != "@"
    )
