"""Run the real __main__.py under minimal Pulumi mocks and print what it registered, as JSON.

A standalone script, so that it runs in any venv that has only the program's own
packages (tests/test_floors.py runs it with the lowest versions pyproject.toml
admits, and with the locked ones, and compares). Usage:

    python program_under_mocks.py PROJECT_DIR STACK_FILE

It prints one JSON object: the sorted ``[type, name]`` pairs of every registered
resource and the names of the stack's outputs. Any exception is a failure (exit 1).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import pulumi
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import tls_state  # noqa: E402  (the tests' real X.509 state for the tls resources)

ACCOUNT_ID = "123456789012"
CERTIFICATES = {
    "tls:index/selfSignedCert:SelfSignedCert": tls_state.self_signed_cert,
    "tls:index/certRequest:CertRequest": tls_state.cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": tls_state.locally_signed_cert,
}
REGISTERED: list[tuple[str, str]] = []
KUBECONFIG = ("apiVersion: v1\nkind: Config\nclusters:\n- name: microk8s-cluster\n"
              "  cluster:\n    server: https://10.0.0.5:16443\n")


def _rsa_state(bits: int) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"privateKeyPem": private, "privateKeyPemPkcs8": pkcs8, "publicKeyPem": public}


class Mocks(pulumi.runtime.Mocks):
    """Just enough provider state for the example stack's program to run to the end."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        REGISTERED.append((args.typ, args.name))
        state = dict(args.inputs)
        if args.typ == "tls:index/privateKey:PrivateKey":
            state |= _rsa_state(int(args.inputs.get("rsaBits", 2048)))
        elif args.typ in CERTIFICATES:
            state |= CERTIFICATES[args.typ](dict(args.inputs))
        elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/" + args.inputs["url"].removeprefix("https://")
        elif args.typ == "aws:iam/role:Role":
            name = args.inputs.get("name", args.name)
            state |= {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "name": name}
        elif args.typ == "command:remote:Command":
            state |= {"stdout": KUBECONFIG, "stderr": ""}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "command:local:run":  # the kubeconfig, read from the first node each run
            return {"stdout": KUBECONFIG, "stderr": "", "command": args.args.get("command", "")}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci", "userId": "AIDA"}
        if args.token == "tls:index/getCertificate:getCertificate":
            return {"certificates": [{"sha1Fingerprint": "A" * 40, "isCa": True, "subject": "CN=Root"}],
                    "id": args.args.get("url", "")}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}


def stack_config(stack_file: Path) -> dict[str, str]:
    """The stack file's values as the CLI hands them over: strings as they are, the rest JSON."""
    document = yaml.safe_load(stack_file.read_text()) or {}
    return {key: value if isinstance(value, str) else json.dumps(value)
            for key, value in (document.get("config") or {}).items()}


def main(project_dir: Path, stack_file: Path) -> int:
    pulumi.runtime.set_mocks(Mocks(), project="irsa", stack="floors", preview=False)
    runtime_config.set_all_config(stack_config(stack_file), [])
    outputs: list[str] = []

    @pulumi.runtime.test
    def program():
        os.chdir(project_dir)
        sys.path.insert(0, str(project_dir))
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        outputs.extend(sorted(runtime_settings.get_root_resource().outputs))
        return pulumi.Output.from_input(None)

    program()
    print(json.dumps({"resources": sorted(REGISTERED), "outputs": outputs}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
