"""``verify --pod``: was this pod mutated the way STS needs?

The pod identity webhook changes a pod once, when it is created: it adds
``AWS_ROLE_ARN`` (the ServiceAccount's ``eks.amazonaws.com/role-arn``),
``AWS_WEB_IDENTITY_TOKEN_FILE`` and a projected service-account token volume
for the web-identity audience (upstream ``pkg/handler/handler.go``). These
checks read the pod and its ServiceAccount as the API server returns them
(JSON, camelCase) and name what is missing; the token checks that follow use
the pod's service account, so ``--token-file`` with the pod's token also
checks that the file carries its ``sub``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from irsa import webhook
from irsa.verify import kube
from irsa.verify.broken import Broken

ROLE_ARN = "AWS_ROLE_ARN"
TOKEN_FILE = "AWS_WEB_IDENTITY_TOKEN_FILE"


class PodError(Exception):
    """The pod or its ServiceAccount could not be read."""


@dataclass(frozen=True)
class PodView:
    """A pod and its ServiceAccount's annotations (None: the ServiceAccount does not exist)."""

    pod: Mapping[str, Any] = field(repr=False)
    account_annotations: Mapping[str, str] | None

    @property
    def namespace(self) -> str:
        return (self.pod.get("metadata") or {}).get("namespace") or "default"

    @property
    def name(self) -> str:
        return (self.pod.get("metadata") or {}).get("name") or "?"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def service_account(self) -> str:
        # The API server fills in "default" when a pod names none.
        return (self.pod.get("spec") or {}).get("serviceAccountName") or "default"

    @property
    def role_annotation(self) -> str | None:
        return (self.account_annotations or {}).get(webhook.ROLE_ARN_ANNOTATION)


def read(kubeconfig: str | Mapping[str, Any], namespace: str, name: str) -> PodView:
    """The pod and its ServiceAccount from the API server (``PodError`` if unreadable)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api_client = kube.api_client(kubeconfig, PodError)
    with api_client:
        core = client.CoreV1Api(api_client)
        try:
            pod = api_client.sanitize_for_serialization(
                core.read_namespaced_pod(name, namespace, _request_timeout=30))
        except ApiException as err:
            raise PodError(f"cannot read pod {namespace}/{name}: HTTP {err.status} {err.reason}") from None
        except Exception as err:  # urllib3 connection and TLS errors have no common base here
            raise PodError(f"cannot reach the API server: {type(err).__name__}: {err}") from None
        view = PodView(pod, None)
        try:
            account = core.read_namespaced_service_account(view.service_account, namespace,
                                                           _request_timeout=30)
        except ApiException as err:
            if err.status != 404:
                raise PodError(f"cannot read service account {namespace}/{view.service_account}: "
                               f"HTTP {err.status} {err.reason}") from None
            return view
        annotations = (account.metadata.annotations if account.metadata else None) or {}
        return PodView(pod, dict(annotations))


def _env(container: Mapping[str, Any]) -> dict[str, str | None]:
    """A container's variables; one set from a reference (valueFrom) has the value None."""
    return {e["name"]: e.get("value") for e in container.get("env") or [] if "name" in e}


def _mutable_containers(view: PodView) -> list[Mapping[str, Any]]:
    skipped = webhook.skipped_containers(view.pod)
    return [c for c in webhook.containers(view.pod) if c.get("name") not in skipped]


def _excluded_because(view: PodView) -> str:
    labels = (view.pod.get("metadata") or {}).get("labels") or {}
    if webhook.SKIP_LABEL in labels:
        return f"the pod carries the label {webhook.SKIP_LABEL}, so the webhook is not called for it"
    if not webhook.mutates_namespace(view.namespace):
        return f"the webhook is not called for pods in the namespace {view.namespace}"
    return ""


def check_mutated(view: PodView) -> str:
    """The ServiceAccount is annotated, and the pod's containers got the variables and volume."""
    account = f"{view.namespace}/{view.service_account}"
    if view.account_annotations is None:
        raise Broken(f"the pod's service account {account} does not exist",
                     "the webhook reads the role from the pod's ServiceAccount",
                     f"create {account} annotated {webhook.ROLE_ARN_ANNOTATION} (list it in the "
                     "stack's serviceAccounts and run pulumi up), then recreate the pod")
    if not view.role_annotation:
        raise Broken(f"the service account {account} has no {webhook.ROLE_ARN_ANNOTATION} annotation",
                     "the webhook mutates only pods whose ServiceAccount names a role",
                     f"annotate it (pulumi up does, for the stack's serviceAccounts; with a chart: "
                     f"serviceAccount.annotations.\"{webhook.ROLE_ARN_ANNOTATION}\"), then recreate "
                     f"the pod")
    containers = _mutable_containers(view)
    if not containers:
        raise Broken(f"every container of {view.key} is in {webhook.SKIP_CONTAINERS_ANNOTATION}",
                     "the webhook leaves those containers alone", "remove the containers that call AWS "
                     f"from the pod's {webhook.SKIP_CONTAINERS_ANNOTATION} annotation and recreate it")
    lacking = [c.get("name") for c in containers if not {ROLE_ARN, TOKEN_FILE} <= set(_env(c))]
    if len(lacking) == len(containers):
        excluded = _excluded_because(view)
        raise Broken(f"pod {view.key} was not mutated: no {ROLE_ARN} or {TOKEN_FILE} in "
                     f"{', '.join(str(n) for n in lacking)}",
                     excluded or "the webhook changes a pod only when it is created: this one was "
                     "created before the webhook ran or before its service account was annotated, "
                     "or while the webhook was down (failurePolicy Ignore lets such pods through)",
                     f"recreate the pod: kubectl delete pod -n {view.namespace} {view.name} (its "
                     "Deployment or Job makes a new one; kubectl rollout restart for a whole "
                     "Deployment)" + ("" if not excluded else "; or run it where the webhook "
                                      "mutates pods, without the skip label"))
    if lacking:
        raise Broken(f"containers {', '.join(str(n) for n in lacking)} of {view.key} have no "
                     f"{ROLE_ARN}/{TOKEN_FILE}, while others have",
                     "the pod spec sets one of them itself (the webhook then leaves the container's "
                     "variables alone), or the container was added after the webhook ran",
                     "remove those variables from the pod spec, or list the container in "
                     f"{webhook.SKIP_CONTAINERS_ANNOTATION} if it needs no AWS access; recreate the pod")
    return f"{len(containers)} container(s) of {view.key} have {ROLE_ARN} and {TOKEN_FILE}"


