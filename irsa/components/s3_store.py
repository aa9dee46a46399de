"""Issuer stores in S3: a bucket read anonymously (``s3``) or through CloudFront (``cloudfront``).

Both are ``IssuerStore``s for ``OidcIssuer``: they make the place, tell its
root URL, and write the documents ``irsa.oidc`` builds as objects. The rules
(bucket names, keys, headers, policies) live in the pure ``irsa.s3``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from irsa import oidc, s3


@dataclass(frozen=True)
class BucketStoreArgs:
    """The bucket behind an ``s3`` or ``cloudfront`` issuer.

    ``bucket`` empty: ``irsa-oidc-ACCOUNT-HASH`` (``irsa.s3.derived_bucket_name``).
    ``create_bucket`` false: the bucket and its policy belong to another stack;
    only the objects are written. ``region``: the bucket's region (part of an
    ``s3`` issuer URL). ``domain``: a custom domain for ``cloudfront``.
    """

    bucket: str = ""
    create_bucket: bool = True
    region: str | None = None
    domain: str = ""
    # irsa:issuerAccount when it is not the stack's own account: the resources'
    # names start with it, so a store that moves between accounts is made anew.
    account: str = ""
    # irsa:tags, on every taggable resource of the store.
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One document to publish: resource-name suffix, key below the store root, content, what it is."""

    suffix: str
    key: str
    content: pulumi.Input[str]
    what: str


