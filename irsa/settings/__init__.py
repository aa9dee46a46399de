"""The stack's configuration, read and validated in one place.

``parse`` turns the raw strings Pulumi hands a program (``irsa:KEY`` → text,
JSON for arrays and objects) into frozen dataclasses, or raises one
``SettingsError`` whose lines each name a key and the form it expects. No
resource exists before this has passed.

This package holds ``Settings``, ``parse`` and the checks that span concerns;
each concern has its module: ``keys`` (the keys table, defaults, decoding),
``problems`` (collecting messages), ``issuer``, ``tokens`` (signing keys and
tokens), ``hosts`` (SSH, host keys), ``accounts`` (irsa:awsAccounts),
``service_accounts`` and ``roles`` (irsa:serviceAccounts and their IAM roles),
``tags``, ``webhook_settings``, and ``names`` (name patterns several keys
share). Every public name is importable from here.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from irsa import iam_names, partitions, policies, s3, webhook
from irsa.settings.accounts import AWS_ACCOUNT_FIELDS, AwsAccount, _aws_accounts
from irsa.settings.hosts import (API_PORTS, DISTRIBUTIONS, HOST_KEY_TYPES, HostSettings, _host_settings,
                                 parse_host_keys)
from irsa.settings.issuer import ISSUER_HOSTS, MAX_THUMBPRINTS, IssuerSettings, _issuer, _thumbprints
from irsa.settings.keys import KEYS, NAMESPACE, KeySpec, Secret, _decode
from irsa.settings.problems import SettingsError, _Problems
from irsa.settings.roles import CLUSTER_ONLY_HINT, MAX_SESSION_DURATION, ROLE_FIELDS, _role_name_prefix
from irsa.settings.service_accounts import (SERVICE_ACCOUNT_FIELDS, ServiceAccount, _role_sources,
                                            _service_accounts, parse_service_accounts)
from irsa.settings.tags import MAX_OBJECT_TAGS, MAX_TAGS, PROGRAM_TAG_KEYS, _store_tags, _tags
from irsa.settings.tokens import (DEFAULT_AUDIENCE, KEY_BITS, KeySettings, TokenSettings, _key_settings,
                                  _token_settings)
from irsa.settings.webhook_settings import WebhookSettings, _webhook_settings

__all__ = [
    "API_PORTS", "AWS_ACCOUNT_FIELDS", "CLUSTER_ONLY_HINT", "DEFAULT_AUDIENCE", "DISTRIBUTIONS",
    "HOST_KEY_TYPES", "ISSUER_HOSTS", "KEYS", "KEY_BITS", "MAX_OBJECT_TAGS", "MAX_SESSION_DURATION",
    "MAX_TAGS", "MAX_THUMBPRINTS", "NAMESPACE", "PROGRAM_TAG_KEYS", "ROLE_FIELDS", "SERVICE_ACCOUNT_FIELDS",
    "AwsAccount", "HostSettings", "IssuerSettings", "KeySettings", "KeySpec", "Secret", "ServiceAccount",
    "Settings", "SettingsError", "TokenSettings", "WebhookSettings",
    "parse", "parse_host_keys", "parse_service_accounts",
]


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, validated."""

    issuer: IssuerSettings
    keys: KeySettings
    tokens: TokenSettings
    host: HostSettings
    thumbprints: tuple[str, ...]
    service_accounts: tuple[ServiceAccount, ...]
    kubeconfig: Secret | None
    # irsa:tags: on every AWS resource the program creates.
    tags: Mapping[str, str] = field(default_factory=dict)
    # Other packages' keys, read (not declared): the AWS provider's aws:region so
    # pods get the same region, and github:token for the explicit GitHub provider.
    aws_region: str | None = None
    github_token: Secret | None = None
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    # irsa:awsAccounts: empty for a cluster-only stack; the first is the default.
    aws_accounts: tuple[AwsAccount, ...] = (AwsAccount("default"),)
    # irsa:issuerAccount, resolved: the account an S3 or CloudFront issuer lives in.
    issuer_account: str = "default"
    # aws:profile, which the explicit providers of other accounts start from.
    aws_profile: str | None = None

    @property
    def cluster_only(self) -> bool:
        """irsa:awsAccounts is []: the stack makes no AWS resource."""
        return not self.aws_accounts

    def aws_account(self, name: str) -> AwsAccount:
        return next(a for a in self.aws_accounts if a.name == name)

    def role_resource_name(self, account: ServiceAccount) -> str:
        """The name of the role component of ``account`` (in its AWS account)."""
        return self.aws_account(account.account).resource_name(account.resource_name)
    # irsa:roleNamePrefix; "": derived from the project and stack (iam_names.stack_prefix).
    role_name_prefix: str = ""

    @property
    def partition(self) -> partitions.Partition | None:
        """The partition of aws:region (validated); None when aws:region is unset."""
        return partitions.of_region(self.aws_region) if self.aws_region else None

    def role_name_of(self, account: ServiceAccount, project: str, stack: str) -> str:
        """The account's role name: its roleName, else PREFIX_NAMESPACE_NAME for this stack."""
        if account.role_name:
            return account.role_name
        prefix = self.role_name_prefix or iam_names.stack_prefix(project, stack)
        return iam_names.default_role_name(account.namespace, account.name, prefix)

    @property
    def former_namespace_owners(self) -> dict[str, str]:
        """Which account's resources created each namespace in earlier versions
        (the first account that asked), for aliases."""
        owners: dict[str, str] = {}
        for account in self.service_accounts:
            if account.create_namespace:
                owners.setdefault(account.namespace, account.former_resource_name)
        return owners

    @property
    def namespaces_to_create(self) -> tuple[str, ...]:
        """Namespaces some service account asks to create, each once, in first-mention order."""
        return tuple(dict.fromkeys(namespace for a in self.service_accounts if a.create_namespace
                                   for namespace, _ in a.subjects))

    def thumbprints_for(self, host: str) -> tuple[str, ...]:
        """The thumbprints of the OIDC provider for ``host``'s issuer.

        ``auto`` pins the GitHub host's top certificate (unchanged behaviour);
        for S3 and CloudFront it pins nothing: their certificates come from a
        public CA that IAM checks itself, and AWS rotates them.
        """
        if host.partition(":")[0] == "github":
            return self.thumbprints
        return tuple(t for t in self.thumbprints if t != "auto")

    @property
    def warnings(self) -> tuple[str, ...]:
        """Valid but risky choices, shown in the preview."""
        found = []
        if self.issuer.previous_hosts:
            found.append(
                f"irsa:previousIssuerHosts keeps {', '.join(self.issuer.previous_hosts)} publishing "
                "and trusted next to "
                f"{self.issuer.host}: drop it once every pod holds a token of the new issuer "
                "(tokens live at most irsa:tokenExpirationSeconds; see docs/issuer-hosting.md)"
            )
        if self.tokens.audience in self.tokens.api_audiences:
            # Advise sts.amazonaws.com only to someone who is not already using it.
            fix = ("Remove it from irsa:apiAudiences" if self.tokens.audience == DEFAULT_AUDIENCE
                   else f"Use a separate audience such as {DEFAULT_AUDIENCE}")
            found.append(
                f"irsa:audience {self.tokens.audience!r} is also an API audience: a token AWS "
                f"accepts is then also a key to the Kubernetes API. {fix}"
            )
        for account in self.service_accounts:
            count = len(set(account.policy_arns))
            if count > policies.MANAGED_POLICIES_DEFAULT:
                found.append(
                    f"the role of {account.key} attaches {count} managed policies; IAM's default "
                    f"quota is {policies.MANAGED_POLICIES_DEFAULT} per role (AWS raises it to "
                    f"{policies.MANAGED_POLICIES_MAX} on request): without the raise, up fails")
        if self.webhook.enabled:
            for account in self.service_accounts:
                if account.test_pod and not self.webhook.mutates(account.namespace):
                    found.append(
                        f"the pod identity webhook does not mutate pods in {account.namespace}: "
                        f"the test pod of {account.key} carries its own token volume, and other "
                        "pods there must too")
        if self.webhook.enabled and self.webhook.failure_policy == "Fail":
            found.append(
                "irsa:webhookFailurePolicy Fail also holds up kube-system's pods (CoreDNS, the "
                "CNI) while the webhook is down; if its own pods need them to start, none does. "
                f"Label such pods {webhook.SKIP_LABEL}, or keep Ignore")
        missing = [h for h in self.host.nodes if h not in self.host.host_keys]
        if missing:
            found.append(
                f"irsa:sshHostKey is not set for {', '.join(missing)}: the SSH connection accepts "
                "any server key, and it carries the service-account signing key (on stdin), which "
                "mints tokens for every IRSA role. Get the key with: ssh-keyscan -t ed25519 "
                f"{' '.join(missing)} (compare its fingerprint with ssh-keygen -lf "
                "/etc/ssh/ssh_host_ed25519_key.pub on the host), then: "
                "pulumi config set irsa:sshHostKey \"$(ssh-keyscan -t ed25519 HOST)\""
            )
        return tuple(found)


