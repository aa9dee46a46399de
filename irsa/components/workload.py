"""Kubernetes's side: a ServiceAccount per role, and an optional aws-cli test pod."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
TOKEN_DIRECTORY = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
TOKEN_FILE = "token"
TEST_IMAGE = "public.ecr.aws/aws-cli/aws-cli"
# Any group works: fsGroup makes the projected token group-readable and adds
# the group to the container's processes, so non-root images can read it.
TOKEN_READER_GROUP = 65534


@dataclass(frozen=True)
class ServiceAccountWorkloadArgs:
    """One service account, its role, and whether to run the test pod."""

    namespace: str
    name: str
    role_arn: pulumi.Input[str]
    audience: str
    token_expiration_seconds: int
    region: pulumi.Input[str]
    create_namespace: bool = False
    test_pod: bool = False
    # The pod waits for these: the host configuration and the role's policies
    # (and the pod identity webhook's configuration, when it mutates the pod).
    test_pod_depends_on: Sequence[pulumi.Resource] = ()
    # The pod identity webhook gives the test pod its token and variables: the
    # pod spec then names only its ServiceAccount, like any chart's pod.
    webhook_mutates: bool = False


class ServiceAccountWorkload(pulumi.ComponentResource):
    """A ServiceAccount annotated with its role ARN, as on EKS, and optionally the seed's test pod.

    The test pod gets a projected token for the web-identity audience at the
    path EKS uses, so the same pod spec works once the pod identity webhook is
    added; it does not use the Kubernetes API token, which should not also be
    a key to AWS.
    """

    service_account_name: pulumi.Output[str]
    test_pod_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: ServiceAccountWorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:workload:ServiceAccountWorkload", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace: pulumi.Input[str] = args.namespace
        if args.create_namespace:
            created = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace),
                opts=child,
            )
            namespace = created.metadata.name

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.name,
                namespace=namespace,
                annotations={ROLE_ARN_ANNOTATION: args.role_arn},
            ),
            opts=child,
        )
        self.service_account_name = account.metadata.name

        self.test_pod_name = None
        if args.test_pod:
            pod = k8s.core.v1.Pod(
                f"{name}-test-pod",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{args.name}-irsa-test",
                    namespace=namespace,
                    labels={"app.kubernetes.io/managed-by": "irsa"},
                ),
                spec=self._test_pod_spec(args, account.metadata.name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[account, *args.test_pod_depends_on]),
            )
            self.test_pod_name = pod.metadata.name

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
