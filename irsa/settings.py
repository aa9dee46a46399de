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
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from irsa import iam_names, oidc, policies, presets, s3, webhook

NAMESPACE = "irsa"
DISTRIBUTIONS = ("microk8s", "k3s", "kubeadm")
ISSUER_HOSTS = ("github", "s3", "cloudfront")
# The API server's port per distribution, for irsa:apiEndpoint's default.
API_PORTS = {"microk8s": 16443, "k3s": 6443, "kubeadm": 6443}
# Host key types pulumi-command's SSH client (golang.org/x/crypto/ssh) accepts as hostKey.
HOST_KEY_TYPES = (
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "ssh-rsa", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
# pulumi-command offers the pinned key's type as the only host key algorithm; for an
# RSA key that is SHA-1 "ssh-rsa", which OpenSSH >= 8.8 no longer accepts (it offers
# rsa-sha2-256/512): such a pin can never connect (tests/real/test_ssh_host_key_pins.py).
UNPINNABLE_HOST_KEY_TYPES = ("ssh-rsa",)
KEY_BITS = (2048, 3072, 4096)
MAX_THUMBPRINTS = 5
DEFAULT_AUDIENCE = "sts.amazonaws.com"


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
    # Required when irsa:issuerHost is github (checked in _issuer_settings).
    "githubOwner": KeySpec("string", ""),
    "githubRepository": KeySpec("string", ""),
    "githubBranch": KeySpec("string", "main"),
    "createRepository": KeySpec("boolean", False),
    "issuerWaitSeconds": KeySpec("integer", 900),
    "signingKeys": KeySpec("array", ["primary"], items="string"),
    "keyBits": KeySpec("integer", 2048),
    "extraPublicKeys": KeySpec("array", [], items="string"),
    "audience": KeySpec("string", "sts.amazonaws.com"),
    "apiAudiences": KeySpec("array", ["https://kubernetes.default.svc"], items="string"),
    "tokenExpirationSeconds": KeySpec("integer", 86400),
    "distribution": KeySpec("string", "microk8s"),
    "host": KeySpec("string", ""),
    "hosts": KeySpec("array", [], items="string"),
    "sshUser": KeySpec("string", "ubuntu"),
    "sshPort": KeySpec("integer", 22),
    "sshPrivateKey": KeySpec("string", "", secret=True),
    "sshHostKey": KeySpec("string", ""),
    "keyDir": KeySpec("string", "/opt/k8s"),
    "readyTimeoutSeconds": KeySpec("integer", 300),
    "restartWorkloads": KeySpec("boolean", False),
    "kubeconfig": KeySpec("string", "", secret=True),
    "apiEndpoint": KeySpec("string", ""),
    "takeOverHost": KeySpec("boolean", False),
    "thumbprints": KeySpec("array", ["auto"], items="string"),
    "extraClientIds": KeySpec("array", [], items="string"),
    "serviceAccounts": KeySpec("array", [], items="object"),
    "podIdentityWebhook": KeySpec("boolean", True),
    "webhookImage": KeySpec("string", webhook.DEFAULT_IMAGE),
    "webhookFailurePolicy": KeySpec("string", webhook.DEFAULT_FAILURE_POLICY),
    "webhookStsRegionalEndpoint": KeySpec("boolean", True),
    "issuerHost": KeySpec("string", "github"),
    "issuerPath": KeySpec("string", ""),
    "issuerBucket": KeySpec("string", ""),
    "createBucket": KeySpec("boolean", True),
    "issuerDomain": KeySpec("string", ""),
    "previousIssuerHosts": KeySpec("array", [], items="string"),
    "tags": KeySpec("object", {}),
    # Unset: one account, the stack's own; [] makes a cluster-only stack (no AWS resource).
    "awsAccounts": KeySpec("array", [{"name": "default"}], items="object"),
    "issuerAccount": KeySpec("string", ""),
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
    "preset": dict,
    "permissionsBoundary": str,
    "path": str,
    "maxSessionDuration": int,
    "description": str,
    "existing": bool,
    "account": str,
    "roleArn": str,
}
# IAM's own limits (botocore's model of IAM: roleMaxSessionDurationType, tagListType).
MAX_SESSION_DURATION = (3600, 43200)
MAX_TAGS = 50
# Tag keys the program sets itself on roles; a user tag may not take them.
PROGRAM_TAG_KEYS = (iam_names.NAMESPACE_TAG, iam_names.SERVICE_ACCOUNT_TAG)


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

    def url_of(self, host: str) -> str | None:
        """The issuer URL the given store serves, or None when AWS names it at deploy time
        (a derived bucket name, a CloudFront distribution's domain)."""
        if host == "github":
            return oidc.github_issuer_url(self.github_owner, self.github_repository,
                                          self.github_branch, self.path)
        if host == "s3" and self.bucket and self.region:
            return oidc.s3_issuer_url(self.bucket, self.region, self.path)
        if host == "cloudfront" and self.domain:
            return oidc.https_issuer_url(self.domain, self.path)
        return None

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every store that publishes: the current host first."""
        return (self.host, *self.previous_hosts)


@dataclass(frozen=True)
class KeySettings:
    """The service-account signing keys; the first signs, all verify."""

    names: tuple[str, ...]
    bits: int
    # Published beside irsa's keys (JWK entries), e.g. a hand-made setup's key.
    extra_jwks: tuple[Mapping[str, str], ...] = ()


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
    # irsa:hosts: several control-plane nodes, in rollout order (``host`` is the
    # first); empty when irsa:host names the only one.
    hosts: tuple[str, ...] = ()
    # host -> its SSH host key ("TYPE BASE64"); empty: any server key is accepted.
    host_keys: Mapping[str, str] = field(default_factory=dict)
    # The API server URL the kubeconfig names, reachable from where `pulumi up` runs.
    api_endpoint: str = ""
    # Configure a host that another stack's irsa configured (irsa:takeOverHost).
    take_over: bool = False

    @property
    def nodes(self) -> tuple[str, ...]:
        """The hosts whose API servers this stack configures, in rollout order."""
        return self.hosts or ((self.host,) if self.host else ())


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
    def is_pattern(self) -> bool:
        return policies.has_wildcard(self.namespace, self.name)

    @property
    def has_permissions(self) -> bool:
        return bool(self.s3_bucket_prefix or self.policy_arns or self.policy or self.preset)


@dataclass(frozen=True)
class AwsAccount:
    """An AWS account that holds an OIDC provider and roles (irsa:awsAccounts).

    Without ``assume_role_arn`` it is the account the stack's own AWS
    configuration reaches (the default provider): its resources keep the
    names earlier versions gave them, so an existing stack replaces nothing.
    Another account is reached by an explicit provider that assumes the role;
    its resources' names start with ``NAME/``, so a role that moves between
    accounts is made anew there (never "updated" in the wrong account).
    """

    name: str
    assume_role_arn: str | None = None
    external_id: str | None = None
    region: str | None = None

    @property
    def is_stack_account(self) -> bool:
        return self.assume_role_arn is None

    def resource_name(self, name: str) -> str:
        """The name of a resource of this account whose stack-account name is ``name``."""
        return name if self.is_stack_account else f"{self.name}/{name}"

    def oidc_provider_name(self, host: str) -> str:
        """The OIDC provider for ``host``'s issuer: named by the host, so a host keeps its
        provider when it becomes a previous host (github keeps the first name, ``oidc``)."""
        return self.resource_name("oidc" if host == "github" else f"oidc-{host}")


@dataclass(frozen=True)
class WebhookSettings:
    """The pod identity webhook: whether it runs, which build, and what a failed call does."""

    enabled: bool = True
    image: str = webhook.DEFAULT_IMAGE
    failure_policy: str = webhook.DEFAULT_FAILURE_POLICY
    sts_regional_endpoint: bool = True

    def mutates(self, namespace: str) -> bool:
        """Whether pods in this namespace get their credentials from the webhook."""
        return self.enabled and webhook.mutates_namespace(namespace)


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
        return tuple(dict.fromkeys(a.namespace for a in self.service_accounts if a.create_namespace))

    def thumbprints_for(self, host: str) -> tuple[str, ...]:
        """The thumbprints of the OIDC provider for ``host``'s issuer.

        ``auto`` pins the GitHub host's top certificate (unchanged behaviour);
        for S3 and CloudFront it pins nothing: their certificates come from a
        public CA that IAM checks itself, and AWS rotates them.
        """
        if host == "github":
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
        if self.webhook.enabled:
            for account in self.service_accounts:
                if account.test_pod and not self.webhook.mutates(account.namespace):
                    found.append(
                        f"the pod identity webhook does not mutate pods in {account.namespace}: "
                        f"the test pod of {account.key} carries its own token volume, and other "
                        "pods there must too")
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
_API_ENDPOINT = re.compile(r"^https://[A-Za-z0-9.\[\]:-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")

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
    if spec.type in ("boolean", "integer"):
        value = _lenient(value, spec.type)
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


def _lenient(value: Any, type_: str) -> Any:
    """The CLI's rule (ValidateConfigValue): "true"/"false" are booleans, "42" is an integer.

    Applied to top-level keys and to service-account fields alike, so a value
    means the same wherever it is written.
    """
    if type_ == "boolean" and value in ("true", "false"):
        return value == "true"
    if type_ == "integer" and isinstance(value, str) and value.lstrip("+-").isdigit():
        return int(value)
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


# --- validation -----------------------------------------------------------


def _build(v: dict[str, Any], p: _Problems, region: str | None = None,
           opaque: frozenset[str] = frozenset()) -> Settings:
    """Validate decoded values; return Settings (meaningful only without problems)."""
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
    issuer = _issuer_settings(v, owner or "", repo or "", branch or "", region, p)

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
    extra_jwks = []
    for index, text in enumerate(v["extraPublicKeys"] or []):
        try:
            extra_jwks.append(oidc.extra_jwk(text))
        except oidc.UnusableKeyError as err:
            p.add(f"irsa:extraPublicKeys[{index}] must be a PEM public key or an RSA JWK with a kid: {err}")
    keys = KeySettings(tuple(names or ()), bits or 0, tuple(extra_jwks))

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

    host = _host_settings(v, p, opaque)

    thumbprints = v["thumbprints"]
    if thumbprints is not None:
        p.check(len(thumbprints) <= MAX_THUMBPRINTS,
                f"irsa:thumbprints may hold at most {MAX_THUMBPRINTS} entries, got {len(thumbprints)}")
        for t in thumbprints:
            p.check(t == "auto" or bool(_THUMBPRINT.fullmatch(t)),
                    f"irsa:thumbprints entry {t!r} must be \"auto\" or a SHA-1 fingerprint of "
                    "40 hex digits (no colons)")
    thumbprints = tuple(t if t == "auto" else t.lower() for t in thumbprints or ())

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
            p.check(account.namespace != webhook.NAMESPACE,
                    f"irsa:serviceAccounts[{index}].namespace {webhook.NAMESPACE} is the pod identity "
                    "webhook's own namespace, whose pods it never mutates: use another namespace")
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
    )


def _webhook_settings(v: dict[str, Any], p: _Problems) -> WebhookSettings:
    image = v["webhookImage"]
    if image is not None:
        problem = webhook.image_problem(image)
        p.check(problem is None, f"irsa:webhookImage {problem}, got {image!r}")
    policy = v["webhookFailurePolicy"]
    if policy is not None:
        p.check(policy in webhook.FAILURE_POLICIES,
                f"irsa:webhookFailurePolicy must be Ignore (pods start unmutated while the webhook "
                f"is down) or Fail (pod creation fails meanwhile), got {policy!r}")
    return WebhookSettings(
        enabled=bool(v["podIdentityWebhook"]),
        image=image or webhook.DEFAULT_IMAGE,
        failure_policy=policy or webhook.DEFAULT_FAILURE_POLICY,
        sts_regional_endpoint=bool(v["webhookStsRegionalEndpoint"]),
    )


def _issuer_settings(v: dict[str, Any], owner: str, repo: str, branch: str, region: str | None,
                     p: _Problems) -> IssuerSettings:
    """irsa:issuerHost and what each store needs (see docs/issuer-hosting.md)."""
    host = v["issuerHost"]
    if host is not None:
        p.check(host in ISSUER_HOSTS,
                f"irsa:issuerHost must be one of {', '.join(ISSUER_HOSTS)}, got {host!r}")
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
        p.check(entry in ISSUER_HOSTS and entry != host,
                f"irsa:previousIssuerHosts entry {entry!r} must be one of "
                f"{', '.join(h for h in ISSUER_HOSTS if h != host)} (a host other than "
                f"irsa:issuerHost)")
    for entry in _duplicates(previous):
        p.add(f"irsa:previousIssuerHosts names {entry!r} more than once")
    hosts = {host, *previous}
    uses_bucket = bool(hosts & {"s3", "cloudfront"})
    domain = v["issuerDomain"]
    if domain:
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
    if bucket and not uses_bucket:
        p.add("irsa:issuerBucket is for irsa:issuerHost s3 or cloudfront; unset it for github")
    create_bucket = v["createBucket"]
    if create_bucket is False:
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
        else:
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


def _host_settings(v: dict[str, Any], p: _Problems, opaque: frozenset[str] = frozenset()) -> HostSettings:
    distribution = v["distribution"]
    if distribution is not None:
        p.check(distribution in DISTRIBUTIONS,
                f"irsa:distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")
    host, hosts = v["host"], v["hosts"]
    if host is not None and hosts is not None:
        if host and hosts:
            p.add("set irsa:host (one node) or irsa:hosts (several), not both")
        elif not host and not hosts:
            p.add("irsa:host is required (or irsa:hosts for several control-plane nodes): "
                  "pulumi config set irsa:host VALUE")
    for key, name in [("irsa:host", host)] + [(f"irsa:hosts[{i}]", h) for i, h in enumerate(hosts or ())]:
        if name:
            p.check(bool(_HOST.fullmatch(name)),
                    f"{key} must be a host name or IP address (no spaces, no user@ or :port), "
                    f"got {name!r}")
    for name in _duplicates([h.strip("[]") for h in hosts or ()]):
        p.add(f"irsa:hosts lists {name!r} more than once")
    nodes = tuple(hosts) if hosts else ((host,) if host else ())
    user = v["sshUser"]
    if user is not None:
        p.check(bool(_SSH_USER.fullmatch(user)), f"irsa:sshUser must be a login name, got {user!r}")
    port = v["sshPort"]
    if port is not None:
        p.check(1 <= port <= 65535, f"irsa:sshPort must be between 1 and 65535, got {port}")
    private_key = v["sshPrivateKey"]
    if private_key is not None and "sshPrivateKey" not in opaque:
        p.check("PRIVATE KEY-----" in private_key,
                "irsa:sshPrivateKey must be a PEM or OpenSSH private key "
                "(pulumi config set --secret irsa:sshPrivateKey < ~/.ssh/id_ed25519)")
    host_keys: dict[str, str] = {}
    # Offline (check-config) an encrypted host, port or key cannot be matched up.
    if v["sshHostKey"] and not {"host", "hosts", "sshPort", "sshHostKey"} & opaque:
        try:
            host_keys = parse_host_keys(v["sshHostKey"], nodes, port or 22)
        except ValueError as err:
            p.add(str(err))
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
    endpoint = v["apiEndpoint"]
    if endpoint:
        p.check(bool(_API_ENDPOINT.fullmatch(endpoint)) and not endpoint.endswith("/"),
                "irsa:apiEndpoint must be the API server's https URL as reached from where "
                f"pulumi up runs, e.g. https://{nodes[0] if nodes else 'HOST'}:16443 (no query, no "
                f"trailing slash), got {endpoint!r}")
    elif nodes and distribution in API_PORTS:
        endpoint = f"https://{_url_host(nodes[0])}:{API_PORTS[distribution]}"
    return HostSettings(
        distribution=distribution or "",
        host=nodes[0] if nodes else "",
        ssh_user=user or "",
        ssh_port=port or 0,
        ssh_private_key=Secret(private_key) if private_key else None,
        key_dir=key_dir or "",
        ready_timeout_seconds=timeout or 0,
        restart_workloads=bool(v["restartWorkloads"]),
        hosts=tuple(hosts or ()),
        host_keys=host_keys,
        api_endpoint=endpoint or "",
        take_over=bool(v["takeOverHost"]),
    )


def _url_host(host: str) -> str:
    """A host as a URL names it: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def parse_host_keys(text: str, hosts: tuple[str, ...], port: int) -> dict[str, str]:
    """The SSH host key of each host, from irsa:sshHostKey; raises ValueError naming the problem.

    Accepts what ``ssh-keyscan`` prints: one line ``HOST TYPE BASE64`` per host
    (``[HOST]:PORT`` on a port other than 22), or, for a single host, the bare
    ``TYPE BASE64 [comment]`` of its ``/etc/ssh/ssh_host_*_key.pub``. Each key is
    checked to be SSH wire format of its type. One key per host, because
    pulumi-command pins exactly one (ssh.FixedHostKey over ssh.ParseAuthorizedKey).
    """
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    found: dict[str, str] = {}
    prefix = "irsa:sshHostKey"
    for line in lines:
        words = line.split()
        if words and words[0] in HOST_KEY_TYPES:
            if len(hosts) != 1 or len(lines) != 1:
                raise ValueError(f"{prefix}: with several hosts, give one line per host as "
                                 "ssh-keyscan prints it: HOST TYPE KEY")
            name, key_type, body = hosts[0], words[0], words[1] if len(words) > 1 else ""
        elif len(words) >= 3:
            name, key_type, body = words[0], words[1], words[2]
            if name.startswith("|1|"):
                raise ValueError(f"{prefix}: hashed known_hosts entries cannot be matched to a "
                                 "host; use ssh-keyscan without -H")
            bracketed = re.fullmatch(r"\[(.+)\]:(\d+)", name)
            if bracketed:
                name = bracketed.group(1)
                if int(bracketed.group(2)) != port:
                    raise ValueError(f"{prefix}: the key for {words[0]} is for port "
                                     f"{bracketed.group(2)}, but irsa:sshPort is {port}")
        else:
            raise ValueError(f"{prefix} must hold a public key as ssh-keyscan prints it "
                             f"(e.g. 'ssh-ed25519 AAAA…'), got {line[:60]!r}")
        if key_type not in HOST_KEY_TYPES:
            raise ValueError(f"{prefix}: unknown key type {key_type!r}; one of "
                             f"{', '.join(HOST_KEY_TYPES)}")
        if not _is_ssh_key_blob(key_type, body):
            raise ValueError(f"{prefix}: the {key_type} key for {name} is not a valid key "
                             "(truncated or mistyped base64?)")
        if key_type in UNPINNABLE_HOST_KEY_TYPES:
            raise ValueError(f"{prefix}: the {key_type} key for {name} cannot be pinned: pulumi-command "
                             f"then offers only the SHA-1 {key_type} algorithm, which OpenSSH 8.8 and newer "
                             "refuse (no common algorithm for host key); pin its ed25519 key instead "
                             f"(ssh-keyscan -t ed25519 {name})")
        if name not in hosts:
            raise ValueError(f"{prefix} has a key for {name!r}, which is not a configured host "
                             f"({', '.join(hosts) or 'none'})")
        if name in found:
            raise ValueError(f"{prefix} has more than one key for {name}: keep one "
                             "(ssh-keyscan -t ed25519 prints one)")
        found[name] = f"{key_type} {body}"
    missing = [h for h in hosts if h not in found]
    if missing:
        raise ValueError(f"{prefix} has no key for {', '.join(missing)}: add a line "
                         f"'HOST TYPE KEY' for each (ssh-keyscan -t ed25519 {' '.join(missing)})")
    return found


