"""The cluster side of IRSA: each control-plane node's kube-apiserver signs tokens for our issuer, over SSH.

What pulumi-command 1.x really does (provider/pkg/provider/remote, v1.2.1),
which this component is built around:

- Only ``triggers`` is replace-on-change (``provider:"replaceOnChanges"`` in
  ``common/inputs.go``; ``replaceOnChanges: true`` in the provider schema).
  Any other changed input, ``connection`` included, is an in-place update that
  runs ``update`` (or ``create`` when unset) with the NEW inputs
  (``commandController.go``, ``Update``).
- ``Delete`` runs the ``delete`` command from the stored state: old stdin,
  old connection.
- Without ``connection.hostKey`` the client accepts any server key
  (``ssh.InsecureIgnoreHostKey``, ``connection.go``); with it, exactly that key.

So: a node's identity (host, port) is in ``triggers``, and the commands are
``delete_before_replace``: a new address reverts the old host first, then
configures the new one. A change of only the SSH user, private key or host
key is an in-place update: it runs the same mode with the same script, which
finds the host already configured, writes nothing and restarts nothing (it
also proves the new credentials work). Every other change (issuer, keys,
audiences, key directory) changes the script on stdin: an in-place update
that runs the mode again.

Several nodes: per node an ``accept``, a ``sign`` and a ``retire`` command;
which mode each runs, in which order, and when a retire may drop anything is
``irsa/apiserver/rollout.py`` (2N−1 restarts for a change, one on a single
node; at most one API server restarts at a time and every node accepts what
any node signs). Only the signing steps wait for the issuer to serve the
keys (``depends_on``); the other nodes' accepts run meanwhile. Each retire
command's input carries ``retire_from``, computed from what the sign steps
reported and ``irsa:retireAfterSeconds``: it changes, and so runs the retire,
at the first ``up`` after the previous signer's tokens have expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_command.local as local
import pulumi_command.remote as remote

from irsa import apiserver
from irsa.apiserver import kubeconfig as kubeconfig_text
from irsa.apiserver import rollout
from irsa.apiserver import remote_read
from irsa.settings import HostSettings

PHASES = rollout.PHASES


@dataclass(frozen=True)
class ClusterIssuerConfigArgs:
    """What the hosts need: where they are, and the issuer and keys their API servers should use.

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
    # Which stack configures the hosts (kept on each host, so another stack's host is refused).
    owner_stack: str = ""
    # Issuers the API servers keep accepting while the issuer moves between hosts.
    previous_issuer_urls: pulumi.Input[list[str]] = field(default=())
    # What the accept steps of all nodes but the last wait for (the signing steps wait for depends_on).
    accept_depends_on: Sequence[pulumi.Resource] = field(default=())
    # How long what stopped signing stays accepted (irsa:retireAfterSeconds).
    retire_after_seconds: int = 86400
    # The time now, for the retire decision (tests pass their own).
    clock: Callable[[], float] = time.time
    # Read the admin kubeconfig from the first node (not when irsa:kubeconfig gives one).
    read_kubeconfig: bool = True


def connection(host: HostSettings, address: str | None = None) -> remote.ConnectionArgs:
    """SSH connection to one node; without a configured key the SSH agent is used.

    The node's host key, when configured, is pinned (``hostKey``).
    """
    address = address or host.host
    private_key = host.ssh_private_key
    return remote.ConnectionArgs(
        host=address,
        port=host.ssh_port,
        user=host.ssh_user,
        private_key=pulumi.Output.secret(private_key.value) if private_key else None,
        host_key=host.host_keys.get(address),
    )


def node_keys(host: HostSettings) -> dict[str, str]:
    """Each node's address → the stable part of its resource names.

    A single ``irsa:host`` is the node ``apiserver`` whatever its address, so a
    new address replaces it (old host reverted first). Entries of
    ``irsa:hosts`` are named after their address (brackets dropped, ':' as
    '_', which no host name contains), so adding or removing one touches only
    that node.
    """
    if not host.hosts:
        return {host.host: "apiserver"}
    return {address: "node-" + address.strip("[]").replace(":", "_") for address in host.hosts}


def triggers(host: HostSettings, address: str) -> list:
    """What makes a node's commands replaced rather than updated: the machine they reach."""
    return [address, host.ssh_port]


