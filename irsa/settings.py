"""The stack's configuration, read and validated in one place.

``parse`` turns the raw strings Pulumi hands a program (``irsa:KEY`` → text,
JSON for arrays and objects) into frozen dataclasses, or raises one
``SettingsError`` whose lines each name a key and the form it expects. No
resource exists before this has passed. Defaults here mirror ``Pulumi.yaml``
(a test compares the two), because under test mocks the CLI does not apply them.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import posixpath
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from irsa import oidc, policies

NAMESPACE = "irsa"
DISTRIBUTIONS = ("microk8s",)
KEY_BITS = (2048, 3072, 4096)
MAX_THUMBPRINTS = 5


class SettingsError(ValueError):
    """One or more configuration values are invalid; each line names its key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Secret:
    """A configuration value that must stay secret: never shown by repr or str."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "[secret]"


@dataclass(frozen=True)
class KeySpec:
    """One declared configuration key, as ``Pulumi.yaml`` declares it.

    ``secret`` keys are optional (default ``""``) and, when set, must be stored
    encrypted. The program checks that itself: declaring them ``secret: true``
    in ``Pulumi.yaml`` would make the CLI require them.
    """

    type: str
    default: Any = None
    secret: bool = False
    items: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


# Every key of the project, in Pulumi.yaml's order.
KEYS: dict[str, KeySpec] = {
    "githubOwner": KeySpec("string"),
    "githubRepository": KeySpec("string"),
    "githubBranch": KeySpec("string", "main"),
    "createRepository": KeySpec("boolean", False),
    "signingKeys": KeySpec("array", ["primary"], items="string"),
    "keyBits": KeySpec("integer", 2048),
    "audience": KeySpec("string", "sts.amazonaws.com"),
    "apiAudiences": KeySpec("array", ["https://kubernetes.default.svc"], items="string"),
    "tokenExpirationSeconds": KeySpec("integer", 86400),
    "distribution": KeySpec("string", "microk8s"),
    "host": KeySpec("string"),
    "sshUser": KeySpec("string", "ubuntu"),
    "sshPort": KeySpec("integer", 22),
    "sshPrivateKey": KeySpec("string", "", secret=True),
    "keyDir": KeySpec("string", "/opt/k8s"),
    "readyTimeoutSeconds": KeySpec("integer", 300),
    "restartWorkloads": KeySpec("boolean", False),
    "kubeconfig": KeySpec("string", "", secret=True),
    "thumbprints": KeySpec("array", ["auto"], items="string"),
    "extraClientIds": KeySpec("array", [], items="string"),
    "serviceAccounts": KeySpec("array", [], items="object"),
}

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
}


@dataclass(frozen=True)
class IssuerSettings:
    """Where the discovery document and JWKS are published."""

    github_owner: str
    github_repository: str
    github_branch: str
    create_repository: bool

    @property
    def url(self) -> str:
        return oidc.github_issuer_url(self.github_owner, self.github_repository, self.github_branch)


@dataclass(frozen=True)
class KeySettings:
    """The service-account signing keys; the first signs, all verify."""

    names: tuple[str, ...]
    bits: int


@dataclass(frozen=True)
class TokenSettings:
    """Audiences and lifetime of service-account tokens."""

    audience: str
    api_audiences: tuple[str, ...]
    expiration_seconds: int
    extra_client_ids: tuple[str, ...]

    @property
    def client_ids(self) -> tuple[str, ...]:
        """The OIDC provider's client ids: the web-identity audience first."""
        return (self.audience, *(c for c in self.extra_client_ids if c != self.audience))


@dataclass(frozen=True)
class HostSettings:
    """The Kubernetes host whose API server is reconfigured over SSH."""

    distribution: str
    host: str
    ssh_user: str
    ssh_port: int
    ssh_private_key: Secret | None
    key_dir: str
    ready_timeout_seconds: int
    restart_workloads: bool


