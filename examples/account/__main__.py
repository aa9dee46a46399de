"""An account stack: the OIDC provider and the roles of one AWS account, for a cluster stack.

The cluster's irsa stack (often ``irsa:awsAccounts: []``, owned by a platform
team) publishes the issuer; the account owner runs this in their own account
with their own credentials. It reads the issuer URLs and the audience from the
cluster stack (``require_output``: a missing output fails the preview) and
makes them with the same components the irsa stack uses. Each role's ARN goes
back to the cluster stack as ``serviceAccounts[i].roleArn``.
"""

import pulumi

from irsa import iam_names, settings
from irsa.components.aws import OidcProvider, OidcProviderArgs, ServiceAccountRole, ServiceAccountRoleArgs

config = pulumi.Config()
hosts = config.get_object("issuerHosts") or ["github"]
try:
    accounts = settings.parse_service_accounts(config.get_object("serviceAccounts") or [],
                                               "irsa-account:serviceAccounts")
    if not all(h in settings.ISSUER_HOSTS for h in hosts) or len(set(hosts)) != len(hosts):
        raise settings.SettingsError([
            f"irsa-account:issuerHosts must list distinct hosts of {', '.join(settings.ISSUER_HOSTS)} "
            f"(the cluster's irsa:issuerHost, then its irsa:previousIssuerHosts), got {hosts}"])
except settings.SettingsError as err:
    raise pulumi.RunError("invalid configuration:\n  " + "\n  ".join(err.problems)) from None
cluster = pulumi.StackReference(config.require("clusterStack"))
tags = config.get_object("tags") or {}
audience = cluster.require_output("audience")

# The current issuer first, then the previous ones while the cluster moves between hosts.
issuer_url = cluster.require_output("issuerUrl")
previous = cluster.require_output("previousIssuerUrls") if len(hosts) > 1 else None
urls = [issuer_url, *(previous.apply(lambda v, i=i: v[i]) for i in range(len(hosts) - 1))]
providers = [
    OidcProvider(
        "oidc" if host == "github" else f"oidc-{host}",
        OidcProviderArgs(
            issuer_url=url,
            client_ids=pulumi.Output.all(audience, config.get_object("extraClientIds") or []).apply(
                lambda v: list(dict.fromkeys([v[0], *v[1]]))),
            thumbprints=config.get_object("thumbprints") or [],
            tags=tags,
        ),
    )
    for host, url in zip(hosts, urls)
]

roles = {}
for account in accounts:
    role = ServiceAccountRole(
        account.resource_name,
        ServiceAccountRoleArgs(
            provider_arn=providers[0].arn,
            issuer_url=issuer_url,
            namespace=account.namespace,
            name=account.name,
            audience=audience,
            # A new stack: its default role names are its own (PROJECT-STACK-HASH_NS_NAME).
            role_name=account.role_name or iam_names.default_role_name(
                account.namespace, account.name, iam_names.stack_prefix(pulumi.get_project(), pulumi.get_stack())),
            role_name_is_default=account.role_name is None,
            s3_bucket_prefix=account.s3_bucket_prefix,
            policy_arns=account.policy_arns,
            policy=account.policy,
            tags=tags,
            inline_policies=({account.preset.policy_name: account.preset.policy()} if account.preset else {}),
            permissions_boundary=account.permissions_boundary,
            path=account.path,
            max_session_duration=account.max_session_duration,
            description=account.description,
            previous_issuers=[(p.arn, url) for p, url in zip(providers[1:], urls[1:])],
            shared_with=account.shared_with,
        ),
    )
    roles[account.key] = role.arn
    for namespace, name in account.shared_with:
        roles[f"{namespace}/{name}"] = role.arn

pulumi.export("oidcProviderArn", providers[0].arn)
pulumi.export("roleArns", roles)