class ClusterIssuerConfig(pulumi.ComponentResource):
    """kube-apiserver on every control-plane node signs service-account tokens for the IRSA issuer.

    See the module docstring for the phases and what the provider does on a
    change. The script, private key included, travels on stdin, stored as a
    secret; the command lines carry only the mode.
    """

    commands: dict[str, dict[str, remote.Command]]
    kubeconfig: pulumi.Output[str] | None

    def __init__(self, name: str, args: ClusterIssuerConfigArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:cluster:ClusterIssuerConfig", name, None, opts)
        host = args.host
        owner_stack = args.owner_stack or _stack_identity()
        keys = node_keys(host)

        def script_for(address: str, retire_from: pulumi.Input[int] = 0) -> pulumi.Output[str]:
            def render(values: list) -> str:
                issuer_url, key_ids, public_keys_pem, signing_private_key_pem, previous, retire_at = values
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
                        node=address,
                        owner_stack=owner_stack,
                        previous_issuer_urls=previous or (),
                        retire_from=retire_at,
                    ),
                )

            return pulumi.Output.secret(pulumi.Output.all(
                args.issuer_url, args.key_ids, args.public_keys_pem, args.signing_private_key_pem,
                args.previous_issuer_urls, retire_from,
            ).apply(render))

        scripts = {address: script_for(address) for address in keys}
        self.commands = {address: {} for address in keys}
        count = len(keys)

        def command(address: str, index: int, phase: str, stdin: pulumi.Input[str],
                    depends_on: list[pulumi.Resource]) -> remote.Command:
            key = keys[address]
            line = apiserver.command_line(rollout.mode(phase, index, count))
            undo = rollout.undo(phase, index, count)
            return remote.Command(
                f"{name}-{key}-{phase}",
                connection=connection(host, address),
                create=line,
                update=line,
                delete=apiserver.command_line(undo) if undo else None,
                stdin=stdin,
                triggers=triggers(host, address),
                # Progress lines only; the script never prints key material.
                logging=remote.Logging.STDOUT_AND_STDERR,
                add_previous_output_in_env=False,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # A stack made before the phases has one `NAME-apiserver`
                    # command. Left alone, the engine would delete it last and its
                    # old `revert` would undo the new configuration; as the accept
                    # command's former name it is replaced instead, delete first
                    # (triggers are new): revert, then accept, sign, retire.
                    aliases=[pulumi.Alias(name=f"{name}-apiserver")]
                    if key == "apiserver" and phase == "accept" else None,
                    depends_on=depends_on,
                    # Create-before-delete would configure the new host and
                    # then undo through the old state: undo first.
                    delete_before_replace=True,
                    additional_secret_outputs=["stdin"],
                ),
            )

        # accept: every node but the last accepts (before the keys are served:
        # accepting never signs); the last accepts and signs at once.
        accepts: list[remote.Command] = []
        for index, address in enumerate(keys):
            waits = list(args.depends_on if index == count - 1 else args.accept_depends_on)
            accepts.append(command(address, index, "accept", scripts[address], waits + accepts[-1:]))
        signs: list[remote.Command] = []
        for index, address in enumerate(keys):
            signs.append(command(address, index, "sign", scripts[address],
                                 list(args.depends_on) + accepts + signs[-1:]))
        for address, accept, sign in zip(keys, accepts, signs, strict=True):
            self.commands[address] = {"accept": accept, "sign": sign}

        def reports(commands: list[remote.Command]) -> pulumi.Output[dict]:
            return pulumi.Output.all(*(c.stdout for c in commands)).apply(
                lambda outputs: {address: rollout.parse_state(out)
                                 for address, out in zip(keys, outputs, strict=True)})

        # What each node reported after its sign step decides the retire.
        retire_from = reports(signs).apply(
            lambda states: rollout.retire_from(states.values(), args.retire_after_seconds, args.clock()))
        retires: list[remote.Command] = []
        for index, address in enumerate(keys):
            retires.append(command(address, index, "retire", script_for(address, retire_from),
                                   signs + retires[-1:]))
            self.commands[address]["retire"] = retires[-1]
        previous_phase = retires
        # The retire steps run last (whenever a sign step runs, they do too): their
        # reports say what each node still accepts, for the preview notes.
        pulumi.Output.all(reports(retires), args.key_ids, args.issuer_url, args.previous_issuer_urls).apply(
            lambda v: _notes(self, *v, args))

        self.kubeconfig = None
        if args.read_kubeconfig:
            self.kubeconfig = self._read_kubeconfig(host, next(iter(keys)), previous_phase)
        self.register_outputs({"kubeconfig": self.kubeconfig})

    def _read_kubeconfig(self, host: HostSettings, first: str, after: list) -> pulumi.Output[str]:
        """The first node's admin kubeconfig, read fresh on every run once ``after`` is done."""
        # Read on every run (an invoke: nothing stored, no diff), so a client
        # certificate the host renewed is used, instead of the one read when the
        # stack was made (k3s's and kubeadm's last a year). It waits for the last
        # phase, so every Kubernetes object waits for the configured API servers.
        read = local.run_output(
            command=remote_read.script(host.ssh_user, first, host.ssh_port,
                                       apiserver.kubeconfig_command_line(host.distribution)),
            interpreter=["/bin/bash", "-c"],
            stdin=pulumi.Output.secret(remote_read.stdin(
                host.host_keys.get(first), host.ssh_private_key.value if host.ssh_private_key else None)),
            logging=local.Logging.NONE,
            add_previous_output_in_env=False,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=after),
        )
        endpoint = host.api_endpoint
        return pulumi.Output.secret(
            read.stdout.apply(lambda text: kubeconfig_text.with_server(text, endpoint) if endpoint else text)
        )


def _notes(resource: pulumi.Resource, states: dict, key_ids: list[str], issuer_url: str,
           previous: list[str], args: ClusterIssuerConfigArgs) -> None:
    """Say at preview what the nodes still accept and until when; warn about keys dropped too
    soon and an issuer change AWS would stop trusting at once."""
    infos, warnings = rollout.preview_notes(states, key_ids or [], args.retire_after_seconds, args.clock(),
                                            issuer_url, previous or ())
    for text in infos:
        pulumi.log.info(text, resource=resource)
    for text in warnings:
        pulumi.log.warn(text, resource=resource)


def _stack_identity() -> str:
    """``organization/project/stack`` (organization when the engine names one): which stack configured a host."""
    parts = (pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack())
    return "/".join(part for part in parts if part)
