"""The project's configuration keys: their declared types and defaults, and how
Pulumi's raw text for each becomes a Python value of that type.

Defaults here mirror ``Pulumi.yaml`` (a test compares the two), because under
test mocks the CLI does not apply them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from irsa import webhook

NAMESPACE = "irsa"


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
    "retireAfterSeconds": KeySpec("integer", 86400),
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
    "roleNamePrefix": KeySpec("string", ""),
}
_TYPE_NAMES = {"string": "a string", "integer": "a whole number", "boolean": "true or false",
               "array": "a list", "object": "an object"}


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
