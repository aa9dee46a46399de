"""The ClusterIssuerConfig component under Pulumi mocks: what Pulumi would run on each host, and when.

Whether a config change updates, replaces or leaves a host command alone is
not what the mocks say (they accept anything): it is derived here from the
provider's own replace rules (pulumi-command's schema, kept in
tests/fixtures/pulumi-command/replace-rules.json) and the engine's rules for
``replace_on_changes`` and ``delete_before_replace``.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pulumi
import pytest
from conftest import (
    FIXTURES,
    ROOT,
    IrsaMocks,
    Recorder,
    RecordingMonitor,
    pem_block,
    rsa_private_key_pem,
    run_program,
    secret_value,
    stack_file_config,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings

from irsa import apiserver, oidc
from irsa.components.cluster import ClusterIssuerConfig, ClusterIssuerConfigArgs
from irsa.components.issuer import OidcIssuer, OidcIssuerArgs
from irsa.settings import HostSettings, Secret

COMMAND = "command:remote:Command"
ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
SSH_KEY = pem_block("OPENSSH PRIVATE KEY", "not-a-real-key")
# A host's public key as ssh-keyscan prints it, made at run time.
HOST_KEY = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
HOST = HostSettings(
    distribution="microk8s",
    host="192.0.2.10",
    ssh_user="ubuntu",
    ssh_port=2222,
    ssh_private_key=Secret(SSH_KEY),
    key_dir="/opt/k8s",
    ready_timeout_seconds=120,
    restart_workloads=False,
    host_keys={"192.0.2.10": HOST_KEY},
    api_endpoint="https://192.0.2.10:16443",
)
THREE = replace(HOST, hosts=("192.0.2.10", "192.0.2.11", "192.0.2.12"), host_keys={})
PHASES = ("accept", "sign", "retire")
REPLACE_RULES = json.loads((FIXTURES / "pulumi-command" / "replace-rules.json").read_text())


def make(host: HostSettings = HOST):
    """An OidcIssuer and the ClusterIssuerConfig fed from it, as ``__main__`` wires them."""
    issuer = OidcIssuer(
        "issuer", OidcIssuerArgs("example-org", "oidc-issuer", "main", False, ("primary",), 2048)
    )
    cluster = ClusterIssuerConfig(
        "cluster",
        ClusterIssuerConfigArgs(
            host=host,
            issuer_url=issuer.issuer_url,
            key_ids=issuer.key_ids,
            public_keys_pem=issuer.public_keys_pem,
            signing_private_key_pem=issuer.signing_private_key_pem,
            api_audiences=("https://kubernetes.default.svc",),
            audience="sts.amazonaws.com",
            depends_on=issuer.published,
        ),
    )
    return {
        "kubeconfig": cluster.kubeconfig,
        "key_ids": issuer.key_ids,
        "signing_private_key_pem": issuer.signing_private_key_pem,
    }


def test_script_travels_as_secret_stdin_and_each_phase_has_its_mode(pulumi_mocks):
    out = pulumi_mocks.run(make)
    # One node: its accept step accepts and signs at once (one restart); its
    # sign step finds nothing to do; revert undoes everything in one restart.
    modes = {"accept": "sign", "sign": "sign", "retire": "retire"}
    undo = {"accept": "revert", "sign": None, "retire": None}
    scripts = set()
    for phase in PHASES:
        command = pulumi_mocks.by_name(f"cluster-apiserver-{phase}")
        script = secret_value(command.inputs["stdin"])
        scripts.add(script)
        assert out["signing_private_key_pem"].value.strip() in script
        assert f"IRSA_ISSUER={ISSUER}" in script
        assert f"IRSA_KEY_IDS=({out['key_ids'].value[0]})" in script
        assert "IRSA_NODE=192.0.2.10" in script and "IRSA_OWNER_STACK=irsa/test" in script
        assert command.inputs["create"] == command.inputs["update"] == apiserver.command_line(modes[phase])
        assert command.inputs.get("delete") == (apiserver.command_line(undo[phase]) if undo[phase] else None)
        for line in (command.inputs["create"], command.inputs.get("delete") or ""):
            assert "PRIVATE" not in line and "IRSA_" not in line
        assert "stdin" in command.additional_secret_outputs
        assert command.inputs["logging"] == "stdoutAndStderr"
    assert len(scripts) == 1, "one script per node; the mode is on the command line"


def test_host_identity_is_the_trigger_and_replacements_undo_first(pulumi_mocks):
    pulumi_mocks.run(make)
    for command in pulumi_mocks.of_type(COMMAND):
        assert command.inputs["triggers"] == ["192.0.2.10", 2222], command.name
        assert command.delete_before_replace is True, command.name


def connection_of(recorder, name="cluster-apiserver-sign") -> dict:
    connection = secret_value(recorder.by_name(name).inputs["connection"])
    return {k: connection[k] for k in ("host", "port", "user", "privateKey", "hostKey") if k in connection}


def test_connection_pins_the_host_key_and_keeps_the_ssh_key_secret(pulumi_mocks):
    pulumi_mocks.run(make)
    for command in pulumi_mocks.of_type(COMMAND):
        assert connection_of(pulumi_mocks, command.name) == {
            "host": "192.0.2.10", "port": 2222, "user": "ubuntu", "privateKey": SSH_KEY,
            "hostKey": HOST_KEY,
        }


def test_without_a_key_the_agent_is_used_and_without_a_host_key_none_is_pinned(pulumi_mocks):
    pulumi_mocks.run(lambda: make(replace(HOST, ssh_private_key=None, host_keys={})))
    assert connection_of(pulumi_mocks) == {"host": "192.0.2.10", "port": 2222, "user": "ubuntu"}


def test_waits_for_the_published_issuer_files(pulumi_mocks):
    pulumi_mocks.run(make)
    files = {r.urn for r in pulumi_mocks.of_type("github:index/repositoryFile:RepositoryFile")}
    assert len(files) == 2
    assert files <= set(pulumi_mocks.by_name("cluster-apiserver-accept").dependencies)


def kubeconfig_reads(recorder) -> list[dict]:
    return [args for token, args in recorder.invokes if token == "command:local:run"]


def test_kubeconfig_is_read_every_run_pointed_at_the_api_endpoint_and_kept_secret(pulumi_mocks):
    out = pulumi_mocks.run(lambda: make(replace(HOST, api_endpoint="https://k8s.example.internal:16443")))
    (read,) = kubeconfig_reads(pulumi_mocks)

    assert out["kubeconfig"].secret is True
    import yaml

    document = yaml.safe_load(out["kubeconfig"].value)
    # The mock prints the host's own address, 10.0.0.5, as `microk8s config` does.
    assert [c["cluster"]["server"] for c in document["clusters"]] == ["https://k8s.example.internal:16443"]
    # An invoke, not a resource: nothing stored, so nothing to diff, and it runs every time.
    assert not [c for c in pulumi_mocks.of_type(COMMAND) if "kubeconfig" in c.name]
    assert apiserver.kubeconfig_command_line("microk8s") in read["command"]
    assert read["interpreter"] == ["/bin/bash", "-c"] and read["logging"] == "none"
    # The private key travels on stdin, never on the command line.
    key = HOST.ssh_private_key.value
    assert key not in read["command"] and read["stdin"].endswith(key)


def test_a_stack_from_before_the_phases_has_its_host_command_replaced_not_deleted_last(pulumi_mocks):
    pulumi_mocks.run(make)
    accept = pulumi_mocks.by_name("cluster-apiserver-accept")
    assert any(a.get("name") == "cluster-apiserver" or a.get("urn", "").endswith("::cluster-apiserver")
               for a in accept.aliases), accept.aliases
    # Replaced because triggers are new to it, and delete first: the old revert runs before accept.
    assert "triggers" in REPLACE_RULES["resources"][COMMAND]["replaceOnChanges"] and accept.delete_before_replace
    for other in ("cluster-apiserver-sign", "cluster-apiserver-retire"):
        assert pulumi_mocks.by_name(other).aliases == []


def test_children_are_named_and_parented_under_the_component(pulumi_mocks):
    pulumi_mocks.run(make)
    component = pulumi_mocks.one("irsa:cluster:ClusterIssuerConfig")
    commands = pulumi_mocks.of_type(COMMAND)
    assert sorted(c.name for c in commands) == sorted(f"cluster-apiserver-{p}" for p in PHASES)
    assert all(c.parent == component.urn for c in commands)


# --- several nodes: the graph that keeps the invariant ----------------------


def names(host: HostSettings) -> list[list[str]]:
    keys = ["node-192.0.2.10", "node-192.0.2.11", "node-192.0.2.12"][: len(host.hosts)]
    return [[f"cluster-{k}-{phase}" for k in keys] for phase in PHASES]


def test_three_nodes_accept_all_then_sign_then_retire_one_at_a_time(pulumi_mocks):
    pulumi_mocks.run(lambda: make(THREE))
    by = {r.name: r for r in pulumi_mocks.of_type(COMMAND)}
    phases = names(THREE)
    # The modes: the last node's accept step signs at once; its sign step has no unsign.
    modes = [["accept", "accept", "sign"], ["sign"] * 3, ["retire"] * 3]
    undos = [["revert"] * 3, ["unsign", "unsign", None], [None] * 3]
    for phase, phase_modes, phase_undos in zip(phases, modes, undos, strict=True):
        for name, mode, undo in zip(phase, phase_modes, phase_undos, strict=True):
            assert by[name].inputs["create"] == by[name].inputs["update"] == apiserver.command_line(mode), name
            assert by[name].inputs.get("delete") == (apiserver.command_line(undo) if undo else None), name
    # Only signing waits for the issuer to serve the keys; the other nodes accept meanwhile.
    files = {r.urn for r in pulumi_mocks.of_type("github:index/repositoryFile:RepositoryFile")}
    assert not files & set(by[phases[0][0]].dependencies)
    for name in [phases[0][2], *phases[1]]:
        assert files <= set(by[name].dependencies), name
    for index, phase in enumerate(phases):
        for position, name in enumerate(phase):
            deps = set(by[name].dependencies)
            # The whole previous phase first: no node signs before every node accepts,
            # none retires before every node signs.
            if index:
                assert {by[n].urn for n in phases[index - 1]} <= deps, name
            # One node at a time within a phase.
            if position:
                assert by[phase[position - 1]].urn in deps, name
            assert by[name].inputs["triggers"] == [THREE.hosts[position], 2222]
            assert secret_value(by[name].inputs["connection"])["host"] == THREE.hosts[position]
    # Destroy goes in reverse dependency order: every unsign (a sign's delete)
    # before any revert (an accept's delete), since each sign depends on each accept.
    (read,) = kubeconfig_reads(pulumi_mocks)
    assert f"-p 2222 -l {THREE.ssh_user}" in read["command"] and f" {THREE.hosts[0]} " in read["command"]


def test_node_names_stay_distinct_for_addresses_that_look_alike(pulumi_mocks):
    hosts = ("fe80--1", "fe80::1", "[fe80::2]", "node.example")
    pulumi_mocks.run(lambda: make(replace(HOST, hosts=hosts, host_keys={})))
    commands = [c.name for c in pulumi_mocks.of_type(COMMAND)]
    assert len(commands) == len(set(commands)) == 3 * len(hosts)


# --- update, replace or untouched, from the provider's real rules --------------


class StableKeyMocks(IrsaMocks):
    """Keys as Pulumi keeps them: a tls PrivateKey's state stays across runs unless it is replaced."""

    cache: dict[str, dict] = {}

    def new_resource(self, args):
        if args.typ == "tls:index/privateKey:PrivateKey":
            if args.name not in self.cache:
                self.cache[args.name] = super().new_resource(args)
            return self.cache[args.name]
        return super().new_resource(args)


