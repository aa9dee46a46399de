"""The fake k3s and kubeadm hosts read flags as the real components do: checked against upstream's own tests.

Expected values come from k3s's and Kubernetes's sources and unit tests (named
in each test), never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from apiserver.distro_hosts import (
    FIXTURES,
    KUBEADM_MANIFEST_FIXTURE,
    apiserver_problem,
    k3s_config_flags,
    k3s_defaults,
    k3s_get_args,
    kubeadm_apiserver_args,
    old_k3s_get_args,
    service_account_flags,
)


def test_k3s_config_and_drop_ins_give_the_flags_k3s_own_parser_test_expects():
    # k3s-io/k3s pkg/configfilearg/parser_test.go, TestParse: testDataOutput, for the keys
    # of this version of testdata/data.yaml (it has no "isfalse").
    flags = k3s_config_flags(FIXTURES / "k3s" / "configfilearg" / "data.yaml")
    assert flags == [
        "--foo-bar=bar-foo",
        "--a-slice=1",
        "--a-slice=1.5",
        "--a-slice=2",
        "--a-slice=",
        "--a-slice=three",
        "--isempty=",
        "-c=b",
        "--islast=true",
        "--b-string=one",
        "--b-string=two",
        "--c-slice=one",
        "--c-slice=two",
        "--c-slice=three",
        "--d-slice=three",
        "--d-slice=four",
        "--e-slice=one",
        "--e-slice=two",
    ]


def test_k3s_reads_only_yaml_drop_ins(tmp_path: Path):
    # dotDFiles: only names ending in .yaml or .yml (any case); irsa's backup is not read.
    (tmp_path / "config.yaml").write_text("a: 1\n")
    (tmp_path / "config.yaml.d").mkdir()
    (tmp_path / "config.yaml.d" / "99-irsa.yaml.irsa-previous").write_text("a: 2\n")
    (tmp_path / "config.yaml.d" / ".irsa-tmp.abc123").write_text("a: 3\n")
    (tmp_path / "config.yaml.d" / "50-x.YML").write_text("b+: 4\n")
    assert k3s_config_flags(tmp_path / "config.yaml") == ["-a=1", "-b=4"]


@pytest.mark.parametrize(
    ("defaults", "extra", "expected"),
    [
        # k3s-io/k3s pkg/util/args_test.go, Test_UnitGetArgs, every case.
        ({"aaa": "A", "bbb": "B", "ccc": "C", "ddd": "d", "eee": "e", "fff": "f", "ggg": "g", "hhh": "h"},
         ["bbb=BB", "ddd=DD", "iii=II"],
         ["--aaa=A", "--bbb=BB", "--ccc=C", "--ddd=DD", "--eee=e", "--fff=f", "--ggg=g", "--hhh=h", "--iii=II"]),
        ({"aaa": "A", "bbb": "B", "ccc": "C", "ddd": "d", "eee": "e", "fff": "f", "ggg": "g", "hhh": "h"},
         ["--bbb=BB", "--ddd=DD", "--iii=II"],
         ["--aaa=A", "--bbb=BB", "--ccc=C", "--ddd=DD", "--eee=e", "--fff=f", "--ggg=g", "--hhh=h", "--iii=II"]),
        ({"aaa": "A", "bbb": "B"}, ["--ccc=C", "--bbb=DD", "--bbb=AA"], ["--aaa=A", "--bbb=DD", "--bbb=AA", "--ccc=C"]),
        ({"aaa": "A", "bbb": "B"}, ["--ccc=C", "--bbb-=DD"], ["--aaa=A", "--bbb=DD", "--bbb=B", "--ccc=C"]),
        ({"aaa": "A", "bbb": "B"}, ["--ccc=C", "--bbb+=DD"], ["--aaa=A", "--bbb=B", "--bbb=DD", "--ccc=C"]),
    ],
)
def test_k3s_get_args_matches_k3s_unit_test(defaults, extra, expected):
    assert k3s_get_args(defaults, extra) == expected


def test_k3s_defaults_fixture_names_k3s_service_account_flags():
    # k3s-io/k3s pkg/daemons/control/server.go, apiServer.
    assert k3s_defaults() == {
        "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
        "service-account-key-file": "/var/lib/rancher/k3s/server/tls/service.key",
        "service-account-signing-key-file": "/var/lib/rancher/k3s/server/tls/service.current.key",
        "api-audiences": "https://kubernetes.default.svc.cluster.local,k3s",
    }


def test_old_k3s_keeps_the_last_value_and_passes_unknown_names_through():
    args = old_k3s_get_args({"a": "A"}, ["a=1", "a=2", "b-=3"])
    assert args == ["--a=2", "--b-=3"]
    with pytest.raises(ValueError, match="unknown flag: --b-"):
        service_account_flags(args)


def test_kubeadm_fixture_is_the_command_kubeadm_builds():
    # kubernetes/kubernetes cmd/kubeadm/app/phases/controlplane/manifests.go, getAPIServerCommand,
    # with kubeadm's defaults (certificatesDir /etc/kubernetes/pki, dnsDomain cluster.local,
    # serviceSubnet 10.96.0.0/12, bindPort 6443, local etcd) and ArgumentsToCommand's sort by name.
    args = kubeadm_apiserver_args(KUBEADM_MANIFEST_FIXTURE.read_text())
    assert args == sorted(args)
    flags = service_account_flags(args)
    assert flags.issuers == ["https://kubernetes.default.svc.cluster.local"]
    assert flags.key_files == ["/etc/kubernetes/pki/sa.pub"]
    assert flags.signing_key_file == "/etc/kubernetes/pki/sa.key"
    assert flags.api_audiences == []
    pod = yaml.safe_load(KUBEADM_MANIFEST_FIXTURE.read_text())
    assert pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_repeated_api_audiences_add_up():
    # --api-audiences is a string slice in kube-apiserver's options: repeated values accumulate.
    flags = service_account_flags(["--api-audiences=a,b", "--api-audiences=c"])
    assert flags.api_audiences == ["a", "b", "c"]


def test_fake_api_server_refuses_what_kube_apiserver_refuses(tmp_path: Path, distro_key):
    def resolve(path: str) -> Path:
        return tmp_path / path.lstrip("/")

    (tmp_path / "k.key").write_text(distro_key.private_pem)
    ok = ["--service-account-issuer=https://a", "--service-account-issuer=https://b",
          "--service-account-key-file=/k.key", "--service-account-signing-key-file=/k.key"]
    assert apiserver_problem(ok, resolve) is None
    # pkg/kubeapiserver/options/authentication.go: "service-account-issuer %q is already specified"
    twice = [*ok, "--service-account-issuer=https://a"]
    assert apiserver_problem(twice, resolve) == "service-account-issuer 'https://a' is already specified"
    missing = [*ok, "--service-account-key-file=/missing.pub"]
    assert "failed to parse service-account key file" in apiserver_problem(missing, resolve)
    assert apiserver_problem(ok[:2], resolve).startswith("service-account-issuer and service-account-signing")
