"""What the real APIs accept, applied to the inputs the program gives its resources.

Mocks accept anything; these checks hold recorded resource inputs to the rules
the real services enforce:

- IAM: the input shapes of botocore's API model for IAM
  (``botocore/data/iam/2010-05-08/service-2.json``): lengths, list sizes and
  patterns of role names, tags, paths, descriptions, policy names and documents.
  IAM's patterns are Java regular expressions matched against the whole value;
  Java's ``\\w`` is ASCII-only, ``\\p{L}`` is Unicode.
- Kubernetes: the OpenAPI schema of each supported version, strict (no unknown
  fields), via ``kubernetes-validate``; plus the object-name rules that
  kube-apiserver applies and the schema does not carry
  (``k8s.io/apimachinery/pkg/api/validation``: ``NameIsDNSSubdomain``,
  ``ValidateNamespaceName`` = DNS-1123 label; label values ≤ 63 characters).

Each check returns a list of problems (empty when the API would accept the
input), so a test can show them all at once. An input a check does not know
is itself a problem: a new input must be mapped to its API member before the
harness lets it through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import botocore.session
import jsonschema
import referencing
import regex
from kubernetes_validate import utils as kv_utils
from support.recorded import plain

# The Kubernetes versions the program supports; each one's schema is checked.
KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37")

# Pulumi resource inputs → the IAM API operation and member that receives them.
# Tags go through CreateRole/TagRole's tagListType; a dict becomes Key/Value pairs.
IAM_INPUTS: dict[str, tuple[str, dict[str, str]]] = {
    "aws:iam/role:Role": ("CreateRole", {
        "name": "RoleName", "path": "Path", "description": "Description",
        "assumeRolePolicy": "AssumeRolePolicyDocument", "maxSessionDuration": "MaxSessionDuration",
        "permissionsBoundary": "PermissionsBoundary", "tags": "Tags",
    }),
    "aws:iam/rolePolicy:RolePolicy": ("PutRolePolicy", {
        "role": "RoleName", "name": "PolicyName", "policy": "PolicyDocument",
    }),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("AttachRolePolicy", {
        "role": "RoleName", "policyArn": "PolicyArn",
    }),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("CreateOpenIDConnectProvider", {
        "url": "Url", "clientIdLists": "ClientIDList", "thumbprintLists": "ThumbprintList", "tags": "Tags",
    }),
}

# IAM quota (not in the API model): a role's inline policies together, in
# characters without whitespace (IAM User Guide, "IAM and AWS STS quotas").
ROLE_INLINE_POLICIES_MAX = 10240


@cache
def _iam_model():
    return botocore.session.get_session().get_service_model("iam")


def _java_pattern(pattern: str) -> regex.Pattern:
    # Java's \w is [a-zA-Z_0-9] unless UNICODE_CHARACTER_CLASS is set; \p{..} is Unicode.
    return regex.compile(pattern.replace(r"\w", "a-zA-Z_0-9") if r"[\w" in pattern
                         else pattern.replace(r"\w", "[a-zA-Z_0-9]"))


def _check_shape(shape, value: Any, where: str) -> list[str]:
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "string":
        if not isinstance(value, str):
            return [f"{where}: {shape.name} must be a string, got {value!r}"]
        if len(value) < meta.get("min", 0) or len(value) > meta.get("max", 10**9):
            problems.append(f"{where}: {shape.name} length {len(value)} outside "
                            f"{meta.get('min', 0)}..{meta.get('max')}: {value[:80]!r}")
        if "pattern" in meta and not _java_pattern(meta["pattern"]).fullmatch(value):
            problems.append(f"{where}: {shape.name} {value[:80]!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: {shape.name} must be an integer, got {value!r}"]
        if value < meta.get("min", -(10**18)) or value > meta.get("max", 10**18):
            problems.append(f"{where}: {shape.name} {value} outside {meta.get('min')}..{meta.get('max')}")
    elif shape.type_name == "list":
        if not isinstance(value, list):
            return [f"{where}: {shape.name} must be a list, got {value!r}"]
        if len(value) < meta.get("min", 0) or len(value) > meta.get("max", 10**9):
            problems.append(f"{where}: {shape.name} holds {len(value)} items, "
                            f"outside {meta.get('min', 0)}..{meta.get('max')}")
        for i, item in enumerate(value):
            problems += _check_shape(shape.member, item, f"{where}[{i}]")
    elif shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                problems += _check_shape(member, value[name], f"{where}.{name}")
            elif name in shape.required_members:
                problems.append(f"{where}: {name} is required")
    return problems




def iam_problems(type_: str, name: str, inputs: Mapping[str, Any]) -> list[str]:
    """What IAM's API model refuses in one resource's inputs (empty: IAM accepts them)."""
    operation, members = IAM_INPUTS[type_]
    shape = _iam_model().operation_model(operation).input_shape
    problems = []
    for key, value in plain(dict(inputs)).items():
        if key not in members:
            problems.append(f"{name}: input {key!r} of {type_} is not mapped to an IAM API member")
            continue
        member = members[key]
        if member == "Tags" and isinstance(value, dict):
            value = [{"Key": k, "Value": v} for k, v in value.items()]
        problems += _check_shape(shape.members[member], value, f"{name}.{key}")
    return problems


def inline_policy_size(document: str) -> int:
    """A policy's size as IAM's quota counts it: characters other than whitespace."""
    return len(re.sub(r"\s", "", document))


# --- Kubernetes --------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# Kinds whose names kube-apiserver checks as DNS-1123 labels; the rest as subdomains.
_LABEL_NAMED = {"Namespace", "Service"}


def kubernetes_manifest(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The object pulumi-kubernetes sends for a ``kubernetes:GROUP/VERSION:KIND`` resource.

    Type tokens carry the full API group (``rbac.authorization.k8s.io/v1``)
    except the core group, which is spelled ``core/v1`` and sent as ``v1``.
    """
    _, group_version, kind = type_.split(":")
    api_version = group_version.removeprefix("core/")
    kind = kind.removesuffix("Patch")
    return {"apiVersion": api_version, "kind": kind, **plain(dict(inputs))}