def program_commands(config: dict[str, str], secrets: list[str]) -> dict[str, object]:
    """The host commands the real __main__.py registers for ``config``, on fresh mocks."""
    recorder = Recorder()
    runtime_settings.set_root_resource(None)
    mocks = StableKeyMocks()
    monitor = RecordingMonitor(mocks, recorder)
    pulumi.runtime.set_mocks(mocks, project="irsa", stack="test", preview=False, monitor=monitor)
    assert runtime_settings.get_monitor() is monitor
    try:
        recorder.run(lambda: run_program(config, secrets))
    finally:
        runtime_config.set_all_config({}, [])
    return {r.name: r for r in recorder.of_type(COMMAND)}


def engine_step(old, new) -> str:
    """What the engine does to one command going from ``old`` to ``new`` registrations.

    Replace when a changed input is replace-on-change for the provider (its
    schema) or for the program (``replace_on_changes``); update when any
    other input changed; otherwise the command does not run.
    """
    if old is None:
        return "create"
    if new is None:
        return "delete"
    rules = REPLACE_RULES["resources"][COMMAND]
    replace_on = set(rules["replaceOnChanges"]) | set(new.replace_on_changes)
    assert set(new.inputs) <= set(rules["inputProperties"]), "an input the provider does not know"
    changed = {k for k in set(old.inputs) | set(new.inputs) if old.inputs.get(k) != new.inputs.get(k)}
    if changed & replace_on or "*" in replace_on and changed:
        assert new.delete_before_replace, f"{new.name} would configure the new host before undoing the old one"
        return "replace (delete first)"
    return "update" if changed else "untouched"


DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")
SSH_SECRET = pem_block("OPENSSH PRIVATE KEY", "ssh-key-one")
BASE = {**DEV, "irsa:sshPrivateKey": SSH_SECRET}
HOST_COMMANDS = [f"cluster-apiserver-{p}" for p in PHASES]


def steps(change: dict[str, str], base: dict[str, str] = BASE) -> dict[str, str]:
    StableKeyMocks.cache = {}
    before = program_commands(base, ["irsa:sshPrivateKey"])
    after = program_commands({**base, **change}, ["irsa:sshPrivateKey"])
    return {name: engine_step(before.get(name), after.get(name)) for name in sorted(set(before) | set(after))}


def stdin_of(commands, name):
    return secret_value(commands[name].inputs["stdin"])


@pytest.mark.parametrize(
    ("what", "change", "host_commands"),
    [
        ("issuer", {"irsa:githubBranch": "next"}, "update"),
        ("keys", {"irsa:signingKeys": '["next", "primary"]'}, "update"),
        ("audiences", {"irsa:apiAudiences": '["https://kubernetes.default.svc", "other"]'}, "update"),
        ("key dir", {"irsa:keyDir": "/etc/irsa"}, "update"),
        ("host", {"irsa:host": "microk8s-2.example.internal"}, "replace (delete first)"),
        ("port", {"irsa:sshPort": "2222"}, "replace (delete first)"),
        ("user", {"irsa:sshUser": "admin"}, "update"),
        ("SSH key", {"irsa:sshPrivateKey": pem_block("OPENSSH PRIVATE KEY", "ssh-key-two")}, "update"),
        ("host key", {"irsa:sshHostKey": HOST_KEY}, "update"),
        ("token lifetime", {"irsa:tokenExpirationSeconds": "3600"}, "untouched"),
    ],
)
def test_each_config_change_updates_replaces_or_leaves_the_host_commands(what, change, host_commands):
    result = steps(change)
    assert {n: result[n] for n in HOST_COMMANDS} == dict.fromkeys(HOST_COMMANDS, host_commands), what
    # The kubeconfig is an invoke, read on every run: never a step, never a diff.
    assert "cluster-kubeconfig" not in result