def check_role_arn(view: PodView, stack_role_arn: str | None) -> str:
    """Every container's ``AWS_ROLE_ARN`` is the ServiceAccount's annotation (and the stack's role)."""
    annotated = view.role_annotation
    for container in _mutable_containers(view):
        value = _env(container)[ROLE_ARN]
        if value != annotated:
            raise Broken(f"container {container.get('name')} has {ROLE_ARN} {value!r}, the service "
                         f"account's annotation is {annotated!r}",
                         "the webhook sets the variable when the pod is created: the annotation "
                         "changed since, or the pod spec sets the variable itself",
                         f"recreate the pod (kubectl delete pod -n {view.namespace} {view.name}); "
                         f"do not set {ROLE_ARN} in the pod spec")
    if stack_role_arn and annotated != stack_role_arn:
        raise Broken(f"the service account's annotation is {annotated!r}, the stack's role for "
                     f"{view.namespace}/{view.service_account} is {stack_role_arn!r}",
                     "the annotation was changed by hand or by a chart, or the stack changed",
                     "run pulumi up (it sets the annotation), or remove the chart's own annotation; "
                     "then recreate the pod")
    return f"{ROLE_ARN} is {annotated}, as the service account's annotation"


def check_token_volume(view: PodView, audience: str) -> str:
    """``AWS_WEB_IDENTITY_TOKEN_FILE`` is a mounted projected token for the provider's audience."""
    volumes = {v.get("name"): v for v in (view.pod.get("spec") or {}).get("volumes") or []}
    found = ""
    for container in _mutable_containers(view):
        name = container.get("name")
        path = _env(container)[TOKEN_FILE]
        if not path or not path.startswith("/"):
            raise Broken(f"container {name} has {TOKEN_FILE} {path!r}, not an absolute path",
                         "the SDKs read the token from that file", "recreate the pod")
        mount = _mount_holding(container, path)
        if mount is None:
            raise Broken(f"container {name}: {path} is not inside any of its volume mounts",
                         "the token file must come from the projected token volume the webhook mounts",
                         f"recreate the pod; a container in {webhook.SKIP_CONTAINERS_ANNOTATION} "
                         "gets no mount")
        volume = volumes.get(mount.get("name")) or {}
        relative = posixpath.relpath(path, mount["mountPath"])
        if mount.get("subPath"):
            relative = posixpath.join(mount["subPath"], relative)
        tokens = [s["serviceAccountToken"] for s in (volume.get("projected") or {}).get("sources") or []
                  if "serviceAccountToken" in s]
        token = next((t for t in tokens if t.get("path") == relative), None)
        if token is None:
            raise Broken(f"container {name}: {path} is in volume {mount.get('name')!r}, which projects "
                         f"no service-account token at {relative}",
                         "only a projected serviceAccountToken is a web-identity token the kubelet "
                         "renews", "recreate the pod so the webhook adds its aws-iam-token volume")
        token_audience = token.get("audience") or "(the API server's audience)"
        if token_audience != audience:
            raise Broken(f"container {name}: the projected token's audience is {token_audience!r}, "
                         f"not {audience!r}",
                         "STS accepts a token only when its aud is one of the OIDC provider's client "
                         "ids; the webhook takes the audience from --token-audience or the service "
                         f"account's {webhook.ANNOTATION_PREFIX}/audience annotation",
                         f"remove or correct the service account's audience annotation, recreate the pod")
        found = (f"{path}: projected token, audience {audience}, "
                 f"{token.get('expirationSeconds', 3600)} s")
    return found


def _mount_holding(container: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """The volume mount under which ``path`` lies (the deepest one)."""
    best = None
    for mount in container.get("volumeMounts") or []:
        root = mount.get("mountPath", "").rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            if best is None or len(root) > len(best["mountPath"].rstrip("/")):
                best = mount
    return best
