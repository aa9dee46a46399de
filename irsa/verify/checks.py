"""The checks, one function per link of the trust chain, in the order STS follows it.

Each takes the ``Chain``, may store what it found on it, and returns a
one-line summary, or raises ``Broken`` saying what is wrong, why, and how to
fix it. ``CHECKS`` is the order table ``chain.run`` walks.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone
from typing import Any

import re
from urllib.parse import urlsplit

from irsa import oidc, policies, s3
from irsa.verify import fetch, trust
from irsa.verify import pod as pods
from irsa.verify import token as tokens
from irsa.verify.aws import SESSION_NAME, calling, error_code, error_message
from irsa.verify.broken import Broken, Concern
from irsa.verify.chain import ALL_BEFORE, Chain, Check, Inputs

# How far apart this machine's clock and the API server's may be.
CLOCK_SKEW_SECONDS = 60
ASSUME_SECONDS = 900  # the shortest session STS grants
# Issuer host warnings. STS gives an identity provider about 5 s; half of it is a
# margin worth keeping. raw.githubusercontent.com caches for 300 s, the longest
# delay between publishing a key and STS seeing it that this project plans for.
SLOW_SECONDS = 2.5
LONGEST_CACHE_SECONDS = 300

KEY_NOT_FOUND = "Couldn't retrieve verification key from your identity provider"
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
WRONG_AUDIENCE = "Incorrect token audience"
EXPIRED = "Token expired: current date/time … must be before the expiration date/time …"
REISSUE = "take a new token: --from-cluster, or read the pod's token file again"


def no_provider(url: str) -> str:
    return f"No OpenIDConnect provider found in your account for {url}"


def check_pod_mutated(chain: Chain) -> str:
    """The pod's ServiceAccount names a role and the webhook gave the pod its variables."""
    return pods.check_mutated(_pod(chain))


def check_pod_role_arn(chain: Chain) -> str:
    """The pod's AWS_ROLE_ARN is the ServiceAccount's annotation and the stack's role."""
    return pods.check_role_arn(_pod(chain), chain.inputs.role_arn)


def check_pod_token_volume(chain: Chain) -> str:
    """The pod's token file is a mounted projected token for the provider's client id."""
    return pods.check_token_volume(_pod(chain), chain.inputs.audience)


def check_token(chain: Chain) -> str:
    """A service-account token is at hand and is a JWT."""
    inputs = chain.inputs
    try:
        chain.token = tokens.parse(inputs.get_token())
    except tokens.TokenError as err:
        raise Broken(f"no usable token: {err}",
                     "verify needs the token a pod of this service account presents to STS",
                     f"give --token-file with a pod's token, or --from-cluster with a kubeconfig "
                     f"that may create tokens for {inputs.service_account}") from None
    return f"token of {inputs.service_account} {inputs.token_source}"


def check_discovery(chain: Chain) -> str:
    """The discovery document is served over HTTPS and is JSON."""
    issuer = chain.inputs.issuer_url
    url = oidc.discovery_url(issuer)
    if not issuer.startswith("https://"):
        raise Broken(f"the issuer URL {issuer} is not https",
                     "STS fetches issuer documents only over HTTPS, and IAM accepts only an "
                     "https:// provider URL",
                     "publish the documents on an HTTPS host and use that https:// URL as the "
                     "issuer everywhere", KEY_NOT_FOUND)
    chain.discovery = _fetch_json(chain, url, "discovery document")
    return f"GET {url}: JSON"


def check_issuer(chain: Chain) -> str:
    """The discovery document's ``issuer`` is the issuer URL, byte for byte."""
    issuer = chain.inputs.issuer_url
    published = (chain.discovery or {}).get("issuer")
    if published != issuer:
        raise Broken(f"the discovery document's issuer is {published!r}, not {issuer!r}"
                     + _difference(published, issuer),
                     "the document was written for another issuer URL; STS requires the issuer "
                     "in it to equal the URL it fetched it under",
                     f"publish the document for this URL (irsa discovery {issuer}), "
                     "or use the URL it names everywhere (API server, IAM provider)")
    return f"issuer is {issuer}"