class BucketStore:
    """Objects in an S3 bucket, with the bucket made as today's S3 wants it.

    Owner-enforced object ownership (ACLs off, as for every bucket created
    since April 2023), versioning (an overwritten JWKS can be restored), SSE-S3
    encryption, and a public access block that still lets a bucket *policy*
    grant reads (``s3``) or blocks all public access (``cloudfront``). Resource
    names carry the kind, so an ``s3`` and a ``cloudfront`` store can publish
    side by side while the issuer moves from one to the other.
    """

    kind = "s3"
    public = True
    # DNS records the user must create (CloudFront with a custom domain).
    dns_records: pulumi.Output[list[dict[str, str]]] | None = None

    def __init__(self, name: str, args: BucketStoreArgs, path: str, parent: pulumi.Resource):
        self._name = f"{args.account}/{name}-{self.kind}" if args.account else f"{name}-{self.kind}"
        self._path = path
        self._args = args
        self._parent = parent
        child = pulumi.ResourceOptions(parent=parent)
        self.bucket_name: pulumi.Output[str] = self._bucket_name(args, child)
        self.partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=parent)).partition
        self.bucket: aws.s3.Bucket | None = None
        self.settings: list[pulumi.Resource] = []
        if args.create_bucket:
            self.bucket = aws.s3.Bucket(
                f"{self._name}-bucket",
                bucket=self.bucket_name,
                # Deleting the stack must not leave a half-deleted issuer behind a
                # versioned bucket that refuses to go: objects go with it.
                force_destroy=True,
                tags={**args.tags, "irsa/purpose": "OIDC issuer documents"},
                opts=child,
            )
            self.bucket_name = self.bucket.bucket
            self.settings = self._bucket_settings(child)
        self.base_url: pulumi.Output[str] = self._base_url()

    def _bucket_name(self, args: BucketStoreArgs, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        if args.bucket:
            return pulumi.Output.from_input(s3.check_bucket_name(args.bucket))
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=opts.parent))
        seed = f"{pulumi.get_stack()}" if self.kind == "s3" else f"{pulumi.get_stack()}/{self.kind}"
        return identity.account_id.apply(
            lambda account: s3.derived_bucket_name(account, pulumi.get_project(), seed))

    def _bucket_settings(self, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        assert self.bucket is not None
        bucket_id = self.bucket.id
        ownership = aws.s3.BucketOwnershipControls(
            f"{self._name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        # s3: policies may grant public reads (ACLs stay blocked, and ignored anyway).
        # cloudfront: nothing public at all; CloudFront signs its requests.
        block = aws.s3.BucketPublicAccessBlock(
            f"{self._name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=not self.public,
            restrict_public_buckets=not self.public,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{self._name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-encryption",
            bucket=bucket_id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=(
                    aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256")),
            )],
            opts=child,
        )
        return [ownership, block, versioning, encryption]

    def _base_url(self) -> pulumi.Output[str]:
        if not self._args.region:
            raise ValueError("an s3 issuer needs the bucket's region (aws:region)")
        region = self._args.region
        return self.bucket_name.apply(lambda bucket: oidc.s3_issuer_url(bucket, region))

    def _policy(self) -> pulumi.Output[str]:
        return pulumi.Output.all(self.bucket_name, self.partition).apply(
            lambda v: pulumi.Output.json_dumps(s3.public_read_policy(v[0], self._path, v[1])))

    def publish(self, documents: Sequence[Document]) -> list[pulumi.Resource]:
        """The objects, written after the bucket is configured; returns what the issuer waits for."""
        after = list(self.settings)
        if self.bucket is not None:
            policy = aws.s3.BucketPolicy(
                f"{self._name}-policy",
                bucket=self.bucket.id,
                policy=self._policy(),
                # The public access block must allow the policy before it is put.
                opts=pulumi.ResourceOptions(parent=self._parent, depends_on=list(self.settings)),
            )
            after.append(policy)
        objects = [
            aws.s3.BucketObjectv2(
                f"{self._name}-{document.suffix}",
                bucket=self.bucket_name,
                key=document.key,
                content=document.content,
                content_type=s3.CONTENT_TYPE,
                cache_control=s3.CACHE_CONTROL,
                # S3 allows 10 tags on an object: settings keep irsa:tags to 9 here.
                tags={**self._args.tags, "irsa/document": document.what[:256]},
                opts=pulumi.ResourceOptions(parent=self._parent, depends_on=after),
            )
            for document in documents
        ]
        return [*after, *objects, *self._served_after()]

    def _served_after(self) -> list[pulumi.Resource]:
        return []


class CloudFrontStore(BucketStore):
    """A private bucket read by a CloudFront distribution through origin access control.

    HTTPS only (HTTP redirects to HTTPS), GET/HEAD only, AWS's managed
    CachingOptimized policy (it honours the objects' short Cache-Control). The
    bucket policy lets the CloudFront service read the two documents only for
    this distribution (``AWS:SourceArn``). With ``domain`` set, an ACM
    certificate for it is requested in us-east-1 and the distribution answers
    under that name; the DNS records are printed and exported.
    """

    kind = "cloudfront"
    public = False

    def _base_url(self) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self._parent)
        oac = aws.cloudfront.OriginAccessControl(
            f"{self._name}-oac",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            description="irsa: CloudFront reads the OIDC issuer documents",
            opts=child,
        )
        certificate_arn: pulumi.Output[str] | None = None
        self.validation_records: pulumi.Output[list[dict[str, str]]] = pulumi.Output.from_input([])
        if self._args.domain:
            certificate_arn = self._certificate(self._args.domain, child)
        origin_id = "irsa-issuer-bucket"
        region = self._args.region
        origin_domain = self.bucket_name.apply(
            lambda bucket: f"{bucket}.s3.{region}.amazonaws.com" if region else f"{bucket}.s3.amazonaws.com")
        if self.bucket is not None:
            origin_domain = self.bucket.bucket_regional_domain_name
        self.distribution = aws.cloudfront.Distribution(
            f"{self._name}-distribution",
            enabled=True,
            comment="irsa: OIDC issuer documents",
            aliases=[self._args.domain] if self._args.domain else None,
            origins=[aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id,
                domain_name=origin_domain,
                origin_access_control_id=oac.id,
            )],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=origin_id,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD"],
                cached_methods=["GET", "HEAD"],
                cache_policy_id=s3.CACHING_OPTIMIZED_POLICY_ID,
                compress=True,
            ),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"),
            ),
            viewer_certificate=(
                aws.cloudfront.DistributionViewerCertificateArgs(
                    acm_certificate_arn=certificate_arn,
                    ssl_support_method="sni-only",
                    minimum_protocol_version="TLSv1.2_2021",
                )
                if certificate_arn is not None
                else aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
            ),
            price_class="PriceClass_100",
            http_version="http2and3",
            is_ipv6_enabled=True,
            tags=dict(self._args.tags) or None,
            opts=child,
        )
        domain = self._args.domain
        if domain:
            # The name users must point at the distribution, beside the validation record.
            self.dns_records = pulumi.Output.all(self.validation_records, self.distribution.domain_name).apply(
                lambda v: [*v[0], {"name": domain, "type": "CNAME", "value": v[1]}])
            return pulumi.Output.from_input(oidc.https_issuer_url(domain))
        return self.distribution.domain_name.apply(oidc.https_issuer_url)

    def _certificate(self, domain: str, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        # CloudFront takes certificates only from us-east-1. pulumi-aws v7 lets a
        # resource name its region, so the stack's provider settings (profile,
        # assumed role) apply; a second aws.Provider would not read them.
        certificate = aws.acm.Certificate(
            f"{self._name}-certificate",
            domain_name=domain,
            validation_method="DNS",
            region=s3.CLOUDFRONT_CERTIFICATE_REGION,
            tags=dict(self._args.tags) or None,
            opts=child,
        )
        self.validation_records = certificate.domain_validation_options.apply(
            lambda options: [
                {"name": o.resource_record_name, "type": o.resource_record_type,
                 "value": o.resource_record_value}
                for o in options or []
            ])
        self.validation_records.apply(lambda records: [
            pulumi.log.info(f"irsa: for {domain}, create the DNS record {r['name']} "
                            f"{r['type']} {r['value']}", resource=self._parent)
            for r in records if r.get("name")
        ])
        validation = aws.acm.CertificateValidation(
            f"{self._name}-certificate-validation",
            certificate_arn=certificate.arn,
            region=s3.CLOUDFRONT_CERTIFICATE_REGION,
            opts=child,
        )
        return validation.certificate_arn

    def _policy(self) -> pulumi.Output[str]:
        return pulumi.Output.all(self.bucket_name, self.partition, self.distribution.arn).apply(
            lambda v: pulumi.Output.json_dumps(s3.cloudfront_read_policy(v[0], self._path, v[2], v[1])))

    def _served_after(self) -> list[pulumi.Resource]:
        return [self.distribution]


STORES: dict[str, type[BucketStore]] = {"s3": BucketStore, "cloudfront": CloudFrontStore}
