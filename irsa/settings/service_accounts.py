"""irsa:serviceAccounts: each Kubernetes service account, the accounts that share its
role (sharedWith), its permissions (s3BucketPrefix, policy, policyArns, preset), and
where its role is (account, roleArn). ``parse_service_accounts`` checks such entries
alone, for a stack that only makes roles (examples/account).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from irsa import oidc, policies, presets
from irsa.settings.accounts import _ROLE_ARN, AwsAccount
from irsa.settings.issuer import IssuerSettings
from irsa.settings.keys import _lenient, _TYPE_NAMES
from irsa.settings.names import _DNS_LABEL, _DNS_SUBDOMAIN
from irsa.settings.problems import _duplicates, _Problems, SettingsError
from irsa.settings.roles import (_BUCKET_PREFIX, _POLICY_ARN, _ROLE_NAME, CLUSTER_ONLY_HINT, ROLE_FIELDS,
                                 _prefix_hint, _role_options, _role_quotas)
from irsa.settings.tokens import TokenSettings

SERVICE_ACCOUNT_FIELDS = {
    "namespace": str,
    "name": str,
    "roleName": str,
    "s3BucketPrefix": str,
    "policyArns": list,
    "policy": dict,
    "testPod": bool,
    "createNamespace": bool,
    "allowWildcard": bool,
    "preset": dict,
    "permissionsBoundary": str,
    "path": str,
    "maxSessionDuration": int,
    "description": str,
    "existing": bool,
    "account": str,
    "roleArn": str,
    "sharedWith": list,
}


@dataclass(frozen=True)
class ServiceAccount:
    """One Kubernetes service account and the IAM role it may assume."""

    namespace: str
    name: str
    # roleName as given; None: the stack's default name (Settings.role_name_of).
    role_name: str | None
    s3_bucket_prefix: str | None = None
    policy_arns: tuple[str, ...] = ()
    policy: Mapping[str, Any] | None = None
    test_pod: bool = False
    create_namespace: bool = False
    allow_wildcard: bool = False
    preset: presets.Preset | None = None
    permissions_boundary: str | None = None
    path: str | None = None
    max_session_duration: int | None = None
    description: str | None = None
    # The ServiceAccount exists already (a Helm chart made it): only annotate it.
    existing: bool = False
    # irsa:awsAccounts' name of the account its role lives in.
    account: str = "default"
    # A role made elsewhere (another stack, another team): annotate, make no role.
    role_arn: str | None = None

    @property
    def makes_role(self) -> bool:
        return self.role_arn is None
    # sharedWith: further (namespace, name) accounts that assume the same role.
    shared_with: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """``NAMESPACE/NAME``, as stack outputs and messages name it."""
        return f"{self.namespace}/{self.name}"

    @property
    def resource_name(self) -> str:
        """``NAMESPACE/NAME``: the name of this account's Pulumi resources.

        Distinct for distinct accounts, as the engine requires of URNs: a
        namespace never holds ``/``. (Joining with ``-`` was not: ``a-b/c``
        and ``a/b-c`` met.)
        """
        return self.key

    @property
    def former_resource_name(self) -> str:
        """The name earlier versions gave these resources; kept as an alias so
        existing stacks are not replaced."""
        return f"{self.namespace}-{self.name}".replace("*", "all")

    @property
    def subjects(self) -> tuple[tuple[str, str], ...]:
        """Every (namespace, name) this role trusts and annotates: this account first."""
        return ((self.namespace, self.name), *self.shared_with)

    @property
    def is_pattern(self) -> bool:
        return policies.has_wildcard(self.namespace, self.name)

    @property
    def has_permissions(self) -> bool:
        return bool(self.s3_bucket_prefix or self.policy_arns or self.policy or self.preset)


def _service_accounts(
    entries: list[Any] | None, issuer: IssuerSettings, tokens: TokenSettings, p: _Problems
) -> tuple[ServiceAccount, ...]:
    if entries is None:
        return ()
    accounts: list[ServiceAccount] = []
    for index, entry in enumerate(entries):
        where = f"irsa:serviceAccounts[{index}]"
        if not isinstance(entry, dict):
            p.add(f"{where} must be an object with namespace and name, got {json.dumps(entry)}")
            continue
        before = len(p.messages)
        for unknown in sorted(set(entry) - set(SERVICE_ACCOUNT_FIELDS)):
            close = difflib.get_close_matches(unknown, SERVICE_ACCOUNT_FIELDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            p.add(f"{where} has an unknown field {unknown!r}{hint}; "
                  f"known fields: {', '.join(SERVICE_ACCOUNT_FIELDS)}")
        entry = {k: _lenient(val, _json_type(SERVICE_ACCOUNT_FIELDS[k]))
                 if k in SERVICE_ACCOUNT_FIELDS else val for k, val in entry.items()}
        for name, kind in SERVICE_ACCOUNT_FIELDS.items():
            if name in entry and not (isinstance(entry[name], kind)
                                      and not (kind is not bool and isinstance(entry[name], bool))):
                p.add(f"{where}.{name} must be {_TYPE_NAMES[_json_type(kind)]}, "
                      f"got {json.dumps(entry[name])}")
        for name in ("namespace", "name"):
            p.check(name in entry, f"{where}.{name} is required")
        if len(p.messages) > before:
            continue
        account = _service_account(where, entry, p)
        if account is not None and "roleArn" in entry:
            accounts.append(account)  # no trust policy is made here
        elif account is not None:
            urls = [issuer.url_of(h) for h in issuer.hosts]
            if issuer.github_owner and issuer.github_repository and issuer.github_branch \
                    or "github" not in issuer.hosts:
                known = [u for u in urls if u is not None]
                try:
                    if known:
                        prefixes = [oidc.condition_key_prefix(u) for u in known]
                        policies.check_trust_policy_size(
                            prefixes[0], account.namespace, account.name, tokens.audience,
                            prefixes[1:], account.shared_with)
                except policies.PolicyTooLargeError as err:
                    p.add(f"{where}: {err}")
                except oidc.IssuerUrlError:
                    pass  # already reported once, under the githubOwner/Repository/Branch key at fault
            accounts.append(account)
    for key in _duplicates([f"{n}/{a}" for account in accounts for n, a in account.subjects]):
        p.add(f"irsa:serviceAccounts lists {key} more than once")
    return tuple(accounts)


def _service_account(where: str, entry: dict[str, Any], p: _Problems) -> ServiceAccount | None:
    namespace, name = entry["namespace"], entry["name"]
    allow_wildcard = entry.get("allowWildcard", False)
    pattern = policies.has_wildcard(namespace, name)
    ok = True
    if pattern and not allow_wildcard:
        p.add(f"{where} uses '*' in {namespace}/{name}: set allowWildcard: true to let every "
              "matching service account assume the role (trust policy uses StringLike)")
        ok = False
    plain_ns, plain_name = namespace.replace("*", "x"), name.replace("*", "x")
    ok &= p.check(bool(_DNS_LABEL.fullmatch(plain_ns)),
                  f"{where}.namespace must be a DNS-1123 label (lowercase letters, digits, '-', "
                  f"at most 63, starting and ending with a letter or digit), got {namespace!r}")
    ok &= p.check(len(plain_name) <= 253 and bool(_DNS_SUBDOMAIN.fullmatch(plain_name)),
                  f"{where}.name must be a DNS-1123 subdomain (lowercase letters, digits, '-' "
                  f"and '.', at most 253), got {name!r}")
    if pattern and (entry.get("testPod") or entry.get("createNamespace") or entry.get("existing")):
        p.add(f"{where} is a pattern ({namespace}/{name}): testPod, createNamespace and existing "
              "need one concrete service account")
        ok = False
    if entry.get("existing") and entry.get("createNamespace"):
        p.add(f"{where} sets both existing and createNamespace: an existing ServiceAccount lives in "
              "a namespace that exists; drop createNamespace")
        ok = False
    role_name = entry.get("roleName") or None
    if role_name is not None:
        ok &= p.check(bool(_ROLE_NAME.fullmatch(role_name)),
                      f"{where}.roleName must be at most 64 letters, digits or '+=,.@_-'; got "
                      f"{role_name!r} ({len(role_name)} characters)")
    prefix = entry.get("s3BucketPrefix")
    if prefix is not None:
        ok &= p.check(bool(_BUCKET_PREFIX.fullmatch(prefix)) and ".." not in prefix
                      and not prefix.startswith(("xn--", "sthree-", "amzn-s3-demo-")),
                      f"{where}.s3BucketPrefix must start a valid bucket name: lowercase letters, "
                      f"digits, '.' and '-', 2 to 60 characters, starting with a letter or digit, "
                      f"got {prefix!r}"
                      + _prefix_hint(prefix))
    arns = entry.get("policyArns", [])
    for arn in arns:
        ok &= p.check(isinstance(arn, str) and bool(_POLICY_ARN.fullmatch(arn)),
                      f"{where}.policyArns entry {arn!r} must be an IAM policy ARN, "
                      "e.g. arn:aws:iam::aws:policy/ReadOnlyAccess")
    policy = entry.get("policy")
    if policy is not None:
        for problem in policies.document_problems(policy):
            p.add(f"{where}.policy {problem}")
            ok = False
    preset = None
    if "preset" in entry:
        try:
            preset = presets.parse(entry["preset"])
        except presets.PresetError as err:
            p.add(f"{where}.preset: {err}")
            ok = False
    if ok:
        ok &= _role_quotas(where, f"{namespace}/{name}", prefix, policy, preset, arns, p)
    ok &= _role_options(where, entry, p)
    shared = _shared_with(where, entry, pattern, p)
    if shared is None:
        return None
    if not ok:
        return None
    return ServiceAccount(
        namespace=namespace,
        name=name,
        role_name=role_name,
        s3_bucket_prefix=prefix,
        policy_arns=tuple(arns),
        policy=policy,
        test_pod=entry.get("testPod", False),
        create_namespace=entry.get("createNamespace", False),
        allow_wildcard=allow_wildcard,
        preset=preset,
        permissions_boundary=entry.get("permissionsBoundary"),
        path=entry.get("path"),
        max_session_duration=entry.get("maxSessionDuration"),
        description=entry.get("description"),
        existing=entry.get("existing", False),
        shared_with=shared,
    )


def _shared_with(where: str, entry: dict[str, Any], pattern: bool,
                 p: _Problems) -> tuple[tuple[str, str], ...] | None:
    """sharedWith: ["NAMESPACE/NAME", …], concrete accounts, each once; None when invalid."""
    given = entry.get("sharedWith", [])
    if given and pattern:
        p.add(f"{where}.sharedWith needs a concrete service account; a pattern already matches many")
        return None
    shared: list[tuple[str, str]] = []
    for item in given:
        namespace, _, name = item.partition("/") if isinstance(item, str) else ("", "", "")
        if not (_DNS_LABEL.fullmatch(namespace) and len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)):
            p.add(f"{where}.sharedWith entry {json.dumps(item)} must be NAMESPACE/NAME of one "
                  "service account (no '*')")
            return None
        shared.append((namespace, name))
    return tuple(shared)


def _role_sources(entries: list[Any] | None, accounts: tuple[ServiceAccount, ...],
                  aws_accounts: tuple[AwsAccount, ...], p: _Problems) -> tuple[ServiceAccount, ...]:
    """Each service account's ``account`` and ``roleArn``: where its role is, or that it is given."""
    by_key = {f"{e['namespace']}/{e['name']}": (i, e) for i, e in enumerate(entries or [])
              if isinstance(e, dict) and isinstance(e.get("namespace"), str)
              and isinstance(e.get("name"), str)}
    names = [a.name for a in aws_accounts]
    placed: list[ServiceAccount] = []
    for account in accounts:
        index, entry = by_key[account.key]
        where = f"irsa:serviceAccounts[{index}]"
        role_arn, name = entry.get("roleArn"), entry.get("account")
        if role_arn is not None:
            p.check(bool(_ROLE_ARN.fullmatch(role_arn)),
                    f"{where}.roleArn must be an IAM role ARN such as "
                    f"arn:aws:iam::111122223333:role/k8s_{account.namespace}_{account.name}, "
                    f"got {role_arn!r}")
            given = [f for f in ROLE_FIELDS if f in entry]
            p.check(not given, f"{where} sets roleArn (a role made elsewhere) and "
                    f"{', '.join(given)}, which shape a role this stack makes: keep one or the other")
        elif not aws_accounts:
            asks = [f for f in ROLE_FIELDS if f in entry]
            p.add(f"{where} needs roleArn: irsa:awsAccounts is [] (a cluster-only stack makes no "
                  f"IAM role{', so ' + ', '.join(asks) + ' cannot be applied here' if asks else ''}); "
                  + CLUSTER_ONLY_HINT)
        if name is not None and aws_accounts:
            p.check(name in names, f"{where}.account {name!r} is not in irsa:awsAccounts "
                    f"({', '.join(names)})")
        placed.append(dataclasses.replace(
            account, role_arn=role_arn,
            account=name if name is not None else (names[0] if names else "")))
    makers = [a for a in placed if a.makes_role]
    for account_name in dict.fromkeys(a.account for a in makers):
        roles = [a.role_name for a in makers if a.account == account_name and a.role_name]
        for role in _duplicates(roles):
            where = "" if len(aws_accounts) < 2 else f" in account {account_name}"
            p.add(f"irsa:serviceAccounts gives the role name {role!r} to more than one service "
                  f"account{where}")
    return tuple(placed)