def check_jwks_uri(chain: Chain) -> str:
    """``jwks_uri`` is an https URL that serves JSON."""
    uri = (chain.discovery or {}).get("jwks_uri")
    if not isinstance(uri, str) or not uri.startswith("https://"):
        raise Broken(f"the discovery document's jwks_uri is {uri!r}, not an https URL",
                     "STS fetches the keys from jwks_uri, only over HTTPS",
                     "publish the discovery document with jwks_uri "
                     + oidc.jwks_uri(chain.inputs.issuer_url),
                     KEY_NOT_FOUND)
    chain.jwks = _fetch_json(chain, uri, "JWKS")
    return f"GET {uri}: JSON"


def check_jwks_keys(chain: Chain) -> str:
    """The JWKS holds RSA public keys, each with a ``kid``."""
    entries = (chain.jwks or {}).get("keys")
    if not isinstance(entries, list):
        raise Broken("the JWKS has no \"keys\" list",
                     "a JWKS is a JSON object whose \"keys\" lists the public keys",
                     "publish the JWKS as irsa jwks prints it", KEY_NOT_FOUND)
    usable = {k["kid"]: k for k in entries if isinstance(k, dict) and k.get("kty") == "RSA"
              and isinstance(k.get("kid"), str) and k.get("n") and k.get("e")}
    if not usable:
        raise Broken(f"none of the JWKS's {len(entries)} keys is an RSA key with a kid",
                     "STS finds the key by the token's kid; service-account tokens are RS256, "
                     "so it must be an RSA key",
                     "publish the API server's public key(s) with irsa jwks, which sets "
                     "the kid the API server uses", KEY_NOT_FOUND)
    chain.keys = usable
    return f"{len(usable)} RSA key(s): {', '.join(usable)}"


def check_token_header(chain: Chain) -> str:
    """The token is RS256 and its ``kid`` is in the published JWKS."""
    header = _token(chain).header
    alg, kid = header.get("alg"), header.get("kid")
    real_token = "use a token the API server issued (a pod's projected token, or --from-cluster)"
    if not isinstance(alg, str) or alg.lower() == "none":
        raise Broken(f"the token is unsigned (alg {alg!r})",
                     "anyone can write an unsigned token; the API server never issues one and "
                     "STS rejects it", real_token)
    if alg.startswith("HS"):
        raise Broken(f"the token is signed with {alg}, an HMAC algorithm",
                     "HMAC needs a shared secret; a token 'signed' with the public key as that "
                     "secret is the algorithm-confusion attack. Service-account tokens are RS256 "
                     "and STS accepts only public-key signatures", real_token)
    if alg != oidc.SIGNING_ALGORITHM:
        raise Broken(f"the token is signed with {alg}, not {oidc.SIGNING_ALGORITHM}",
                     f"the published keys are for {oidc.SIGNING_ALGORITHM}, which is what the API "
                     "server signs service-account tokens with", real_token)
    if not isinstance(kid, str) or not kid:
        raise Broken("the token has no kid header",
                     "STS picks the verification key by the token's kid; the API server always sets it",
                     real_token, KEY_NOT_FOUND)
    if kid not in chain.keys:
        raise Broken(f"the token's kid {kid} is not in the published JWKS "
                     f"(it has {', '.join(chain.keys)})",
                     "either the JWKS changed moments ago and the host still serves a cached copy "
                     "(raw.githubusercontent.com caches for about 5 minutes), or the key that "
                     "signed this token was rotated out of the JWKS",
                     "wait 5 minutes and run verify again; if it persists, publish the public key "
                     "of the API server's --service-account-signing-key-file, and keep old keys in "
                     "the JWKS until the tokens they signed have expired", KEY_NOT_FOUND)
    return f"alg {alg}, kid {kid} is published"


