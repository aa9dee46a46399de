"""The ClusterIssuerConfig component under Pulumi mocks: what Pulumi would run on the host, and when."""

from __future__ import annotations

from dataclasses import replace

import pulumi
from conftest import pem_block, rsa_private_key_pem, secret_value
from cryptography.hazmat.primitives import serialization

from irsa import apiserver, oidc
from irsa.components.cluster import ClusterIssuerConfig, ClusterIssuerConfigArgs
from irsa.components.issuer import OidcIssuer, OidcIssuerArgs
from irsa.settings import HostSettings, Secret

COMMAND = "command:remote:Command"
ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
SSH_KEY = pem_block("OPENSSH PRIVATE KEY", "not-a-real-key")
HOST = HostSettings(
    distribution="microk8s",
    host="192.0.2.10",
    ssh_user="ubuntu",
    ssh_port=2222,
    ssh_private_key=Secret(SSH_KEY),
    key_dir="/opt/k8s",
    ready_timeout_seconds=120,
    restart_workloads=False,
)


def make(host: HostSettings = HOST, issuer_args: OidcIssuerArgs | None = None):
    """An OidcIssuer and the ClusterIssuerConfig fed from it, as ``__main__`` wires them."""
    issuer = OidcIssuer(
        "issuer",
        issuer_args
        or OidcIssuerArgs("example-org", "oidc-issuer", "main", False, ("primary",), 2048),
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
        "command_urn": cluster.command.urn,
        "key_ids": issuer.key_ids,
        "signing_private_key_pem": issuer.signing_private_key_pem,
    }


def test_script_travels_as_secret_stdin_and_modes_are_on_the_command_line(pulumi_mocks):
    out = pulumi_mocks.run(make)
    command = pulumi_mocks.by_name("cluster-apiserver")

    script = secret_value(command.inputs["stdin"])
    private_pem = out["signing_private_key_pem"].value
    assert private_pem.strip() in script
    assert f"IRSA_ISSUER={ISSUER}" in script
    assert f"IRSA_KEY_IDS=({out['key_ids'].value[0]})" in script
    assert "IRSA_READY_TIMEOUT=120" in script
    assert command.inputs["create"] == command.inputs["update"] == apiserver.command_line("apply")
    assert command.inputs["delete"] == apiserver.command_line("revert")
    for line in (command.inputs["create"], command.inputs["delete"]):
        assert "PRIVATE" not in line and "IRSA_" not in line
    assert "stdin" in command.additional_secret_outputs
    assert command.inputs["logging"] == "stdoutAndStderr"


def test_no_triggers_and_a_replacement_reverts_before_it_applies(pulumi_mocks):
    pulumi_mocks.run(make)
    for command in pulumi_mocks.of_type(COMMAND):
        assert "triggers" not in command.inputs
        assert command.delete_before_replace is True, command.name


def connection_of(recorder) -> dict:
    connection = secret_value(recorder.by_name("cluster-apiserver").inputs["connection"])
    return {k: connection[k] for k in ("host", "port", "user", "privateKey") if k in connection}


def test_connection_keeps_the_ssh_key_secret(pulumi_mocks):
    pulumi_mocks.run(make)
    assert connection_of(pulumi_mocks) == {
        "host": "192.0.2.10", "port": 2222, "user": "ubuntu", "privateKey": SSH_KEY,
    }


def test_without_a_key_the_agent_is_used(pulumi_mocks):
    pulumi_mocks.run(lambda: make(replace(HOST, ssh_private_key=None)))
    assert connection_of(pulumi_mocks) == {"host": "192.0.2.10", "port": 2222, "user": "ubuntu"}


def test_waits_for_the_published_issuer_files(pulumi_mocks):
    pulumi_mocks.run(make)
    files = {r.urn for r in pulumi_mocks.of_type("github:index/repositoryFile:RepositoryFile")}
    command = pulumi_mocks.by_name("cluster-apiserver")
    assert len(files) == 2
    assert files <= set(command.dependencies)


def test_kubeconfig_is_read_after_the_change_and_kept_secret(pulumi_mocks):
    out = pulumi_mocks.run(make)
    read = pulumi_mocks.by_name("cluster-kubeconfig")

    assert out["kubeconfig"].secret is True
    assert out["kubeconfig"].value.startswith("apiVersion: v1")
    assert out["command_urn"].value in read.dependencies
    assert read.inputs["create"] == apiserver.kubeconfig_command_line("microk8s")
    assert "microk8s config" in read.inputs["create"]
    assert "delete" not in read.inputs
    assert read.inputs["logging"] == "none"
    assert {"stdout", "stderr"} <= set(read.additional_secret_outputs)


def test_children_are_named_and_parented_under_the_component(pulumi_mocks):
    pulumi_mocks.run(make)
    component = pulumi_mocks.one("irsa:cluster:ClusterIssuerConfig")
    commands = pulumi_mocks.of_type(COMMAND)
    assert sorted(c.name for c in commands) == ["cluster-apiserver", "cluster-kubeconfig"]
    assert all(c.parent == component.urn for c in commands)


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
    return secret_value(pulumi_mocks.by_name("cluster-apiserver").inputs["stdin"])


def test_same_inputs_give_the_same_stdin_so_a_no_op_up_runs_nothing(pulumi_mocks):
    signing_key_pem = rsa_private_key_pem()
    first = fixed_inputs_script(pulumi_mocks, signing_key_pem)
    pulumi_mocks.fresh()
    second = fixed_inputs_script(pulumi_mocks, signing_key_pem)
    assert first == second
    assert signing_key_pem.strip() in first
