"""Shared test fixtures: Pulumi mocks with realistic state, and a recording monitor.

Every Pulumi test takes the ``pulumi_mocks`` fixture. It installs fresh mocks,
checks that they are really active (so a test cannot pass against a real
engine or none), and returns a ``Recorder`` of every resource registration:
type, name, parent, dependencies and options, for graph and ordering checks.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as pulumi_mocks_module
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from support import tls_state

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ACCOUNT_ID = "123456789012"
# What the mocked tls.getCertificate returns for any URL: a root and a leaf.
MOCK_ROOT_SHA1 = "a" * 40
MOCK_LEAF_SHA1 = "b" * 40

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pem_block(kind: str, body: str) -> str:
    """A PEM-shaped block made at run time, so no key-like text is ever committed."""
    dashes = "-" * 5
    return f"{dashes}BEGIN {kind}{dashes}\n{body}\n{dashes}END {kind}{dashes}\n"


def rsa_private_key_pem(bits: int = 2048) -> str:
    """A fresh RSA private key in PKCS#1 PEM, as the tls provider returns it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


# pulumi-tls certificate resources whose state the mocks make for real.
TLS_CERTIFICATES = {
    "tls:index/selfSignedCert:SelfSignedCert": tls_state.self_signed_cert,
    "tls:index/certRequest:CertRequest": tls_state.cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": tls_state.locally_signed_cert,
}

# What a mocked StackReference to the irsa stack holds.
IRSA_STACK_OUTPUTS = {
    "issuerUrl": "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main",
    "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/"
    "raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main",
    "audience": "sts.amazonaws.com",
}


# What the mocked aws.getRegion answers (when aws:region is not set).
MOCK_REGION = "eu-west-3"


class UnknownInvoke(Exception):
    """An invoke (data source) the mocks have no realistic answer for."""


class IrsaMocks(pulumi.runtime.Mocks):
    """Provider behaviour close enough to real for the program's logic to be exercised.

    ARNs and account ids name the account the resource's AWS provider reaches:
    ACCOUNT_ID for the default provider, the account of ``assumeRoles[0].roleArn``
    for an explicit one (as STS would after AssumeRole).
    """

    def __init__(self) -> None:
        super().__init__()
        self.provider_accounts: dict[str, str] = {}

    def account_of(self, provider: str | None) -> str:
        """The account id behind a provider reference ("URN::ID"; empty: the default provider)."""
        return self.provider_accounts.get((provider or "").rsplit("::", 1)[-1], ACCOUNT_ID)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state: dict[str, Any] = dict(args.inputs)
        resource_id = f"{args.name}-id"
        account = self.account_of(args.provider)
        if args.typ == "pulumi:providers:aws" and args.inputs.get("assumeRoles"):
            roles = json.loads(args.inputs["assumeRoles"])
            self.provider_accounts[resource_id] = roles[0]["roleArn"].split(":")[4]
        if args.typ == "pulumi:pulumi:StackReference":
            state = {"name": args.name, "outputs": IRSA_STACK_OUTPUTS, "secretOutputNames": []}
        elif args.typ == "tls:index/privateKey:PrivateKey":
            pem = rsa_private_key_pem(int(args.inputs.get("rsaBits", 2048)))
            private = serialization.load_pem_private_key(pem.encode(), None)
            state |= {
                "privateKeyPem": pem,
                "privateKeyPemPkcs8": private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
                "publicKeyPem": private.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode(),
            }
        elif args.typ == "github:index/repository:Repository":
            state |= {"fullName": f"example-org/{args.inputs['name']}", "defaultBranch": "main"}
        elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            url = args.inputs["url"].removeprefix("https://")
            state |= {"arn": f"arn:aws:iam::{account}:oidc-provider/{url}"}
        elif args.typ == "aws:iam/role:Role":
            role_name = args.inputs.get("name", args.name)
            state |= {"arn": f"arn:aws:iam::{account}:role/{role_name}", "name": role_name}
            resource_id = role_name
        elif args.typ == "command:remote:Command":
            # What `microk8s config` prints, in short: it names the host's own address.
            state |= {"stdout": "apiVersion: v1\nkind: Config\nclusters:\n- name: microk8s-cluster\n"
                      "  cluster:\n    server: https://10.0.0.5:16443\n", "stderr": ""}
        elif args.typ in TLS_CERTIFICATES:
            # Real X.509 objects made from the inputs, as the tls provider would (support/tls_state.py).
            state |= TLS_CERTIFICATES[args.typ](dict(args.inputs))
        elif args.typ == "aws:s3/bucket:Bucket":
            bucket = args.inputs.get("bucket") or f"{args.name}-0123abc"
            region = runtime_config.get_config("aws:region") or "us-east-1"
            state |= {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                      "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com"}
            resource_id = bucket
        elif args.typ == "aws:cloudfront/originAccessControl:OriginAccessControl":
            resource_id = "E2OACMOCK0001"
        elif args.typ == "aws:cloudfront/distribution:Distribution":
            resource_id = "E1MOCKDIST0001"
            state |= {"arn": f"arn:aws:cloudfront::{account}:distribution/{resource_id}",
                      "domainName": "d111111abcdef8.cloudfront.net"}
        elif args.typ == "aws:acm/certificate:Certificate":
            domain = args.inputs["domainName"]
            state |= {"arn": f"arn:aws:acm:us-east-1:{account}:certificate/mock",
                      "domainValidationOptions": [{
                          "domainName": domain, "resourceRecordName": f"_abc.{domain}.",
                          "resourceRecordType": "CNAME",
                          "resourceRecordValue": "_xyz.acm-validations.aws."}]}
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "tls:index/getCertificate:getCertificate":
            return {
                "certificates": [
                    {"sha1Fingerprint": MOCK_ROOT_SHA1, "isCa": True, "subject": "CN=Root"},
                    {"sha1Fingerprint": MOCK_LEAF_SHA1, "isCa": False, "subject": "CN=leaf"},
                ],
                "id": args.args.get("url", ""),
            }
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = self.account_of(args.provider)
            return {"accountId": account, "arn": f"arn:aws:iam::{account}:user/ci",
                    "userId": "AIDAMOCK", "id": account}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": MOCK_REGION, "region": MOCK_REGION, "id": MOCK_REGION,
                    "endpoint": f"ec2.{MOCK_REGION}.amazonaws.com", "description": "Mocked region"}
        # An invoke these mocks do not know would silently answer {} and let a
        # test pass on made-up nothing: fail instead, naming the token.
        raise UnknownInvoke(f"the test mocks do not know the invoke {args.token}: add it to IrsaMocks.call")