def check_signature(chain: Chain) -> str:
    """The signature verifies with the published key of that ``kid``."""
    from jwcrypto import jwk, jws
    from jwcrypto.common import JWException

    token = _token(chain)
    kid = token.header["kid"]
    try:
        signed = jws.JWS()
        signed.deserialize(token.raw)
        signed.verify(jwk.JWK(**chain.keys[kid]), alg=oidc.SIGNING_ALGORITHM)
    except (JWException, ValueError) as err:
        raise Broken(f"the signature does not verify with the published key {kid} "
                     f"({type(err).__name__})",
                     "the token was signed by a private key whose public half is not the one "
                     "published under this kid",
                     "make the API server's --service-account-signing-key-file the private key of "
                     "the published JWKS (pulumi up installs both), restart it, and "
                     + REISSUE) from None
    return f"signature verifies with key {kid}"


def check_token_issuer(chain: Chain) -> str:
    """The token's ``iss`` is the issuer URL, byte for byte."""
    issuer = chain.inputs.issuer_url
    iss = _token(chain).claims.get("iss")
    if iss != issuer:
        raise Broken(f"the token's iss is {iss!r}, not {issuer!r}" + _difference(iss, issuer),
                     "STS looks the IAM OIDC provider up by the token's iss, byte for byte; the "
                     "API server signs with another --service-account-issuer (the first one given)",
                     f"make the API server's first --service-account-issuer exactly {issuer}, "
                     "restart it, and " + REISSUE, no_provider(str(iss)))
    return f"iss is {issuer}"


def check_token_audience(chain: Chain) -> str:
    """The token's ``aud`` includes the audience the OIDC provider lists as a client id."""
    audience = chain.inputs.audience
    audiences = _token(chain).audiences
    if audience not in audiences:
        raise Broken(f"the token's aud {audiences} does not include {audience!r}",
                     "STS accepts a token only when its aud is one of the OIDC provider's client ids",
                     _audience_fix(audience, f"issue the token for {audience!r}: the projected "
                                   "token volume's audience (pulumi up sets it), or --audience if "
                                   "the provider lists another client id"),
                     WRONG_AUDIENCE)
    return f"aud includes {audience}"


def check_token_lifetime(chain: Chain, now: float | None = None) -> str:
    """``exp`` is in the future and ``nbf`` in the past, give or take a minute of clock skew."""
    now = time.time() if now is None else now
    claims = _token(chain).claims
    exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not isinstance(exp, (int, float)):
        raise Broken("the token has no numeric exp", "STS rejects tokens without an expiry",
                     REISSUE)
    if exp + CLOCK_SKEW_SECONDS < now:
        raise Broken(f"the token expired at {_when(exp)}, {_duration(now - exp)} ago",
                     "STS rejects expired tokens; a token copied out of a pod goes stale (the "
                     "kubelet rewrites the pod's file at 80% of the token's lifetime)",
                     REISSUE, EXPIRED)
    if isinstance(nbf, (int, float)) and nbf - CLOCK_SKEW_SECONDS > now:
        raise Broken(f"the token is not valid before {_when(nbf)}, {_duration(nbf - now)} from now",
                     "the API server's clock is ahead of this machine's",
                     "synchronise the clocks (NTP) of the API server host and this machine")
    return f"valid until {_when(exp)} ({_duration(exp - now)} left)"


def check_token_subject(chain: Chain) -> str:
    """The token's ``sub`` is the service account being verified."""
    inputs = chain.inputs
    expected = policies.subject(inputs.namespace, inputs.name)
    sub = _token(chain).claims.get("sub")
    if sub != expected:
        raise Broken(f"the token's sub is {sub!r}, not {expected!r}",
                     "the token belongs to another service account than the one being verified",
                     f"check --service-account, or take the token from a pod whose "
                     f"serviceAccountName is {inputs.name} in namespace {inputs.namespace}")
    return f"sub is {sub}"