def parse_service_accounts(entries: Any, key: str) -> tuple[ServiceAccount, ...]:
    """Service-account entries alone, under the same rules, for a stack that only makes roles
    (examples/account); ``key`` names its config key in messages. Raises SettingsError.

    There the roles are always made, so roleArn and account are refused.
    """
    p = _Problems()
    if not isinstance(entries, list):
        raise SettingsError([f"{key} must be a list of service accounts, got {json.dumps(entries)}"])
    issuer = IssuerSettings("", "", "", False)  # the trust size is checked by the Role itself
    accounts = _service_accounts(entries, issuer, TokenSettings("", (), 0, ()), p)
    for index, entry in enumerate(entries):
        for field_name in ("roleArn", "account"):
            if isinstance(entry, dict) and field_name in entry:
                p.add(f"irsa:serviceAccounts[{index}].{field_name} is for the cluster stack; this "
                      "stack makes every role it lists in its own account")
    for role in _duplicates([a.role_name for a in accounts if a.role_name]):
        p.add(f"irsa:serviceAccounts gives the role name {role!r} to more than one service account")
    if p.messages:
        raise SettingsError([m.replace("irsa:serviceAccounts", key) for m in p.messages])
    return accounts


def _json_type(kind: type) -> str:
    return {str: "string", bool: "boolean", list: "array", dict: "object", int: "integer"}[kind]