@dataclass(frozen=True)
class ServiceAccount:
    """One Kubernetes service account and the IAM role it may assume."""

    namespace: str
    name: str
    role_name: str
    s3_bucket_prefix: str | None = None
    policy_arns: tuple[str, ...] = ()
    policy: Mapping[str, Any] | None = None
    test_pod: bool = False
    create_namespace: bool = False
    allow_wildcard: bool = False

    @property
    def key(self) -> str:
        """``NAMESPACE/NAME``, as stack outputs and messages name it."""
        return f"{self.namespace}/{self.name}"

    @property
    def resource_name(self) -> str:
        """``NAMESPACE-NAME``, a stable name for this account's Pulumi resources."""
        return f"{self.namespace}-{self.name}".replace("*", "all")

    @property
    def is_pattern(self) -> bool:
        return policies.has_wildcard(self.namespace, self.name)

    @property
    def has_permissions(self) -> bool:
        return bool(self.s3_bucket_prefix or self.policy_arns or self.policy)


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
    # Other packages' keys, read (not declared): the AWS provider's aws:region so
    # pods get the same region, and github:token for the explicit GitHub provider.
    aws_region: str | None = None
    github_token: Secret | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Valid but risky choices, shown in the preview."""
        found = []
        if self.tokens.audience in self.tokens.api_audiences:
            found.append(
                f"irsa:audience {self.tokens.audience!r} is also an API audience: a token AWS "
                "accepts is then also a key to the Kubernetes API. Use a separate audience "
                "such as sts.amazonaws.com"
            )
        return tuple(found)


# --- patterns -------------------------------------------------------------

_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_KEY_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9.-]{1,59}$")
_POLICY_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/[\w+=,.@/-]+$", re.ASCII)
_THUMBPRINT = re.compile(r"^[0-9a-fA-F]{40}$")
_SSH_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,253}$")
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")

_TYPE_NAMES = {"string": "a string", "integer": "a whole number", "boolean": "true or false",
               "array": "a list", "object": "an object"}


# --- decoding raw config --------------------------------------------------


def _decode(key: str, spec: KeySpec, raw: Any) -> Any:
    """Turn Pulumi's raw text for a key into a Python value of the declared type."""
    expected = f"irsa:{key} must be {_TYPE_NAMES[spec.type]}"
    if spec.type == "string":
        if not isinstance(raw, str):
            raise ValueError(f"{expected}, got {json.dumps(raw)}")
        return raw
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(f"{expected}, got {raw!r}") from None
    checks: dict[str, Callable[[Any], bool]] = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[spec.type](value):
        raise ValueError(f"{expected}, got {json.dumps(value)}")
    if spec.type == "array" and spec.items == "string":
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"irsa:{key} must be a list of strings, got {json.dumps(item)}")
    return value


class _Problems:
    """Collects one message per bad key so the user sees them all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.add(message)
        return ok


def parse(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> Settings:
    """Validate the stack's configuration.

    ``raw`` maps ``irsa:KEY`` (or bare ``KEY``) to the value Pulumi holds: a
    string, with JSON for non-strings. ``secret_keys`` names the keys that are
    stored encrypted. Raises ``SettingsError`` listing every problem.
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
    settings = _build(values, problems)
    if problems.messages:
        raise SettingsError(problems.messages)
    region = raw.get("aws:region")
    return dataclasses.replace(
        settings,
        aws_region=region if isinstance(region, str) else None,
        github_token=Secret(token) if token else None,
    )


# --- validation -----------------------------------------------------------


def _build(v: dict[str, Any], p: _Problems) -> Settings:
    """Validate decoded values; return Settings (meaningful only without problems)."""
    owner, repo, branch = v["githubOwner"], v["githubRepository"], v["githubBranch"]
    if owner is not None:
        p.check(bool(_GITHUB_OWNER.fullmatch(owner)),
                f"irsa:githubOwner must be a GitHub user or organisation name "
                f"(letters, digits, single hyphens, at most 39), got {owner!r}")
    if repo is not None:
        p.check(bool(_GITHUB_REPOSITORY.fullmatch(repo)) and repo not in (".", ".."),
                f"irsa:githubRepository must be a repository name (letters, digits, '.', '-', '_'), "
                f"got {repo!r}")
    if branch is not None:
        p.check(_is_branch_name(branch),
                f"irsa:githubBranch must be a git branch name (no spaces, '..', '~^:?*[\\', "
                f"no leading or trailing '/'), got {branch!r}")
    issuer = IssuerSettings(owner or "", repo or "", branch or "", bool(v["createRepository"]))
    if owner and repo and branch and not p.messages:
        try:
            oidc.check_issuer_url(issuer.url)
        except oidc.IssuerUrlError as err:
            p.add(f"irsa:githubBranch gives an unusable issuer URL: {err}")

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
    keys = KeySettings(tuple(names or ()), bits or 0)

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
    tokens = TokenSettings(audience or "", tuple(api_audiences or ()), expiration or 0, tuple(extra or ()))

    host = _host_settings(v, p)

    thumbprints = v["thumbprints"]
    if thumbprints is not None:
        p.check(len(thumbprints) <= MAX_THUMBPRINTS,
                f"irsa:thumbprints may hold at most {MAX_THUMBPRINTS} entries, got {len(thumbprints)}")
        for t in thumbprints:
            p.check(t == "auto" or bool(_THUMBPRINT.fullmatch(t)),
                    f"irsa:thumbprints entry {t!r} must be \"auto\" or a SHA-1 fingerprint of "
                    "40 hex digits (no colons)")
    thumbprints = tuple(t if t == "auto" else t.lower() for t in thumbprints or ())

    accounts = _service_accounts(v["serviceAccounts"], issuer, tokens, p)

    kubeconfig = v["kubeconfig"]
    return Settings(
        issuer=issuer,
        keys=keys,
        tokens=tokens,
        host=host,
        thumbprints=thumbprints,
        service_accounts=accounts,
        kubeconfig=Secret(kubeconfig) if kubeconfig else None,
    )