def check_iam_provider(chain: Chain) -> str:
    """IAM has an OIDC provider for exactly the issuer URL, listing the audience."""
    issuer, audience = chain.inputs.issuer_url, chain.inputs.audience
    wanted = issuer.split("://", 1)[-1]
    iam = chain.aws.client("iam")
    permission = "iam:ListOpenIDConnectProviders and iam:GetOpenIDConnectProvider"
    with calling("IAM ListOpenIDConnectProviders", permission):
        arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    urls = {arn: arn.split(":oidc-provider/", 1)[-1] for arn in arns}
    found = [arn for arn, url in urls.items() if url == wanted]
    if not found:
        near = [url for url in urls.values() if url.rstrip("/").lower() == wanted.rstrip("/").lower()]
        raise Broken(f"IAM has no OIDC provider for {issuer}",
                     "STS needs an IAM OIDC provider whose URL is the issuer URL, byte for byte"
                     + (f"; there is one for {', '.join(near)}, which differs in a slash or in "
                        "letter case" if near else ""),
                     f"create it: pulumi up, or aws iam create-open-id-connect-provider --url "
                     f"{issuer} --client-id-list {audience}", no_provider(issuer))
    arn = found[0]
    with calling("IAM GetOpenIDConnectProvider", permission):
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    client_ids = provider.get("ClientIDList", [])
    if audience not in client_ids:
        raise Broken(f"the OIDC provider does not list the audience {audience!r} "
                     f"(its client ids: {client_ids})",
                     "STS accepts a token only when its aud is one of the provider's client ids",
                     _audience_fix(audience, "aws iam add-client-id-to-open-id-connect-provider "
                                   f"--open-id-connect-provider-arn {arn} --client-id {audience} (or "
                                   "set the stack's audience and run pulumi up)"),
                     WRONG_AUDIENCE)
    chain.provider_arn = arn
    return f"{arn} lists {audience}"


