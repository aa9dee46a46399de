"""The Pulumi program: settings → components → stack outputs. Wiring only."""

import pulumi

from irsa import stack_config
from irsa.components.issuer import OidcIssuer, OidcIssuerArgs

settings = stack_config.load()

issuer = OidcIssuer(
    "issuer",
    OidcIssuerArgs(
        github_owner=settings.issuer.github_owner,
        github_repository=settings.issuer.github_repository,
        github_branch=settings.issuer.github_branch,
        create_repository=settings.issuer.create_repository,
        key_names=settings.keys.names,
        key_bits=settings.keys.bits,
    ),
)

pulumi.export("issuerUrl", issuer.issuer_url)
pulumi.export("discoveryUrl", issuer.discovery_url)
pulumi.export("jwksUri", issuer.jwks_uri)
pulumi.export("audience", settings.tokens.audience)
pulumi.export("signingKeyIds", issuer.key_ids)