def _host_settings(v: dict[str, Any], p: _Problems) -> HostSettings:
    distribution = v["distribution"]
    if distribution is not None:
        p.check(distribution in DISTRIBUTIONS,
                f"irsa:distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")
    host = v["host"]
    if host is not None:
        p.check(bool(_HOST.fullmatch(host)),
                f"irsa:host must be a host name or IP address (no spaces, no user@ or :port), "
                f"got {host!r}")
    user = v["sshUser"]
    if user is not None:
        p.check(bool(_SSH_USER.fullmatch(user)), f"irsa:sshUser must be a login name, got {user!r}")
    port = v["sshPort"]
    if port is not None:
        p.check(1 <= port <= 65535, f"irsa:sshPort must be between 1 and 65535, got {port}")
    private_key = v["sshPrivateKey"]
    if private_key is not None:
        p.check("PRIVATE KEY-----" in private_key,
                "irsa:sshPrivateKey must be a PEM or OpenSSH private key "
                "(pulumi config set --secret irsa:sshPrivateKey < ~/.ssh/id_ed25519)")
    key_dir = v["keyDir"]
    if key_dir is not None:
        p.check(bool(_SAFE_PATH.fullmatch(key_dir)) and posixpath.normpath(key_dir) == key_dir
                and key_dir != "/",
                f"irsa:keyDir must be an absolute, normalised directory path of letters, digits, "
                f"'.', '_', '-' and '/', other than /, got {key_dir!r}")
    timeout = v["readyTimeoutSeconds"]
    if timeout is not None:
        p.check(10 <= timeout <= 3600,
                f"irsa:readyTimeoutSeconds must be between 10 and 3600, got {timeout}")
    return HostSettings(
        distribution=distribution or "",
        host=host or "",
        ssh_user=user or "",
        ssh_port=port or 0,
        ssh_private_key=Secret(private_key) if private_key else None,
        key_dir=key_dir or "",
        ready_timeout_seconds=timeout or 0,
        restart_workloads=bool(v["restartWorkloads"]),
    )


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
        if account is not None:
            if issuer.github_owner and issuer.github_repository and issuer.github_branch:
                try:
                    policies.check_trust_policy_size(
                        oidc.condition_key_prefix(issuer.url), account.namespace, account.name,
                        tokens.audience)
                except (policies.PolicyTooLargeError, oidc.IssuerUrlError) as err:
                    p.add(f"{where}: {err}")
            accounts.append(account)
    for key in _duplicates([a.key for a in accounts]):
        p.add(f"irsa:serviceAccounts lists {key} more than once")
    for role in _duplicates([a.role_name for a in accounts]):
        p.add(f"irsa:serviceAccounts gives the role name {role!r} to more than one service account")
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
    if pattern and (entry.get("testPod") or entry.get("createNamespace")):
        p.add(f"{where} is a pattern ({namespace}/{name}): testPod and createNamespace need one "
              "concrete service account")
        ok = False
    role_name = entry.get("roleName") or f"k8s_{namespace}_{name}".replace("*", "all")
    ok &= p.check(bool(_ROLE_NAME.fullmatch(role_name)),
                  f"{where}.roleName must be at most 64 letters, digits or '+=,.@_-'; got "
                  f"{role_name!r} ({len(role_name)} characters)"
                  + ("" if "roleName" in entry else ": set roleName explicitly"))
    prefix = entry.get("s3BucketPrefix")
    if prefix is not None:
        ok &= p.check(bool(_BUCKET_PREFIX.fullmatch(prefix)) and ".." not in prefix
                      and not prefix.startswith(("xn--", "sthree-", "amzn-s3-demo-")),
                      f"{where}.s3BucketPrefix must start a valid bucket name: lowercase letters, "
                      f"digits, '.' and '-', 2 to 60 characters, starting with a letter or digit, "
                      f"got {prefix!r}")
    arns = entry.get("policyArns", [])
    for arn in arns:
        ok &= p.check(isinstance(arn, str) and bool(_POLICY_ARN.fullmatch(arn)),
                      f"{where}.policyArns entry {arn!r} must be an IAM policy ARN, "
                      "e.g. arn:aws:iam::aws:policy/ReadOnlyAccess")
    policy = entry.get("policy")
    if policy is not None:
        ok &= p.check(isinstance(policy.get("Statement"), (list, dict)) and bool(policy["Statement"]),
                      f"{where}.policy must be an IAM policy document with a Statement")
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
    )


def _json_type(kind: type) -> str:
    return {str: "string", bool: "boolean", list: "array", dict: "object", int: "integer"}[kind]


def _duplicates(items: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated


def _is_branch_name(branch: str) -> bool:
    return (
        bool(branch)
        and not re.search(r"[\s~^:?*\[\\]|\.\.|//|@\{", branch)
        and not branch.startswith(("/", "-", "."))
        and not branch.endswith(("/", ".", ".lock"))
        and branch != "@"
    )