def check_trust_policy(chain: Chain) -> str:
    """The role's trust policy lets this provider, ``sub`` and ``aud`` in."""
    inputs = chain.inputs
    iam = chain.aws.client("iam")
    with calling("IAM GetRole", "iam:GetRole"):
        try:
            role = iam.get_role(RoleName=inputs.role_name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            raise Broken(f"there is no role {inputs.role_arn}",
                         "the role for this service account does not exist in this account",
                         "check --role-arn (or the stack's serviceAccountRoles) and run pulumi up",
                         NOT_AUTHORIZED) from None
    if role.get("Arn") != inputs.role_arn:
        raise Broken(f"the role named {inputs.role_name} is {role.get('Arn')}, not {inputs.role_arn}",
                     "the role ARN names another account, partition or path",
                     "use the ARN the stack outputs in serviceAccountRoles", NOT_AUTHORIZED)
    document = trust.parse_document(role["AssumeRolePolicyDocument"])
    context = trust.condition_context(inputs.issuer_url, _token(chain).claims, inputs.audience)
    decision = trust.evaluate(document, str(chain.provider_arn), context)
    if not decision.allowed:
        raise Broken(f"role {inputs.role_name} does not trust this token: {decision.reasons[0]}",
                     "STS evaluates the role's trust policy with the token's sub and aud; "
                     + "; ".join(decision.reasons),
                     _trust_fix(chain, document), NOT_AUTHORIZED)
    sub, aud = context.values()
    return f"role {inputs.role_name} trusts sub {sub}, aud {aud} ({decision.matched})"


def check_assume_role(chain: Chain) -> str:
    """STS AssumeRoleWithWebIdentity gives temporary credentials for the role."""
    from botocore.exceptions import BotoCoreError, ClientError

    inputs = chain.inputs
    sts = chain.aws.client("sts", unsigned=True)  # the token is the only credential
    try:
        answer = sts.assume_role_with_web_identity(
            RoleArn=inputs.role_arn, RoleSessionName=SESSION_NAME,
            WebIdentityToken=_token(chain).raw, DurationSeconds=ASSUME_SECONDS,
        )
    except ClientError as err:
        raise Broken(f"STS refused: {error_code(err)}: {error_message(err)}",
                     "every check before passed here, so STS sees something else: it may not reach "
                     "the issuer host, may still see a cached JWKS, or the token was used after "
                     "it expired",
                     "run verify again in 5 minutes; check that the issuer host is reachable from "
                     "the internet", error_message(err)) from None
    except BotoCoreError as err:
        raise Broken(f"STS did not answer: {err}", "the STS endpoint is unreachable",
                     "check the network, --endpoint-url and --region") from None
    chain.credentials = answer["Credentials"]
    return f"temporary credentials for {inputs.role_name}, {ASSUME_SECONDS // 60} min"


def check_caller_identity(chain: Chain) -> str:
    """GetCallerIdentity with the temporary credentials names the assumed role."""
    inputs = chain.inputs
    with calling("STS GetCallerIdentity", "(any credentials may call it)"):
        arn = chain.aws.client("sts", chain.credentials).get_caller_identity()["Arn"]
    if not _is_session_of(arn, inputs.role_arn):
        raise Broken(f"the temporary credentials are for {arn}, not the role {inputs.role_name}",
                     "STS gave credentials for another identity", "check --role-arn")
    chain.assumed_arn = arn
    return arn


def _is_session_of(identity_arn: str, role_arn: str) -> bool:
    """Whether ``identity_arn`` is a session of the role: same partition, account and name.

    GetCallerIdentity names a role session ``arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION``
    (the role's path is not part of it).
    """
    role = role_arn.split(":", 5)
    identity = identity_arn.split(":", 5)
    if len(role) != 6 or len(identity) != 6 or identity[2] != "sts":
        return False
    resource = identity[5].split("/")
    return (identity[1], identity[4]) == (role[1], role[4]) and len(resource) == 3 \
        and resource[0] == "assumed-role" and resource[1] == role[5].rsplit("/", 1)[-1] and bool(resource[2])


def check_s3_prefix(chain: Chain) -> str:
    """With the role, a bucket with the allowed prefix can be made, one without it cannot."""
    from botocore.exceptions import ClientError

    prefix = str(chain.inputs.s3_bucket_prefix)
    s3 = chain.aws.client("s3", chain.credentials, s3={"addressing_style": "path"})
    where = ({} if chain.aws.region == "us-east-1"
             else {"CreateBucketConfiguration": {"LocationConstraint": chain.aws.region}})
    allowed, denied = _bucket_names(prefix)
    try:
        s3.create_bucket(Bucket=allowed, **where)
        s3.delete_bucket(Bucket=allowed)
    except ClientError as err:
        raise Broken(f"CreateBucket {allowed} was refused: {error_code(err)}",
                     f"the role's permission policy does not let it manage buckets named {prefix}-*",
                     "attach the s3 prefix policy to the role (s3BucketPrefix in the stack's "
                     "serviceAccounts, then pulumi up)") from None
    try:
        s3.create_bucket(Bucket=denied, **where)
    except ClientError as err:
        if error_code(err) != "AccessDenied":
            raise Broken(f"CreateBucket {denied} failed with {error_code(err)}, not AccessDenied",
                         "the denied case could not be tried", "run verify again") from None
    else:
        s3.delete_bucket(Bucket=denied)
        raise Broken(f"CreateBucket {denied} succeeded, but only {prefix}-* should be allowed",
                     "the role has broader S3 permissions than the prefix policy",
                     "remove the extra policies from the role")
    return f"created and deleted {allowed}; {denied}: AccessDenied, as expected"


def _bucket_names(prefix: str) -> tuple[str, str]:
    """A bucket name the prefix policy allows, and one it does not (both at most 63 characters)."""
    suffix = secrets.token_hex(4)
    allowed = f"{prefix}-{suffix}"[:63]
    denied = f"irsa-verify-denied-{suffix}"
    if denied.startswith(prefix + "-"):
        denied = "x" + denied
    return allowed, denied


def check_issuer_host(chain: Chain) -> str:
    """How the host serves the documents: Content-Type, caching, response time; for S3, that
    only the documents are public. Findings are warnings: STS accepts all of it."""
    facts: list[str] = []
    concerns: list[str] = []
    for what, response in chain.fetched.items():
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if content_type != s3.CONTENT_TYPE:
            concerns.append(f"the {what} is served as {content_type or 'no Content-Type'}, "
                            f"not {s3.CONTENT_TYPE}")
        cache = response.headers.get("cache-control", "")
        max_age = _max_age(cache)
        if max_age is not None and max_age > LONGEST_CACHE_SECONDS:
            concerns.append(f"the {what} may be cached for {_duration(max_age)} "
                            f"(Cache-Control: {cache}): a new key reaches STS that late")
        age = response.headers.get("age")
        if response.seconds > SLOW_SECONDS:
            concerns.append(f"the {what} took {response.seconds:.1f} s; STS gives up after about 5 s")
        facts.append(f"{what}: {content_type or '-'}, Cache-Control {cache or '-'}"
                     + (f", Age {age} s" if age else "") + f", {response.seconds:.2f} s")
    kind = chain.inputs.issuer_host or s3.host_kind(chain.inputs.issuer_url)
    if kind == "s3":
        concerns += _s3_exposure(chain)
        facts.append("S3: only the documents are public")
    summary = "; ".join(facts)
    if concerns:
        raise Concern("; ".join(concerns),
                      f"the host works for STS, but: {summary}",
                      "serve both documents as application/json with a short Cache-Control "
                      "(the s3 and cloudfront hosts do, see docs/issuer-hosting.md); for S3, grant "
                      "anonymous s3:GetObject on exactly the two documents and nothing else")
    return summary


def _max_age(cache_control: str) -> int | None:
    """The lifetime a shared cache may keep the answer (s-maxage before max-age), in seconds."""
    found = dict(re.findall(r"(s-maxage|max-age)\s*=\s*(\d+)", cache_control.lower()))
    value = found.get("s-maxage", found.get("max-age"))
    return int(value) if value is not None else None


def _s3_exposure(chain: Chain) -> list[str]:
    """Anonymous requests that a bucket serving only the two documents refuses with 403.

    S3 answers 404 for a missing key only to a caller who may list the bucket,
    so a 404 is as telling as a listing. Objects under names nobody knows
    cannot be probed; the bucket policy is the place to check those.
    """
    parts = urlsplit(chain.inputs.issuer_url)
    root = f"{parts.scheme}://{parts.netloc}"
    prefix = parts.path.strip("/")
    probe_key = "/".join(p for p in (prefix, f"irsa-verify-probe-{secrets.token_hex(4)}") if p)
    probes = {
        "anyone can list the bucket": f"{root}/?list-type=2",
        "anyone may list the bucket (a missing key answers 404, not 403)": f"{root}/{probe_key}",
        "anyone can read the bucket policy": f"{root}/?policy",
        "anyone can read the bucket ACL": f"{root}/?acl",
    }
    options = {"ca_bundle": chain.inputs.ca_bundle, **chain.inputs.fetch_options}
    found = []
    for concern, url in probes.items():
        status = fetch.status_of(url, **options)
        if status is not None and status != 403:
            found.append(f"{concern} (GET {url.removeprefix(root) or '/'} answered {status})")
    return found


def _without_s3(inputs: Inputs) -> str | None:
    return None if inputs.s3_bucket_prefix else "not asked (give --s3-bucket-prefix)"


def _without_pod(inputs: Inputs) -> str | None:
    return None if inputs.pod else "not asked (give --pod)"


CHECKS: tuple[Check, ...] = (
    Check("pod-mutated", "the pod's service account names a role; the webhook added the variables",
          check_pod_mutated, (), _without_pod),
    Check("pod-role-arn", "AWS_ROLE_ARN equals the service account's annotation", check_pod_role_arn,
          ("pod-mutated",), _without_pod),
    Check("pod-token", "AWS_WEB_IDENTITY_TOKEN_FILE is a projected token for the audience",
          check_pod_token_volume, ("pod-mutated",), _without_pod),
    Check("token", "a service-account token is at hand and is a JWT", check_token),
    Check("discovery", "discovery document reachable over HTTPS, valid JSON", check_discovery),
    Check("issuer", "its issuer equals the issuer URL exactly", check_issuer, ("discovery",)),
    Check("jwks-uri", "jwks_uri is https and reachable", check_jwks_uri, ("discovery",)),
    Check("jwks-keys", "the JWKS holds RSA keys with kids", check_jwks_keys, ("jwks-uri",)),
    Check("issuer-host", "JSON, short caching, quick answers; S3: only the documents public "
          "(warns)", check_issuer_host, ("discovery", "jwks-uri")),
    Check("token-header", "the token is RS256 and its kid is published", check_token_header,
          ("token", "jwks-keys")),
    Check("signature", "the signature verifies with that key", check_signature, ("token-header",)),
    Check("token-issuer", "iss equals the issuer URL", check_token_issuer, ("token",)),
    Check("token-audience", "aud includes the provider's client id", check_token_audience, ("token",)),
    Check("token-lifetime", "exp and nbf hold now", check_token_lifetime, ("token",)),
    Check("token-subject", "sub is system:serviceaccount:NS:NAME", check_token_subject, ("token",)),
    Check("iam-provider", "an IAM OIDC provider for exactly this URL lists the audience",
          check_iam_provider),
    Check("trust-policy", "the role's trust policy admits this provider, sub and aud",
          check_trust_policy, ("token", "iam-provider", "pod-role-arn")),
    Check("assume-role", "STS AssumeRoleWithWebIdentity", check_assume_role, (ALL_BEFORE,)),
    Check("caller-identity", "GetCallerIdentity with the temporary credentials",
          check_caller_identity, ("assume-role",)),
    Check("s3-prefix", "a bucket with the allowed prefix can be made, another cannot",
          check_s3_prefix, ("caller-identity",), _without_s3),
)


# The API server's own audiences: a token for them must never be an AWS credential.
KUBERNETES_AUDIENCES = ("https://kubernetes.default.svc",
                        "https://kubernetes.default.svc.cluster.local")


def _audience_fix(audience: str, fix: str) -> str:
    """``fix``, unless it would make AWS accept tokens meant for the Kubernetes API."""
    if audience in KUBERNETES_AUDIENCES:
        return (f"verify with --audience sts.amazonaws.com (irsa:audience's default) and tokens "
                f"issued for it; never list {audience} as a client id or trust it in a role: "
                "every Kubernetes API token would then be an AWS credential")
    return fix


def _trust_fix(chain: Chain, document: Any) -> str:
    """What to change when the trust policy says no: the token, the role named, or the role.

    Never the advice the docs warn against: trusting the Kubernetes API audience (every
    API token would become AWS credentials) or another service account's tokens.
    """
    inputs = chain.inputs
    claims = _token(chain).claims
    expected_sub = policies.subject(inputs.namespace, inputs.name)
    audiences = _token(chain).audiences
    if inputs.audience not in audiences:
        return (f"issue the token for {inputs.audience!r} (the projected token volume's audience; "
                "pulumi up sets it), not the role's trust: a role that trusts "
                f"{', '.join(map(repr, audiences)) or 'that audience'} would accept tokens meant "
                "for other services, such as the Kubernetes API")
    if claims.get("sub") != expected_sub:
        return (f"use a token of {inputs.service_account} (a pod whose serviceAccountName is "
                f"{inputs.name} in {inputs.namespace}), or verify the service account the token "
                "belongs to; do not make the role trust another service account")
    trusted = sorted(_trusted_subjects(document) - {expected_sub})
    if trusted and expected_sub not in _trusted_subjects(document):
        return (f"role {inputs.role_name} is the role of {', '.join(trusted)}: give --role-arn of "
                f"{inputs.service_account}'s own role (the stack output serviceAccountRoles), or "
                f"list {inputs.service_account} in the stack's serviceAccounts and run pulumi up "
                "to get one")
    prefix = inputs.issuer_url.split("://", 1)[-1]
    return (f"the role must trust {chain.provider_arn} with StringEquals {prefix}:sub = "
            f"{expected_sub} and {prefix}:aud = {inputs.audience}: list the service account in "
            "the stack's serviceAccounts and run pulumi up")


def _trusted_subjects(document: Any) -> set[str]:
    """Every ``…:sub`` value the trust policy's conditions name."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    found: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        conditions = statement.get("Condition", {}) if isinstance(statement, dict) else {}
        for test in conditions.values() if isinstance(conditions, dict) else []:
            for key, value in test.items() if isinstance(test, dict) else []:
                if key.endswith(":sub"):
                    values = [value] if isinstance(value, str) else value
                    found.update(v for v in values if isinstance(v, str)) if isinstance(
                        values, list) else None
    return found


# What `irsa verify --issuer-url URL` alone checks: the issuer, without a token or AWS.
ISSUER_CHECKS = ("discovery", "issuer", "jwks-uri", "jwks-keys", "issuer-host")


def _pod(chain: Chain) -> pods.PodView:
    assert chain.inputs.pod is not None, "pod checks run only with --pod"
    return chain.inputs.pod


def _token(chain: Chain) -> tokens.Token:
    assert chain.token is not None, "the token check runs first"
    return chain.token


def _fetch_json(chain: Chain, url: str, what: str) -> dict[str, Any]:
    try:
        document, response = fetch.get_json_response(url, ca_bundle=chain.inputs.ca_bundle,
                                                     **chain.inputs.fetch_options)
        chain.fetched[what] = response
        return document
    except fetch.FetchError as err:
        cause, fix = _fetch_failure(err, what)
        raise Broken(str(err), cause, fix, KEY_NOT_FOUND) from None


def _fetch_failure(err: fetch.FetchError, what: str) -> tuple[str, str]:
    """Cause and fix for a failed GET of an issuer document."""
    if err.kind == "http" and err.status == 404:
        return (f"nothing is published at this URL; on GitHub, the {what} is missing from that "
                "branch and path, or the repository is private (both answer 404)",
                "publish it there (pulumi up does) in a public repository")
    if err.kind == "http" and err.status is not None and err.status < 500:
        return ("the host refuses to serve it", "make it readable without authentication")
    if err.kind == "tls":
        return ("TLS with the host failed: its certificate is not trusted here, or it does not "
                "speak HTTPS on that port",
                "serve the documents over HTTPS with a certificate from a public CA (STS trusts "
                "those); for a private test CA pass --ca-bundle")
    if err.kind == "content":
        return (f"the {what} is not a JSON object",
                "publish it exactly as irsa prints it (jwks / discovery)")
    return ("the host did not answer in time or failed; STS gives up after about 5 seconds",
            "check that the host is up and reachable from the internet")


def _difference(found: object, wanted: str) -> str:
    """A hint at how two URLs differ, when it is one of the usual slips."""
    if not isinstance(found, str):
        return ""
    if found.rstrip("/") == wanted.rstrip("/"):
        return ": a trailing slash differs"
    if found.lower() == wanted.lower():
        return ": letter case differs"
    return ""


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
