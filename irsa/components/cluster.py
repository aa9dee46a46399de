"""The cluster side of IRSA: kube-apiserver signs tokens for our issuer, configured over SSH."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_command.remote as remote

from irsa import apiserver
from irsa.settings import HostSettings


@dataclass(frozen=True)
class ClusterIssuerConfigArgs:
    """What the host needs: where it is, and the issuer and keys its API server should use.

    ``key_ids`` and ``public_keys_pem`` are in the same order, the signing key
    first; ``signing_private_key_pem`` is that key's private half (a secret).
    """

    host: HostSettings
    issuer_url: pulumi.Input[str]
    key_ids: pulumi.Input[list[str]]
    public_keys_pem: pulumi.Input[list[str]]
    signing_private_key_pem: pulumi.Input[str]
    api_audiences: tuple[str, ...]
    audience: str
    depends_on: Sequence[pulumi.Resource] = field(default=())


def connection(host: HostSettings) -> remote.ConnectionArgs:
    """SSH connection to the host; without a configured key the SSH agent is used."""
    private_key = host.ssh_private_key
    return remote.ConnectionArgs(
        host=host.host,
        port=host.ssh_port,
        user=host.ssh_user,
        private_key=pulumi.Output.secret(private_key.value) if private_key else None,
    )


class ClusterIssuerConfig(pulumi.ComponentResource):
    """kube-apiserver on the host signs service-account tokens for the IRSA issuer.

    One ``remote.Command`` runs the host script: ``apply`` on create and
    update, ``revert`` on delete. The script, private key included, travels
    on stdin, stored as a secret; Pulumi gives the same stdin to delete, so
    revert runs from the state of the last apply. A changed issuer, key set,
    audiences or key directory changes stdin and so runs apply again in place;
    nothing else does. Only a changed connection replaces the command, and
    then the old host is reverted before the new one is configured.
    """

    command: remote.Command
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterIssuerConfigArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:cluster:ClusterIssuerConfig", name, None, opts)
        host = args.host
        ssh = connection(host)

        def render(values: list) -> str:
            issuer_url, key_ids, public_keys_pem, signing_private_key_pem = values
            return apiserver.host_script(
                host.distribution,
                apiserver.host_config(
                    host,
                    issuer_url=issuer_url,
                    key_ids=key_ids,
                    public_keys_pem=public_keys_pem,
                    signing_private_key_pem=signing_private_key_pem,
                    api_audiences=args.api_audiences,
                    audience=args.audience,
                ),
            )

        script = pulumi.Output.all(
            args.issuer_url, args.key_ids, args.public_keys_pem, args.signing_private_key_pem
        ).apply(render)

        apply = apiserver.command_line("apply")
        self.command = remote.Command(
            f"{name}-apiserver",
            connection=ssh,
            create=apply,
            update=apply,
            delete=apiserver.command_line("revert"),
            stdin=pulumi.Output.secret(script),
            # Progress lines only; the script never prints key material.
            logging=remote.Logging.STDOUT_AND_STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.depends_on),
                # Create-before-delete would configure the new host and then
                # revert through the old state: revert first, then apply.
                delete_before_replace=True,
                additional_secret_outputs=["stdin"],
            ),
        )

        read_kubeconfig = remote.Command(
            f"{name}-kubeconfig",
            connection=ssh,
            create=apiserver.kubeconfig_command_line(host.distribution),
            logging=remote.Logging.NONE,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.command],
                delete_before_replace=True,
                additional_secret_outputs=["stdout", "stderr"],
            ),
        )
        self.kubeconfig = pulumi.Output.secret(read_kubeconfig.stdout)

        self.register_outputs({"kubeconfig": self.kubeconfig})