def parse(raw: Mapping[str, Any], secret_keys: Collection[str] = (), *,
          opaque_secrets: bool = False) -> Settings:
    """Validate the stack's configuration.

    ``raw`` maps ``irsa:KEY`` (or bare ``KEY``) to the value Pulumi holds: a
    string, with JSON for non-strings. ``secret_keys`` names the keys that are
    stored encrypted. Raises ``SettingsError`` listing every problem.
    ``opaque_secrets``: the secret values are placeholders (a stack file checked
    offline, whose secrets cannot be decrypted): check them only for presence.
    """
    problems = _Problems()
    given: dict[str, Any] = {}
    secrets = {k.removeprefix(f"{NAMESPACE}:") for k in secret_keys}
    for full_key, value in raw.items():
        namespace, _, key = full_key.rpartition(":")
        if namespace not in ("", NAMESPACE):
            continue  # another package's key, e.g. aws:region
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean irsa:{close[0]}?)" if close else ""
            problems.add(f"irsa:{key} is not a configuration key of this project{hint}")
            continue
        given[key] = value

    values: dict[str, Any] = {}
    for key, spec in KEYS.items():
        # The CLI passes a secret key's declared default ("") when it is unset.
        if key not in given or (spec.secret and given[key] == spec.default):
            if spec.required:
                problems.add(f"irsa:{key} is required: pulumi config set irsa:{key} VALUE")
            values[key] = None if spec.secret else spec.default
            continue
        if spec.secret and key not in secrets:
            problems.add(
                f"irsa:{key} must be set as a secret: pulumi config set --secret irsa:{key} VALUE"
            )
            values[key] = None
            continue
        try:
            values[key] = _decode(key, spec, given[key])
        except ValueError as err:
            problems.add(str(err))
            values[key] = None

    token = raw.get("github:token")
    if token and "github:token" not in secret_keys:
        problems.add("github:token must be set as a secret: pulumi config set --secret github:token VALUE")
    region = raw.get("aws:region")
    opaque = frozenset(secrets) if opaque_secrets else frozenset()
    settings = _build(values, problems, region if isinstance(region, str) else None, opaque)
    if problems.messages:
        raise SettingsError(problems.messages)
    profile = raw.get("aws:profile")
    return dataclasses.replace(
        settings,
        aws_region=region if isinstance(region, str) else None,
        github_token=Secret(token) if token else None,
        aws_profile=profile if isinstance(profile, str) and profile else None,
    )


