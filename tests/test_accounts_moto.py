"""Two AWS accounts in moto: the program's recorded providers and roles created through the
credentials each resource's AWS provider would use, and the trust STS would evaluate.

The graph comes from the real __main__.py under mocks (two accounts; the second
reached by assuming a role). Each OIDC provider, role and role policy is then
created in moto with the credentials of its provider: the stack's own for the
default provider, and for the explicit provider those AssumeRole returns for its
``assumeRoles`` (role ARN, external id, session name) — moto puts those calls in
the role's account. moto checks no trust policy; the project's evaluator does,
with the provider ARN STS would look up: the one in the role's own account.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from support import tokens
from support.moto_server import ACCOUNT_ID, SETUP_CREDENTIALS, shared_server

from conftest import run_program
from irsa.verify import trust
from irsa.iam_names import stack_prefix
from test_accounts import DATA_ID, DATA_ROLE, TWO

OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def temporary(credentials: dict) -> dict[str, str]:
    return {"aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


@pytest.fixture
def built(pulumi_mocks):
    """The recorded graph, created in moto account by account.

    Yields the server, the recorder, credentials by account id and the created providers' ARNs.
    """
    pulumi_mocks.run(lambda: run_program(TWO))
    server = shared_server()
    server.reset()
    by_provider: dict[str | None, dict[str, str]] = {None: SETUP_CREDENTIALS}
    for provider in pulumi_mocks.of_type("pulumi:providers:aws"):
        (assume,) = json.loads(provider.inputs["assumeRoles"])
        answer = server.client("sts").assume_role(
            RoleArn=assume["roleArn"], RoleSessionName=assume["sessionName"], ExternalId=assume["externalId"])
        by_provider[provider.name] = temporary(answer["Credentials"])

    def iam_for(reg):
        provider = pulumi_mocks.provider_of(reg)
        return server.client("iam", by_provider[None if provider is None else provider.name])

    created = []
    for reg in pulumi_mocks.of_type(OIDC):
        created.append(iam_for(reg).create_open_id_connect_provider(
            Url=reg.inputs["url"], ClientIDList=reg.inputs["clientIdLists"],
            ThumbprintList=reg.inputs.get("thumbprintLists") or [])["OpenIDConnectProviderArn"])
    for reg in pulumi_mocks.of_type(ROLE):
        iam_for(reg).create_role(RoleName=reg.inputs["name"],
                                 AssumeRolePolicyDocument=reg.inputs["assumeRolePolicy"])
    for reg in pulumi_mocks.of_type(POLICY):
        role = pulumi_mocks.by_urn(reg.parent)
        role_name = next(r.inputs["name"] for r in pulumi_mocks.of_type(ROLE) if r.parent == role.urn)
        iam_for(reg).put_role_policy(RoleName=role_name, PolicyName=reg.inputs["name"],
                                     PolicyDocument=reg.inputs["policy"])
    credentials = {ACCOUNT_ID: SETUP_CREDENTIALS, DATA_ID: by_provider["aws-data"]}
    yield server, pulumi_mocks, credentials, sorted(created)
    server.reset()


def test_assuming_the_role_reaches_the_second_account(built):
    server, _, credentials, _ = built
    identity = server.client("sts", credentials[DATA_ID]).get_caller_identity()
    assert identity["Account"] == DATA_ID
    assert identity["Arn"] == f"arn:aws:sts::{DATA_ID}:assumed-role/irsa-deployer/irsa-irsa-test"
    assert DATA_ROLE.split(":")[4] == DATA_ID


def test_each_account_holds_exactly_its_own_oidc_provider(built):
    server, r, credentials, created = built
    issuer = r.stack_outputs["issuerUrl"].value
    for account, creds in credentials.items():
        arns = [p["Arn"] for p in server.client("iam", creds).list_open_id_connect_providers()[
            "OpenIDConnectProviderList"]]
        assert arns == [f"arn:aws:iam::{account}:oidc-provider/{issuer.removeprefix('https://')}"]
    # What the stack exports is what IAM made.
    assert sorted(r.stack_outputs["oidcProviderArns"].value.values()) == created


def test_each_role_lives_in_its_account_and_trusts_only_that_accounts_provider(built):
    server, r, credentials, created = built
    issuer = r.stack_outputs["issuerUrl"].value
    prefix = issuer.removeprefix("https://")
    roles = r.stack_outputs["serviceAccountRoles"].value
    assert {key: arn.split(":")[4] for key, arn in roles.items()} == {
        "default/aws-cli": ACCOUNT_ID, "etl/loader": DATA_ID}
    for (namespace, name), home, other in ((("default", "aws-cli"), ACCOUNT_ID, DATA_ID),
                                           (("etl", "loader"), DATA_ID, ACCOUNT_ID)):
        role_name = roles[f"{namespace}/{name}"].rsplit("/", 1)[1]
        stored = server.client("iam", credentials[home]).get_role(RoleName=role_name)["Role"]
        assert stored["Arn"] == roles[f"{namespace}/{name}"], "the exported ARN is the created role's"
        with pytest.raises(ClientError, match="NoSuchEntity"):
            server.client("iam", credentials[other]).get_role(RoleName=role_name)
        document = trust.parse_document(stored["AssumeRolePolicyDocument"])
        claims = tokens.claims(issuer, namespace, name, "sts.amazonaws.com")
        context = trust.condition_context(issuer, claims, "sts.amazonaws.com")
        # STS uses the provider of the token's issuer in the role's own account.
        assert trust.evaluate(document, f"arn:aws:iam::{home}:oidc-provider/{prefix}", context).allowed
        assert not trust.evaluate(document, f"arn:aws:iam::{other}:oidc-provider/{prefix}", context).allowed


def test_web_identity_credentials_of_the_data_role_act_in_the_data_account(built):
    server, r, _, _ = built
    issuer = r.stack_outputs["issuerUrl"].value
    token = tokens.sign(tokens.claims(issuer, "etl", "loader", "sts.amazonaws.com"), KEY)
    answer = server.client("sts").assume_role_with_web_identity(
        RoleArn=r.stack_outputs["serviceAccountRoles"].value["etl/loader"],
        RoleSessionName="etl-loader", WebIdentityToken=token)
    identity = server.client("sts", temporary(answer["Credentials"])).get_caller_identity()
    assert identity["Account"] == DATA_ID
    assert identity["Arn"] == f"arn:aws:sts::{DATA_ID}:assumed-role/{stack_prefix('irsa', 'test')}_etl_loader/etl-loader"