@pytest.mark.parametrize(
    "change",
    [{"irsa:sshUser": "admin"}, {"irsa:sshPrivateKey": pem_block("OPENSSH PRIVATE KEY", "ssh-key-two")},
     {"irsa:sshHostKey": HOST_KEY}],
)
def test_a_connection_only_change_runs_the_same_script_so_the_host_is_left_as_it_is(change):
    # The in-place update runs `update` with the new connection and the SAME stdin:
    # the modes are idempotent (tests/apiserver: a second run writes nothing and
    # does not restart), so only the login changes.
    StableKeyMocks.cache = {}
    before = program_commands(BASE, ["irsa:sshPrivateKey"])
    after = program_commands({**BASE, **change}, ["irsa:sshPrivateKey"])
    for name in HOST_COMMANDS:
        assert stdin_of(before, name) == stdin_of(after, name)
        assert before[name].inputs["update"] == after[name].inputs["update"]


def test_adding_or_removing_a_node_touches_only_that_node():
    two = {**BASE, "irsa:host": "", "irsa:hosts": '["a.example", "b.example"]', "irsa:sshHostKey": ""}
    added = steps({"irsa:hosts": '["a.example", "b.example", "c.example"]'}, two)
    assert {n: s for n, s in added.items() if s != "untouched"} == {
        **{f"cluster-node-c.example-{p}": "create" for p in PHASES},
        # b.example is no longer the last node: its accept step runs accept, its
        # sign step gets unsign as its delete. Both runs find b.example already
        # signing: nothing written, no restart (tests/apiserver/test_restart_budget.py).
        "cluster-node-b.example-accept": "update", "cluster-node-b.example-sign": "update"}
    removed = steps({"irsa:hosts": '["b.example"]'}, two)
    assert {n: s for n, s in removed.items() if s != "untouched"} == {
        **{f"cluster-node-a.example-{p}": "delete" for p in PHASES},
    }


def fixed_inputs_script(pulumi_mocks, key_pem: str) -> str:
    public = serialization.load_pem_private_key(key_pem.encode(), None).public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()

    def program():
        ClusterIssuerConfig(
            "cluster",
            ClusterIssuerConfigArgs(
                host=HOST,
                issuer_url=pulumi.Output.from_input(ISSUER),
                key_ids=[oidc.key_id(public)],
                public_keys_pem=[public_pem],
                signing_private_key_pem=pulumi.Output.secret(key_pem),
                api_audiences=("https://kubernetes.default.svc",),
                audience="sts.amazonaws.com",
            ),
        )

    pulumi_mocks.run(program)
    return secret_value(pulumi_mocks.by_name("cluster-apiserver-sign").inputs["stdin"])


def test_same_inputs_give_the_same_stdin_so_a_no_op_up_runs_nothing(pulumi_mocks):
    signing_key_pem = rsa_private_key_pem()
    first = fixed_inputs_script(pulumi_mocks, signing_key_pem)
    pulumi_mocks.fresh()
    second = fixed_inputs_script(pulumi_mocks, signing_key_pem)
    assert first == second
    assert signing_key_pem.strip() in first