@dataclass
class Registration:
    """One RegisterResource request, as the engine would have seen it."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    delete_before_replace: bool
    additional_secret_outputs: list[str]
    ignore_changes: list[str]
    replace_on_changes: list[str]
    inputs: dict[str, Any]
    custom: bool
    # Each alias as the SDK sends it (an alias spec): its set fields, e.g. name, parentUrn.
    aliases: list[dict[str, Any]] = field(default_factory=list)
    # The provider reference ("URN::ID", "" for the default provider) of a custom
    # resource, and the providers map a component passes on to its children.
    provider: str = ""
    providers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """An Output's final value and whether Pulumi keeps it secret."""

    value: Any
    secret: bool


@dataclass
class Recorder:
    """The registrations and stack outputs of one mocked program run."""

    registrations: list[Registration] = field(default_factory=list)
    stack_outputs: dict[str, Resolved] = field(default_factory=dict)
    # What the real engine would have refused (e.g. a duplicate URN); checked after each run.
    engine_errors: list[str] = field(default_factory=list)

    def fresh(self) -> None:
        """Forget the last run, as a new ``pulumi up`` of the same program would start."""
        self.registrations.clear()
        self.stack_outputs.clear()
        self.engine_errors.clear()
        install_mocks(self, runtime_settings.get_project())

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def by_name(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def run(self, make: Callable[[], Mapping[str, Any] | None]) -> dict[str, Resolved]:
        """Run ``make`` under the mocks and wait until every registration is done.

        ``make`` returns named Outputs (or nothing); the result maps each name
        to its resolved value and whether it is secret. Assertions belong after
        this returns, when the whole graph has been registered.
        """
        resolved: dict[str, Resolved] = {}

        async def resolve(value: Any) -> Resolved:
            output = pulumi.Output.from_input(value)
            return Resolved(await output.future(), await output.is_secret())

        async def settle(outputs: Mapping[str, Any]) -> None:
            for key, value in outputs.items():
                resolved[key] = await resolve(value)
            # What the program exported with pulumi.export.
            for key, value in runtime_settings.get_root_resource().outputs.items():
                self.stack_outputs[key] = await resolve(value)

        @pulumi.runtime.test
        def program():
            return pulumi.Output.from_input(settle(make() or {}))

        program()
        assert not self.engine_errors, "the Pulumi engine would refuse this program:\n" + "\n".join(
            self.engine_errors)
        return resolved

    def provider_of(self, registration: Registration) -> Registration | None:
        """The provider resource a custom resource was registered with; None for the default one."""
        if not registration.provider:
            return None
        urn = registration.provider.split("::", 1)[0] if registration.provider.count("::") == 1 \
            else registration.provider.rsplit("::", 1)[0]
        return self.by_urn(urn)

    def all_dependencies(self, registration: Registration) -> set[str]:
        deps = set(registration.dependencies)
        for urns in registration.property_dependencies.values():
            deps |= set(urns)
        return deps


class RecordingMonitor(pulumi_mocks_module.MockMonitor):
    """MockMonitor that keeps each request, so tests can inspect parents and dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks, recorder: Recorder):
        super().__init__(mocks)
        self.recorder = recorder
        # The SDK registers from several threads at once: claim each URN under a lock.
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            duplicate = urn in self._claimed
            self._claimed.add(urn)
        if duplicate:
            # The engine's words (pkg/resource/deploy/step_generator.go).
            message = f"Duplicate resource URN '{urn}'; try giving it a unique name"
            self.recorder.engine_errors.append(message)
            raise ValueError(message)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            self.recorder.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                    delete_before_replace=request.deleteBeforeReplace,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    ignore_changes=list(request.ignoreChanges),
                    replace_on_changes=list(request.replaceOnChanges),
                    inputs=inputs,
                    custom=request.custom,
                    aliases=[{f.name: v for f, v in a.spec.ListFields()} if a.HasField("spec")
                             else {"urn": a.urn} for a in request.aliases],
                    provider=request.provider,
                    providers=dict(request.providers),
                )
            )
        return response

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self.recorder.registrations.append(
            Registration(
                type=request.type, name=request.name, urn=response.urn, parent=request.parent,
                dependencies=list(request.dependencies), property_dependencies={},
                delete_before_replace=False, additional_secret_outputs=[], ignore_changes=[],
                replace_on_changes=[], inputs=rpc.deserialize_properties(request.properties),
                custom=True, provider=request.provider,
            )
        )
        return response


def install_mocks(recorder: Recorder, project: str) -> None:
    """Fresh mocks and an empty engine, recording into ``recorder``."""
    runtime_settings.set_root_resource(None)
    monitor = RecordingMonitor(IrsaMocks(), recorder)
    pulumi.runtime.set_mocks(IrsaMocks(), project=project, stack="test", preview=False, monitor=monitor)
    # Guard: a test must never run against anything but these mocks.
    assert runtime_settings.get_monitor() is monitor


@pytest.fixture
def pulumi_mocks(request):
    """Fresh Pulumi mocks for one test; returns the Recorder of what was registered.

    The project is ``irsa`` unless the test is marked ``pulumi_project(NAME)``.
    """
    marker = request.node.get_closest_marker("pulumi_project")
    recorder = Recorder()
    install_mocks(recorder, marker.args[0] if marker else "irsa")
    yield recorder
    runtime_config.set_all_config({}, [])


def secret_value(value: Any) -> Any:
    """The value inside a recorded secret input; fails unless it really is a secret."""
    assert rpc.is_rpc_secret(value), f"not a secret: {str(value)[:80]}"
    return rpc.unwrap_rpc_secret(value)


def stack_file_config(path: Path) -> dict[str, str]:
    """A stack file's config the way the Pulumi CLI passes it to the program.

    Strings stay as they are; every other value is JSON, as with ``PULUMI_CONFIG``.
    """
    document = yaml.safe_load(path.read_text()) or {}
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (document.get("config") or {}).items()
    }


def run_program(config: dict[str, str], secret_keys: list[str] | None = None,
                program: Path = ROOT / "__main__.py") -> None:
    """Run a real Pulumi program file with this config (call inside ``Recorder.run``)."""
    runtime_config.set_all_config(config, secret_keys or [])
    cwd = os.getcwd()
    os.chdir(program.parent)
    try:
        runpy.run_path(str(program), run_name="__main__")
    finally:
        os.chdir(cwd)