def _is_ssh_key_blob(key_type: str, body: str) -> bool:
    """Whether base64 ``body`` is an SSH public key blob that starts with its own type name (RFC 4253 6.6)."""
    import base64
    import binascii

    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(blob) < 4:
        return False
    length = int.from_bytes(blob[:4], "big")
    return blob[4:4 + length] == key_type.encode() and len(blob) > 4 + length


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
                            prefixes[1:])
                except policies.PolicyTooLargeError as err:
                    p.add(f"{where}: {err}")
                except oidc.IssuerUrlError:
                    pass  # already reported once, under the githubOwner/Repository/Branch key at fault
            accounts.append(account)
    for key in _duplicates([a.key for a in accounts]):
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
    role_name = entry.get("roleName") or iam_names.default_role_name(namespace, name)
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
    preset = None
    if "preset" in entry:
        try:
            preset = presets.parse(entry["preset"])
        except presets.PresetError as err:
            p.add(f"{where}.preset: {err}")
            ok = False
    ok &= _role_options(where, entry, p)
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
    )


# IAM's patterns for role paths and descriptions (botocore: pathType, roleDescriptionType).
_ROLE_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_ROLE_DESCRIPTION = re.compile(r"[\t\n\r\x20-\x7e\xa1-\xff]*")


def _role_options(where: str, entry: dict[str, Any], p: _Problems) -> bool:
    """permissionsBoundary, path, maxSessionDuration, description: IAM's input rules."""
    ok = True
    boundary = entry.get("permissionsBoundary")
    if boundary is not None:
        ok &= p.check(bool(_POLICY_ARN.fullmatch(boundary)) and len(boundary) <= 2048,
                      f"{where}.permissionsBoundary must be an IAM managed policy ARN, e.g. "
                      f"arn:aws:iam::111122223333:policy/Boundary, got {boundary!r}")
    path = entry.get("path")
    if path is not None:
        ok &= p.check(len(path) <= 512 and bool(_ROLE_PATH.fullmatch(path)),
                      f"{where}.path must be / or start and end with / (printable ASCII, no "
                      f"spaces, at most 512), e.g. /k8s/, got {path!r}")
    duration = entry.get("maxSessionDuration")
    if duration is not None:
        low, high = MAX_SESSION_DURATION
        ok &= p.check(low <= duration <= high,
                      f"{where}.maxSessionDuration must be between {low} and {high} seconds, "
                      f"got {duration}")
    description = entry.get("description")
    if description is not None:
        ok &= p.check(len(description) <= 1000 and bool(_ROLE_DESCRIPTION.fullmatch(description)),
                      f"{where}.description must be at most 1000 characters of printable "
                      f"Latin-1, got {description!r}")
    return ok


