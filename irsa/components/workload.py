"""Kubernetes's side: namespaces, a ServiceAccount per role, and an optional aws-cli test pod."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from irsa import iam_names

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
# pulumi-kubernetes: apply a Patch resource even over fields another manager owns.
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
TOKEN_DIRECTORY = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
TOKEN_FILE = "token"
TEST_IMAGE = "public.ecr.aws/aws-cli/aws-cli"
# Any group works: fsGroup makes the projected token group-readable and adds
# the group to the container's processes, so non-root images can read it.
TOKEN_READER_GROUP = 65534
TEST_POD_SUFFIX = "-irsa-test"
# kube-apiserver checks Pod names as DNS-1123 subdomains: at most 253 characters.
POD_NAME_MAX = 253
WORKLOAD_TYPE = "irsa:workload:ServiceAccountWorkload"


def irsa_test_pod_name(service_account: str) -> str:
    """``NAME-irsa-test``; a name too long for that is cut and keeps a hash of the whole."""
    name = f"{service_account}{TEST_POD_SUFFIX}"
    if len(name) <= POD_NAME_MAX:
        return name
    digest = hashlib.sha256(service_account.encode()).hexdigest()[:10]
    keep = POD_NAME_MAX - len(TEST_POD_SUFFIX) - len(digest) - 1
    return f"{service_account[:keep].rstrip('.-')}-{digest}{TEST_POD_SUFFIX}"


@dataclass(frozen=True)
class NamespacesArgs:
    """Namespaces to create, each once, whatever number of service accounts ask for it.

    ``former_owners`` maps a namespace to the ServiceAccountWorkload that
    created it in earlier versions, so the existing Namespace is kept (an
    alias) rather than created again, which the API server would refuse.
    """

    names: Sequence[str]
    former_owners: Mapping[str, str] = field(default_factory=dict)


class Namespaces(pulumi.ComponentResource):
    """The namespaces the stack owns: ``destroy`` deletes them with everything in them."""

    by_name: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:workload:Namespaces", name, None, opts)
        self.by_name = {}
        for namespace in dict.fromkeys(args.names):
            aliases = []
            owner = args.former_owners.get(namespace)
            if owner:
                aliases.append(pulumi.Alias(
                    name=f"{owner}-namespace", parent=pulumi.create_urn(owner, WORKLOAD_TYPE)))
            self.by_name[namespace] = k8s.core.v1.Namespace(
                f"{name}-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace),
                opts=pulumi.ResourceOptions(parent=self, aliases=aliases),
            )
        self.register_outputs({"names": list(self.by_name)})


@dataclass(frozen=True)
class ServiceAccountWorkloadArgs:
    """One service account, its role, and whether to run the test pod."""

    namespace: str
    name: str
    role_arn: pulumi.Input[str]
    audience: str
    token_expiration_seconds: int
    region: pulumi.Input[str]
    test_pod: bool = False
    # The pod waits for these: the host configuration and the role's policies
    # (and the pod identity webhook's configuration, when it mutates the pod).
    test_pod_depends_on: Sequence[pulumi.Resource] = ()
    # The ServiceAccount exists (a chart made it): add the annotation only.
    existing: bool = False
    # What the ServiceAccount waits for: its Namespace, when the stack creates it.
    depends_on: Sequence[pulumi.Resource] = ()
    # The component's name in earlier versions, if different (an alias).
    former_name: str | None = None
    # The pod identity webhook gives the test pod its token and variables: the
    # pod spec then names only its ServiceAccount, like any chart's pod.
    webhook_mutates: bool = False
    # With existing, in a preview: read the live ServiceAccount through this
    # kubeconfig and warn when its annotation names another role than role_name.
    check_live_with: pulumi.Input[str] | None = None
    role_name: pulumi.Input[str] | None = None


class ServiceAccountWorkload(pulumi.ComponentResource):
    """A ServiceAccount annotated with its role ARN, as on EKS, and optionally the seed's test pod.

    With ``existing``, the ServiceAccount belongs to someone else (a Helm
    chart): a ``ServiceAccountPatch`` (server-side apply, field manager of its
    own) adds only the annotation, and ``destroy`` removes only that.

    The test pod gets a projected token for the web-identity audience at the
    path EKS uses, so the same pod spec works once the pod identity webhook is
    added; it does not use the Kubernetes API token, which should not also be
    a key to AWS.
    """

    service_account_name: pulumi.Output[str]
    irsa_test_pod_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: ServiceAccountWorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        if args.former_name and args.former_name != name:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=args.former_name)]))
        super().__init__(WORKLOAD_TYPE, name, None, opts)
        namespace = args.namespace
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name=args.name, namespace=namespace, annotations={ROLE_ARN_ANNOTATION: args.role_arn}
        )
        account_opts = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        account: pulumi.CustomResource
        if args.existing:
            # A chart that sets the role annotation itself owns that field: server-side
            # apply then refuses the patch (a field conflict; seen with the real API
            # server, tests/real). patchForce takes the annotation over.
            account = k8s.core.v1.ServiceAccountPatch(
                f"{name}-service-account-annotation",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args.name, namespace=namespace,
                    annotations={ROLE_ARN_ANNOTATION: args.role_arn, PATCH_FORCE_ANNOTATION: "true"}),
                opts=account_opts,
            )
            if args.check_live_with is not None and args.role_name is not None:
                pulumi.Output.all(args.check_live_with, args.role_name).apply(
                    lambda v: _warn_when_replacing(v[0], namespace, args.name, v[1], account))
        else:
            account = k8s.core.v1.ServiceAccount(f"{name}-service-account", metadata=metadata, opts=account_opts)
        self.service_account_name = account.metadata.apply(lambda m: m.name)

        self.irsa_test_pod_name = None
        if args.test_pod:
            pod = k8s.core.v1.Pod(
                f"{name}-test-pod",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=irsa_test_pod_name(args.name),
                    namespace=namespace,
                    labels={"app.kubernetes.io/managed-by": "irsa"},
                ),
                spec=self._test_pod_spec(args, self.service_account_name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[account, *args.test_pod_depends_on]),
            )
            self.irsa_test_pod_name = pod.metadata.name

        self.register_outputs({"serviceAccountName": self.service_account_name})

    @staticmethod
    def _test_pod_spec(args: ServiceAccountWorkloadArgs, account_name: pulumi.Output[str]) -> k8s.core.v1.PodSpecArgs:
        if args.webhook_mutates:
            # The aws-cli image runs as root, so the token needs no fsGroup here.
            return k8s.core.v1.PodSpecArgs(
                service_account_name=account_name,
                restart_policy="Never",
                containers=[k8s.core.v1.ContainerArgs(name="aws-cli", image=TEST_IMAGE,
                                                      command=["sleep", "infinity"])],
            )
        env = {
            "AWS_ROLE_ARN": args.role_arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": f"{TOKEN_DIRECTORY}/{TOKEN_FILE}",
            "AWS_REGION": args.region,
            "AWS_ROLE_SESSION_NAME": f"{args.namespace}-{args.name}"[:64],
        }
        return k8s.core.v1.PodSpecArgs(
            service_account_name=account_name,
            restart_policy="Never",
            security_context=k8s.core.v1.PodSecurityContextArgs(fs_group=TOKEN_READER_GROUP),
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="aws-cli",
                    image=TEST_IMAGE,
                    command=["sleep", "infinity"],
                    env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in env.items()],
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(
                            name="aws-iam-token", mount_path=TOKEN_DIRECTORY, read_only=True
                        )
                    ],
                )
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="aws-iam-token",
                    projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                        sources=[
                            k8s.core.v1.VolumeProjectionArgs(
                                service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                                    audience=args.audience,
                                    expiration_seconds=args.token_expiration_seconds,
                                    path=TOKEN_FILE,
                                )
                            )
                        ]
                    ),
                )
            ],
        )


def live_role_arn(kubeconfig: str, namespace: str, name: str) -> str | None:
    """The role-arn annotation of the live ServiceAccount; None when absent.

    Raises ``LookupError`` with one line when the cluster cannot be read.
    """
    import yaml
    from kubernetes import client

    from irsa.verify.kube import api_client

    try:
        api = client.CoreV1Api(api_client(yaml.safe_load(kubeconfig), LookupError))
        account = api.read_namespaced_service_account(name, namespace, _request_timeout=5)
    except LookupError:
        raise
    except Exception as err:  # the client raises ApiException, urllib3 and socket errors
        raise LookupError(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    return (account.metadata.annotations or {}).get(ROLE_ARN_ANNOTATION)


def _warn_when_replacing(kubeconfig: str, namespace: str, name: str, role_name: str,
                         resource: pulumi.Resource) -> None:
    """Warn when the live annotation names another role: the chart set it, this stack replaces it."""
    try:
        current = live_role_arn(kubeconfig, namespace, name)
    except LookupError as err:
        pulumi.log.info(f"could not read ServiceAccount {namespace}/{name} to compare its "
                        f"{ROLE_ARN_ANNOTATION}: {err}", resource=resource)
        return
    if current and iam_names.role_name_in_arn(current) != role_name:
        pulumi.log.warn(
            f"ServiceAccount {namespace}/{name} is annotated {ROLE_ARN_ANNOTATION}: {current}; this "
            f"stack replaces it with its role {role_name}. Remove the annotation from the chart's "
            "values (serviceAccount.annotations), or its next upgrade sets it back", resource=resource)
