"""The program's in-cluster side under the REAL Pulumi CLI and engine, through the Automation API.

What is real: the Pulumi CLI and engine (file backend, passphrase secrets,
the project's own ``Pulumi.yaml`` and its config schema checked by the CLI),
the pulumi-kubernetes provider, kube-apiserver and etcd. The Python program
runs in the test process: the Python language host is not served by the Go
module proxy here, so the SDK's Automation API is the language runtime (the
CLI gets ``--client``); ``pulumi install`` is therefore not exercised.

What the inline program is: ``__main__.py``'s wiring of the cluster side,
line for line — ``stack_config.load()``, the ``cluster`` kubernetes provider
with its ``cluster_identifier``, ``Namespaces``, ``PodIdentityWebhook`` and
one ``ServiceAccountWorkload`` per service account — in the cluster-only mode
(``irsa:awsAccounts: []``, each service account's ``roleArn``: no AWS
resource, so no pulumi-aws), with the one input whose provider cannot be built
here supplied by the test: the webhook's serving certificate (pulumi-tls). The kubeconfig comes from ``irsa:kubeconfig`` (a
secret), as a user sets it. A test-only stack transform adds
``pulumi.com/skipAwait`` to the Kubernetes objects: no kubelet runs, so no pod
ever becomes ready, and no controller manager finalizes a Namespace.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi import automation as auto

from real import parts
from real.workspace_copy import copy_project

from irsa import stack_config
from irsa.components.webhook import PodIdentityWebhook, PodIdentityWebhookArgs, WebhookCertificate
from irsa.components.workload import Namespaces, NamespacesArgs, ServiceAccountWorkload, ServiceAccountWorkloadArgs

PASSPHRASE = "irsa-real-engine-tests"
SKIP_AWAIT = "pulumi.com/skipAwait"
ACCOUNT = "123456789012"


def role_arn(namespace: str, name: str) -> str:
    """The role the test's stack names for a service account (``serviceAccounts[i].roleArn``)."""
    return f"arn:aws:iam::{ACCOUNT}:role/{namespace}-{name}"


def service_account(namespace: str, name: str, **more: Any) -> dict[str, Any]:
    """A cluster-only ``irsa:serviceAccounts`` entry."""
    return {"namespace": namespace, "name": name, "roleArn": role_arn(namespace, name), **more}


def _skip_await(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    if not args.custom or not args.type_.startswith("kubernetes:") or args.type_.endswith("Patch"):
        return None
    props = dict(args.props)
    metadata = dict(props.get("metadata") or {})
    metadata["annotations"] = {**dict(metadata.get("annotations") or {}), SKIP_AWAIT: "true"}
    props["metadata"] = metadata
    return pulumi.ResourceTransformResult(props, args.opts)


def cluster_side(certificate: WebhookCertificate) -> Callable[[], None]:
    """The inline program: ``__main__.py``'s cluster side (see the module docstring)."""

    def program() -> None:
        pulumi.runtime.register_resource_transform(_skip_await)
        settings = stack_config.load()
        kubeconfig = pulumi.Output.secret(settings.kubeconfig.value)
        kubernetes = k8s.Provider(
            "cluster",
            kubeconfig=kubeconfig,
            cluster_identifier=f"irsa/{pulumi.get_project()}/{pulumi.get_stack()}",
        )
        in_cluster = pulumi.ResourceOptions(providers=[kubernetes])
        namespaces = Namespaces(
            "namespaces",
            NamespacesArgs(names=settings.namespaces_to_create, former_owners=settings.former_namespace_owners),
            opts=in_cluster,
        )
        webhook_ready: list[pulumi.Resource] = []
        if settings.webhook.enabled:
            hook = PodIdentityWebhook(
                "webhook",
                PodIdentityWebhookArgs(
                    audience=settings.tokens.audience,
                    token_expiration_seconds=settings.tokens.expiration_seconds,
                    region=settings.aws_region,
                    sts_regional_endpoint=settings.webhook.sts_regional_endpoint,
                    image=settings.webhook.image,
                    failure_policy=settings.webhook.failure_policy,
                    certificate=certificate,
                ),
                opts=pulumi.ResourceOptions(providers=[kubernetes]),
            )
            webhook_ready = [hook.ready]
            pulumi.export("webhookCaCertPem", hook.ca_cert_pem)
        roles = {}
        for account in settings.service_accounts:
            assert account.role_arn, "the real-engine stacks are cluster-only: every account names its roleArn"
            arn = account.role_arn
            roles[account.key] = arn
            if account.is_pattern:
                continue
            ServiceAccountWorkload(
                account.resource_name,
                ServiceAccountWorkloadArgs(
                    namespace=account.namespace,
                    name=account.name,
                    role_arn=arn,
                    audience=settings.tokens.audience,
                    token_expiration_seconds=settings.tokens.expiration_seconds,
                    region=settings.aws_region,
                    test_pod=account.test_pod,
                    test_pod_depends_on=webhook_ready if settings.webhook.mutates(account.namespace) else [],
                    webhook_mutates=settings.webhook.mutates(account.namespace),
                    existing=account.existing,
                    depends_on=[namespaces.by_name[n] for n in [account.namespace] if n in namespaces.by_name],
                    former_name=account.former_resource_name,
                ),
                opts=in_cluster,
            )
        pulumi.export("serviceAccountRoles", roles)
        pulumi.export("kubeconfig", kubeconfig)

    return program


@dataclass
class EngineStack:
    """One stack of the project copy under the real CLI, driven by the Automation API."""

    directory: Path
    stack: auto.Stack
    name: str = "test"

    @property
    def project(self) -> Path:
        return self.directory / "project"

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Set the stack file's plain values (secrets set with ``set_secret`` are kept)."""
        path = self.project / f"Pulumi.{self.name}.yaml"
        current = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        kept = {k: v for k, v in (current.get("config") or {}).items() if isinstance(v, dict) and "secure" in v}
        current["config"] = {**dict(config), **kept}
        path.write_text(yaml.safe_dump(current, sort_keys=False))

    def set_secret(self, key: str, value: str) -> None:
        self.stack.set_config(key, auto.ConfigValue(value=value, secret=True))


def engine_stack(directory: Path, program: Callable[[], None]) -> EngineStack:
    """A copy of the project (its own Pulumi.yaml), a file backend, and the real CLI."""
    project = copy_project(directory / "project")
    (directory / "state").mkdir()
    (directory / "home").mkdir()
    pulumi_bin = parts.binary("pulumi")
    env = {
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_BACKEND_URL": f"file://{directory / 'state'}",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PATH": f"{parts.path_prefix()}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(project),
        pulumi_home=str(directory / "home"),
        pulumi_command=auto.PulumiCommand(root=str(pulumi_bin.parent.parent)) if pulumi_bin.parent.name == "bin"
        else None,
        env_vars=env,
        secrets_provider="passphrase",
    )
    stack = auto.create_or_select_stack("test", project_name="irsa", program=program, opts=opts)
    return EngineStack(directory, stack)


def changes(summary: Mapping[str, int] | None) -> dict[str, int]:
    """An operation's counts without the unchanged ones."""
    return {op: n for op, n in (summary or {}).items() if op != "same" and n}


def cleanup(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