def _build(v: dict[str, Any], p: _Problems, region: str | None = None,
           opaque: frozenset[str] = frozenset()) -> Settings:
    """Validate decoded values; return Settings (meaningful only without problems).

    The order of the checks is the order of the messages.
    """
    # An encrypted aws:region (a stack file checked offline) is set, but its value is
    # unknown: another namespace's secret is not judged.
    region_known = "aws:region" not in opaque
    issuer = _issuer(v, region, p, region_known)
    keys = _key_settings(v, p)
    tokens = _token_settings(v, p)
    host = _host_settings(v, p, opaque)
    thumbprints = _thumbprints(v, p)

    aws_accounts, issuer_account = _aws_accounts(v, issuer, region, p)
    issuer_region = next((a.region for a in aws_accounts if a.name == issuer_account and a.region), None)
    if issuer_region:  # the bucket is in that account's region
        issuer = dataclasses.replace(issuer, region=issuer_region)
    accounts = _service_accounts(v["serviceAccounts"], issuer, tokens, p)
    accounts = _role_sources(v["serviceAccounts"], accounts, aws_accounts, p)

    tags = _tags(v["tags"], p)
    _store_tags(tags, issuer, p)

    kubeconfig = v["kubeconfig"]
    webhook_settings = _webhook_settings(v, p)
    if webhook_settings.enabled:
        for index, account in enumerate(accounts):
            p.check(all(namespace != webhook.NAMESPACE for namespace, _ in account.subjects),
                    f"irsa:serviceAccounts[{index}].namespace {webhook.NAMESPACE} is the pod identity "
                    "webhook's own namespace, whose pods it never mutates: use another namespace")
    if region_known:
        _check_partition(region, issuer, accounts, p)
    return Settings(
        issuer=issuer,
        keys=keys,
        tokens=tokens,
        host=host,
        thumbprints=thumbprints,
        service_accounts=accounts,
        kubeconfig=Secret(kubeconfig) if kubeconfig else None,
        webhook=webhook_settings,
        tags=tags,
        aws_accounts=aws_accounts,
        issuer_account=issuer_account,
        role_name_prefix=_role_name_prefix(v["roleNamePrefix"], p),
    )


_ARN_PARTITION = re.compile(r"^arn:([a-z-]+):")


def _check_partition(region: str | None, issuer: IssuerSettings, accounts: tuple[ServiceAccount, ...],
                     p: _Problems) -> None:
    """aws:region's partition is supported, serves the issuer host, and every ARN given is in it."""
    if not region or ("s3" in issuer.hosts and not s3.is_region_name(region)):
        return  # no region, or one already reported as malformed
    try:
        partition = partitions.of_region(region)
    except partitions.UnsupportedPartitionError as err:
        p.add(f"aws:region: {err}")
        return
    for host in issuer.hosts:
        problem = partitions.issuer_host_problem(partition, host)
        if problem:
            p.add(f"irsa:issuerHost {host} cannot serve the issuer in {region} ({partition.name}): "
                  f"{problem}; use s3 or github")
    for index, account in enumerate(accounts):
        given = [("policyArns", a) for a in account.policy_arns]
        given += [("permissionsBoundary", account.permissions_boundary)] if account.permissions_boundary else []
        for key, value in (account.preset.parameters.items() if account.preset else ()):
            given += [(f"preset.{key}", v) for v in (value if isinstance(value, list) else [value])]
        for key, arn in given:
            found = _ARN_PARTITION.match(arn) if isinstance(arn, str) else None
            if found and found.group(1) != partition.name:
                p.add(f"irsa:serviceAccounts[{index}].{key} {arn} is in the {found.group(1)} partition, "
                      f"but aws:region {region} is in {partition.name}: write it arn:{partition.name}:…")