# --- AWS accounts (irsa:awsAccounts, irsa:issuerAccount, serviceAccounts[i].account/roleArn) ---

AWS_ACCOUNT_FIELDS = ("name", "assumeRoleArn", "externalId", "region")
# Fields that shape a role this stack makes; a given roleArn excludes them all.
ROLE_FIELDS = ("roleName", "s3BucketPrefix", "policyArns", "policy", "preset", "permissionsBoundary",
               "path", "maxSessionDuration", "description", "account", "allowWildcard")
_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$",
                       re.ASCII)
# STS AssumeRole's externalIdType (botocore): 2 to 1224 of these.
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
CLUSTER_ONLY_HINT = ("give the ARN of a role an account stack made (examples/account, "
                     "docs/accounts.md)")


def _aws_accounts(v: dict[str, Any], issuer: IssuerSettings, region: str | None,
                  p: _Problems) -> tuple[tuple[AwsAccount, ...], str]:
    """irsa:awsAccounts and irsa:issuerAccount; returns the accounts and the issuer's account."""
    entries = v["awsAccounts"]
    if entries is None:
        entries = KEYS["awsAccounts"].default
    found: list[AwsAccount] = []
    for index, entry in enumerate(entries):
        where = f"irsa:awsAccounts[{index}]"
        if not isinstance(entry, dict):
            p.add(f"{where} must be an object with a name, got {json.dumps(entry)}")
            continue
        for unknown in sorted(set(entry) - set(AWS_ACCOUNT_FIELDS)):
            p.add(f"{where} has an unknown field {unknown!r}; known fields: {', '.join(AWS_ACCOUNT_FIELDS)}")
        name, arn = entry.get("name"), entry.get("assumeRoleArn")
        external_id, account_region = entry.get("externalId"), entry.get("region")
        ok = p.check(isinstance(name, str) and bool(_KEY_NAME.fullmatch(name)),
                     f"{where}.name must be lowercase letters, digits and hyphens (at most 32), "
                     f"starting and ending with a letter or digit, got {json.dumps(name)}")
        if arn is not None:
            ok &= p.check(isinstance(arn, str) and bool(_ROLE_ARN.fullmatch(arn)),
                          f"{where}.assumeRoleArn must be an IAM role ARN such as "
                          f"arn:aws:iam::111122223333:role/irsa-deployer, got {json.dumps(arn)}")
        if external_id is not None:
            ok &= p.check(arn is not None, f"{where}.externalId goes with assumeRoleArn; set both or neither")
            ok &= p.check(isinstance(external_id, str) and bool(_EXTERNAL_ID.fullmatch(external_id)),
                          f"{where}.externalId must be 2 to 1224 letters, digits or '+=,.@:/-'")
        if account_region is not None:
            ok &= p.check(arn is not None,
                          f"{where}.region is for an account reached with assumeRoleArn; the stack's "
                          "own account uses aws:region")
            ok &= p.check(isinstance(account_region, str)
                          and _region_problem(account_region) is None,
                          f"{where}.region must be an AWS region name such as eu-west-1, "
                          f"got {json.dumps(account_region)}")
        if ok:
            found.append(AwsAccount(name, arn, external_id, account_region))
    for name in _duplicates([a.name for a in found]):
        p.add(f"irsa:awsAccounts names {name!r} more than once")
    if len([a for a in found if a.is_stack_account]) > 1:
        p.add("irsa:awsAccounts: only one account can be reached with the stack's own AWS "
              "configuration (no assumeRoleArn); give the others assumeRoleArn")
    ids = [_ROLE_ARN.fullmatch(a.assume_role_arn).group(1) for a in found if a.assume_role_arn]
    for account_id in _duplicates(ids):
        p.add(f"irsa:awsAccounts reaches account {account_id} more than once: an account holds "
              "one OIDC provider per issuer, so list it once")
    issuer_account = v["issuerAccount"] or ""
    names = [a.name for a in found]
    if not entries:
        p.check(not issuer_account, "irsa:issuerAccount: irsa:awsAccounts is [] (a cluster-only "
                "stack), so there is no account to hold the issuer; unset irsa:issuerAccount")
        for host in issuer.hosts:
            p.check(host == "github",
                    f"irsa:awsAccounts is [] (a cluster-only stack, no AWS resource), but the {host} "
                    "issuer makes AWS resources: use irsa:issuerHost github, or list the account "
                    "that holds the bucket in irsa:awsAccounts")
        p.check(region is not None,
                "irsa:awsAccounts is [] (a cluster-only stack) reads no region from AWS: set "
                "aws:region, the region pods call STS in (pulumi config set aws:region REGION)")
    elif issuer_account:
        p.check(issuer_account in names or len(names) < len(entries),
                f"irsa:issuerAccount {issuer_account!r} is not in irsa:awsAccounts "
                f"({', '.join(names)})")
    resolved = issuer_account or (names[0] if names else "")
    return tuple(found), resolved