def kubernetes_name_problems(manifest: Mapping[str, Any], where: str) -> list[str]:
    """Name and label rules kube-apiserver applies beyond the schema."""
    problems = []
    meta = manifest.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str):
        return [f"{where}: metadata.name must be set (the program names every object)"]
    if manifest["kind"] in _LABEL_NAMED:
        if len(name) > 63 or not _DNS_LABEL.match(name):
            problems.append(f"{where}: {manifest['kind']} name {name!r} is not a DNS-1123 label (≤ 63)")
    elif len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        problems.append(f"{where}: {manifest['kind']} name {name!r} is not a DNS-1123 subdomain (≤ 253)")
    namespace = meta.get("namespace")
    if namespace is not None and (len(namespace) > 63 or not _DNS_LABEL.match(namespace)):
        problems.append(f"{where}: namespace {namespace!r} is not a DNS-1123 label")
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.append(f"{where}: label {key}={value!r} is not a valid label value (≤ 63)")
    return problems


@cache
def _schema_validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    """kubernetes-validate's strict schema for one kind and version, built once.

    The same files and validator class as ``kubernetes_validate.validate``, which
    builds them anew on every call (seconds for a large program).
    """
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"kubernetes-json-schema/v{version}.0-local-strict"
    try:
        schema = kv_utils.schema_contents(f"{directory}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    definitions = kv_utils.schema_contents(f"{directory}/_definitions.json", version)
    registry = referencing.Resource.from_contents(definitions) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def kubernetes_problems(type_: str, name: str, inputs: Mapping[str, Any],
                        versions: Iterable[str] = KUBERNETES_VERSIONS) -> list[str]:
    """What kube-apiserver of each supported version refuses in one object (empty: accepted)."""
    manifest = kubernetes_manifest(type_, inputs)
    problems = kubernetes_name_problems(manifest, name)
    for version in versions:
        validator = _schema_validator(version, manifest["kind"], manifest["apiVersion"])
        if validator is None:
            problems.append(f"{name} (Kubernetes {version}): no schema for {manifest['kind']} "
                            f"{manifest['apiVersion']}")
            continue
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{name} (Kubernetes {version}): {where}: {error.message}")
    return problems


def problems_of(registrations: Iterable[Any], check: Callable[[str, str, Mapping[str, Any]], list[str]],
                prefix: str) -> list[str]:
    """Run ``check`` over every recorded registration whose type starts with ``prefix``."""
    found: list[str] = []
    for r in registrations:
        if r.type.startswith(prefix) and not r.type.startswith("pulumi:providers:") and r.custom:
            found += check(r.type, r.name, r.inputs)
    return found
