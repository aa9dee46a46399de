"""AWS's side of the trust chain: the IAM OIDC provider, and a role per service account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from irsa import iam_names, oidc, policies

AUTO_THUMBPRINT = "auto"


@dataclass(frozen=True)
class OidcProviderArgs:
    """The issuer AWS should trust, and for which client ids (token audiences)."""

    issuer_url: pulumi.Input[str]
    client_ids: pulumi.Input[Sequence[str]]
    thumbprints: Sequence[str] = (AUTO_THUMBPRINT,)
    depends_on: Sequence[pulumi.Resource] = ()
    # irsa:tags
    tags: Mapping[str, str] = field(default_factory=dict)


class OidcProvider(pulumi.ComponentResource):
    """The IAM OIDC identity provider for the issuer.

    Its URL is the issuer URL byte for byte (STS looks the provider up by the
    token's ``iss``). Thumbprints: ``auto`` is the SHA-1 of the top-most
    certificate the issuer host serves, which is what IAM wants (not the
    leaf's); an empty list omits them and AWS checks the chain against its own CAs.
    """

    arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: OidcProviderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:aws:OidcProvider", name, None, opts)
        thumbprints = self._thumbprints(args)
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-provider",
            url=args.issuer_url,
            client_id_lists=(args.client_ids if isinstance(args.client_ids, pulumi.Output)
                             else list(args.client_ids)),
            thumbprint_lists=thumbprints,
            tags=dict(args.tags) or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.arn = provider.arn
        self.url = pulumi.Output.from_input(args.issuer_url).apply(oidc.condition_key_prefix)
        self.register_outputs({"arn": self.arn, "url": self.url})

    def _thumbprints(self, args: OidcProviderArgs) -> pulumi.Output[list[str]] | None:
        if not args.thumbprints:
            return None
        top_most: pulumi.Output[str] | None = None
        if AUTO_THUMBPRINT in args.thumbprints:
            host = pulumi.Output.from_input(args.issuer_url).apply(lambda url: urlsplit(url).hostname)
            certificate = tls.get_certificate_output(
                url=pulumi.Output.concat("https://", host), opts=pulumi.InvokeOptions(parent=self)
            )
            # certificates[0] is the top of the chain the host presents.
            top_most = certificate.certificates.apply(lambda chain: chain[0].sha1_fingerprint.lower())
        entries = [top_most if t == AUTO_THUMBPRINT else t for t in args.thumbprints]
        # Two "auto" entries, or "auto" equal to a given one, are one thumbprint.
        return pulumi.Output.all(*entries).apply(lambda values: list(dict.fromkeys(values)))


@dataclass(frozen=True)
class ServiceAccountRoleArgs:
    """A service account's IAM role. Needs only the provider's ARN and the issuer URL,
    so another stack can use it with values from a StackReference."""

    provider_arn: pulumi.Input[str]
    issuer_url: pulumi.Input[str]
    namespace: str
    name: str
    audience: pulumi.Input[str] = "sts.amazonaws.com"
    role_name: str | None = None
    # role_name is the stack's default, not the user's roleName: it names a role
    # when it is created and never renames one (see ServiceAccountRole).
    role_name_is_default: bool = False
    s3_bucket_prefix: str | None = None
    policy_arns: Sequence[str] = ()
    policy: Mapping[str, Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Further inline policies by name, e.g. a preset's: {"preset-external-dns": DOCUMENT}.
    inline_policies: Mapping[str, pulumi.Input[Mapping[str, Any]]] = field(default_factory=dict)
    # Role options real accounts require (IAM CreateRole's inputs).
    permissions_boundary: str | None = None
    path: str | None = None
    max_session_duration: int | None = None
    description: str | None = None
    # The component's name in earlier versions, if different: an alias keeps
    # the stack's existing role and attachments instead of replacing them.
    former_name: str | None = None
    # (provider ARN, issuer URL) of previous issuers the role still trusts while
    # the issuer moves between hosts (irsa:previousIssuerHosts).
    previous_issuers: Sequence[tuple[pulumi.Input[str], pulumi.Input[str]]] = ()
    # The partition of the stack's region: in the ARNs of the S3 prefix policy.
    partition: pulumi.Input[str] = "aws"
    # Further (namespace, name) service accounts the role trusts (sharedWith).
    shared_with: Sequence[tuple[str, str]] = ()


class ServiceAccountRole(pulumi.ComponentResource):
    """An IAM role that tokens of exactly one service account (or an explicit pattern) may assume."""

    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    policies: list[pulumi.Resource]

    def __init__(self, name: str, args: ServiceAccountRoleArgs, opts: pulumi.ResourceOptions | None = None):
        # Children named f"{name}-…" inherit the alias (the engine swaps the prefix).
        if args.former_name and args.former_name != name:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=args.former_name)]))
        super().__init__("irsa:aws:ServiceAccountRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = f"{args.namespace}/{args.name}"
        former = args.former_name or name

        previous_arns = [arn for arn, _ in args.previous_issuers]

        def trust(issuer_url: str, audience: str, *previous_urls: str) -> pulumi.Output[str]:
            prefix = oidc.condition_key_prefix(issuer_url)
            previous = [oidc.condition_key_prefix(u) for u in previous_urls]
            # Fails the preview, naming the service account, before IAM would.
            shared = tuple(args.shared_with)
            policies.check_trust_policy_size(prefix, args.namespace, args.name, audience, previous, shared)
            if not previous:
                document = policies.trust_policy(args.provider_arn, prefix, args.namespace, args.name, audience,
                                                 shared)
            else:
                document = policies.trust_policy_for_issuers(
                    [(args.provider_arn, prefix), *zip(previous_arns, previous)],
                    args.namespace, args.name, audience, shared)
            return pulumi.Output.json_dumps(document)

        previous_urls = [url for _, url in args.previous_issuers]
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name or iam_names.default_role_name(args.namespace, args.name),
            description=args.description or iam_names.role_description(
                args.namespace, args.name, len(args.shared_with)),
            permissions_boundary=args.permissions_boundary,
            path=args.path,
            max_session_duration=args.max_session_duration,
            assume_role_policy=pulumi.Output.all(args.issuer_url, args.audience, *previous_urls).apply(
                lambda v: trust(*v)),
            tags={**iam_names.role_tags(args.namespace, args.name), **args.tags},
            # An IAM role cannot be renamed, only replaced (a new ARN: every pod
            # holding the old one fails until restarted). A stack made when the
            # default was k8s_NAMESPACE_NAME keeps that name: the default applies
            # when the role is created. roleName given by the user still renames.
            opts=pulumi.ResourceOptions(parent=self,
                                        ignore_changes=["name"] if args.role_name_is_default else None),
        )
        self.policies = []
        if args.s3_bucket_prefix:
            self.policies.append(
                aws.iam.RolePolicy(
                    f"{name}-s3",
                    role=role.id,
                    name=f"s3-prefix-full-access-{args.s3_bucket_prefix}",
                    policy=pulumi.Output.json_dumps(pulumi.Output.from_input(args.partition).apply(
                        lambda partition: policies.s3_prefix_policy(args.s3_bucket_prefix, partition))),
                    opts=child,
                )
            )
        if args.policy:
            self.policies.append(
                aws.iam.RolePolicy(
                    f"{name}-inline",
                    role=role.id,
                    name="irsa-inline",
                    policy=pulumi.Output.json_dumps(dict(args.policy)),
                    opts=child,
                )
            )
        for policy_name, document in args.inline_policies.items():
            self.policies.append(
                aws.iam.RolePolicy(
                    f"{name}-{policy_name}",
                    role=role.id,
                    name=policy_name,
                    policy=pulumi.Output.json_dumps(document),
                    opts=child,
                )
            )
        arns = list(dict.fromkeys(args.policy_arns))
        last_segments = [arn.rsplit("/", 1)[-1] for arn in arns]
        for arn, last in zip(arns, last_segments, strict=True):
            # Named by the whole ARN, not its position or last segment: reordering
            # replaces nothing, and aws-managed and customer-managed policies of one
            # name stay apart. A rename would be fatal here (the old attachment's
            # delete detaches the policy the new one attached), so an alias keeps
            # the earlier name where it was unambiguous.
            former_attachment = (
                [pulumi.Alias(name=f"{former}-attach-{last}")] if last_segments.count(last) == 1 else []
            )
            self.policies.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-attach-{iam_names.policy_arn_key(arn)}", role=role.name, policy_arn=arn,
                    opts=pulumi.ResourceOptions(parent=self, aliases=former_attachment),
                )
            )
        if not self.policies:
            pulumi.log.warn(
                f"the role for service account {account} has no permissions: set s3BucketPrefix, "
                "policyArns, policy or preset, or it can be assumed but do nothing",
                resource=self,
            )

        self.arn = role.arn
        self.name = role.name
        self.register_outputs({"arn": self.arn, "name": self.name})