def _region_problem(region: str) -> str | None:
    try:
        s3.check_region(region)
    except ValueError as err:
        return str(err)
    return None


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
        roles = [a.role_name for a in makers if a.account == account_name]
        for role in _duplicates(roles):
            where = "" if len(aws_accounts) < 2 else f" in account {account_name}"
            p.add(f"irsa:serviceAccounts gives the role name {role!r} to more than one service "
                  f"account{where}")
    return tuple(placed)


def _tag_text_ok(text: str) -> bool:
    """IAM's tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]: letters, separators, numbers, _.:/=+-@."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def _tags(tags: dict[str, Any] | None, p: _Problems) -> dict[str, str]:
    """irsa:tags under IAM's tag rules (botocore: tagKeyType, tagValueType, tagListType)."""
    if not tags:
        return {}
    limit = MAX_TAGS - len(PROGRAM_TAG_KEYS)
    p.check(len(tags) <= limit,
            f"irsa:tags may hold at most {limit} tags (IAM allows {MAX_TAGS} per resource and "
            f"the program sets {len(PROGRAM_TAG_KEYS)}), got {len(tags)}")
    for key, value in tags.items():
        if not (1 <= len(key) <= 128 and _tag_text_ok(key)):
            p.add(f"irsa:tags key {key!r} must be 1 to 128 letters, digits, spaces or _.:/=+-@")
        elif key.lower().startswith("aws:"):
            p.add(f"irsa:tags key {key!r}: the aws: prefix is reserved for AWS")
        elif key in PROGRAM_TAG_KEYS:
            p.add(f"irsa:tags key {key!r} is set by the program itself")
        if not isinstance(value, str):
            p.add(f"irsa:tags value of {key!r} must be a string, got {json.dumps(value)}")
        elif not (len(value) <= 256 and _tag_text_ok(value)):
            p.add(f"irsa:tags value of {key!r} must be at most 256 letters, digits, spaces "
                  f"or _.:/=+-@, got {value!r}")
    return {k: v for k, v in tags.items() if isinstance(v, str)}


# S3 allows 10 tags per object; each issuer document carries its own irsa/document tag.
MAX_OBJECT_TAGS = 10


def _store_tags(tags: Mapping[str, str], issuer: IssuerSettings, p: _Problems) -> None:
    """irsa:tags also go on the S3 objects of an s3 or cloudfront issuer."""
    buckets = [h for h in issuer.hosts if h in ("s3", "cloudfront")]
    limit = MAX_OBJECT_TAGS - 1
    if buckets:
        p.check(len(tags) <= limit,
                f"irsa:tags may hold at most {limit} tags with a {buckets[0]} issuer: S3 allows "
                f"{MAX_OBJECT_TAGS} per object and the issuer documents carry irsa/document; "
                f"got {len(tags)}")


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
