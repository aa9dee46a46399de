"""irsa:awsAccounts, irsa:issuerAccount and serviceAccounts[i].account / roleArn: one line per problem."""

import json

import pytest

from irsa import settings

REQUIRED = {"irsa:githubOwner": "example-org", "irsa:githubRepository": "oidc-issuer",
            "irsa:host": "10.0.0.5", "aws:region": "eu-west-1"}
DATA = {"name": "data", "assumeRoleArn": "arn:aws:iam::222222222222:role/irsa-deployer"}
GIVEN = "arn:aws:iam::333333333333:role/k8s_apps_reader"


def parse(extra=None):
    return settings.parse({**REQUIRED, **(extra or {})})


def problems(extra) -> list[str]:
    with pytest.raises(settings.SettingsError) as raised:
        parse(extra)
    return raised.value.problems


def config(accounts=None, service_accounts=None, **more):
    found = dict(more)
    if accounts is not None:
        found["irsa:awsAccounts"] = json.dumps(accounts)
    if service_accounts is not None:
        found["irsa:serviceAccounts"] = json.dumps(service_accounts)
    return found


def test_unset_is_one_account_the_stacks_own_named_default():
    s = parse()
    assert s.aws_accounts == (settings.AwsAccount("default"),)
    assert s.aws_accounts[0].is_stack_account and not s.cluster_only
    assert s.issuer_account == "default"
    assert s.aws_account("default").oidc_provider_name("github") == "oidc"
    assert s.aws_account("default").oidc_provider_name("s3") == "oidc-s3"


def test_two_accounts_and_where_each_role_lives():
    s = parse(config(
        [{"name": "default"}, {**DATA, "externalId": "cluster-7", "region": "eu-central-1"}],
        [{"namespace": "apps", "name": "writer", "s3BucketPrefix": "k8s-apps"},
         {"namespace": "data", "name": "loader", "account": "data", "s3BucketPrefix": "k8s-data"}]))
    data = s.aws_account("data")
    assert data == settings.AwsAccount("data", DATA["assumeRoleArn"], "cluster-7", "eu-central-1")
    assert not data.is_stack_account and data.oidc_provider_name("github") == "data/oidc"
    writer, loader = s.service_accounts
    assert (writer.account, loader.account) == ("default", "data")
    assert s.role_resource_name(writer) == "apps/writer"
    assert s.role_resource_name(loader) == "data/data/loader"


def test_the_first_account_is_the_default_for_roles_and_the_issuer():
    s = parse(config([DATA, {"name": "default"}], [{"namespace": "a", "name": "b", "policyArns": []}],
                     **{"irsa:issuerHost": "s3"}))
    assert s.service_accounts[0].account == "data" and s.issuer_account == "data"


def test_an_assumed_issuer_accounts_region_names_the_s3_issuer_url():
    s = parse(config([{**DATA, "region": "us-west-2"}],
                     **{"irsa:issuerHost": "s3", "irsa:issuerBucket": "example-oidc"}))
    assert s.issuer.url == "https://example-oidc.s3.us-west-2.amazonaws.com"


def test_a_cluster_only_stack_takes_given_role_arns():
    s = parse(config([], [{"namespace": "apps", "name": "reader", "roleArn": GIVEN, "testPod": True}]))
    assert s.cluster_only and s.aws_accounts == ()
    (reader,) = s.service_accounts
    assert reader.role_arn == GIVEN and not reader.makes_role


@pytest.mark.parametrize("entry", [
    {"namespace": "apps", "name": "reader"},
    {"namespace": "apps", "name": "reader", "s3BucketPrefix": "k8s-apps"},
    {"namespace": "apps", "name": "reader", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
])
def test_a_cluster_only_stack_refuses_a_role_to_make_naming_roleArn_and_the_example(entry):
    (message,) = problems(config([], [entry]))
    assert message.startswith("irsa:serviceAccounts[0] needs roleArn: irsa:awsAccounts is []")
    assert "examples/account" in message and "\n" not in message
    for field in set(entry) - {"namespace", "name"}:
        assert field in message


@pytest.mark.parametrize("extra, expected", [
    ({"irsa:issuerHost": "s3"}, "the s3 issuer makes AWS resources"),
    ({"irsa:issuerHost": "cloudfront"}, "the cloudfront issuer makes AWS resources"),
    ({"irsa:issuerAccount": "default"}, "irsa:issuerAccount: irsa:awsAccounts is []"),
])
def test_a_cluster_only_stack_refuses_what_would_make_aws_resources(extra, expected):
    found = problems({**config([]), **extra})
    assert any(expected in m for m in found), found


def test_a_cluster_only_stack_needs_aws_region():
    with pytest.raises(settings.SettingsError) as raised:
        settings.parse({k: v for k, v in {**REQUIRED, **config([])}.items() if k != "aws:region"})
    assert raised.value.problems == [
        "irsa:awsAccounts is [] (a cluster-only stack) reads no region from AWS: set aws:region, "
        "the region pods call STS in (pulumi config set aws:region REGION)"]


@pytest.mark.parametrize("accounts, expected", [
    ([{"name": "Data"}], "irsa:awsAccounts[0].name must be lowercase letters"),
    ([{"assumeRoleArn": DATA["assumeRoleArn"]}], "irsa:awsAccounts[0].name must be"),
    (["data"], "irsa:awsAccounts[0] must be an object with a name"),
    ([{"name": "d", "role": "x"}], "irsa:awsAccounts[0] has an unknown field 'role'"),
    ([{"name": "d", "assumeRoleArn": "arn:aws:iam::2222:role/x"}], "irsa:awsAccounts[0].assumeRoleArn must be"),
    ([{"name": "d", "externalId": "abc"}], "irsa:awsAccounts[0].externalId goes with assumeRoleArn"),
    ([{**DATA, "externalId": "a b"}], "irsa:awsAccounts[0].externalId must be 2 to 1224"),
    ([{"name": "default", "region": "eu-west-1"}], "irsa:awsAccounts[0].region is for an account reached"),
    ([{**DATA, "region": "europe"}], "irsa:awsAccounts[0].region must be an AWS region name"),
    ([{"name": "a"}, {"name": "a", "assumeRoleArn": DATA["assumeRoleArn"]}],
     "irsa:awsAccounts names 'a' more than once"),
    ([{"name": "a"}, {"name": "b"}], "only one account can be reached with the stack's own"),
    ([DATA, {**DATA, "name": "other"}], "reaches account 222222222222 more than once"),
])
def test_bad_accounts_are_refused_naming_the_key(accounts, expected):
    found = problems(config(accounts))
    assert any(m.startswith(expected) or expected in m for m in found), found
    assert all("\n" not in m for m in found)


@pytest.mark.parametrize("service_account, expected", [
    ({"account": "nowhere"}, "irsa:serviceAccounts[0].account 'nowhere' is not in irsa:awsAccounts (default)"),
    ({"roleArn": "k8s_apps_reader"}, "irsa:serviceAccounts[0].roleArn must be an IAM role ARN"),
    ({"roleArn": GIVEN, "s3BucketPrefix": "k8s-apps"},
     "irsa:serviceAccounts[0] sets roleArn (a role made elsewhere) and s3BucketPrefix"),
    ({"roleArn": GIVEN, "roleName": "x", "account": "default"},
     "irsa:serviceAccounts[0] sets roleArn (a role made elsewhere) and roleName, account"),
])
def test_bad_role_placement_is_refused(service_account, expected):
    found = problems(config(None, [{"namespace": "apps", "name": "reader", **service_account}]))
    assert any(m.startswith(expected) for m in found), found


def test_issuer_account_must_be_listed():
    assert problems({"irsa:issuerAccount": "data", "irsa:issuerHost": "s3"}) == [
        "irsa:issuerAccount 'data' is not in irsa:awsAccounts (default)"]


def test_role_names_are_unique_per_account_only():
    same_name = [{"namespace": "a", "name": "b", "roleName": "shared"},
                 {"namespace": "c", "name": "d", "roleName": "shared", "account": "data"}]
    parse(config([{"name": "default"}, DATA], same_name))
    found = problems(config([{"name": "default"}, DATA],
                            [same_name[0], {**same_name[1], "account": "default"}]))
    assert found == ["irsa:serviceAccounts gives the role name 'shared' to more than one service "
                     "account in account default"]


def test_tags_fit_an_s3_objects_ten():
    tags = json.dumps({f"k{i}": "v" for i in range(10)})
    parse({"irsa:tags": tags})
    assert problems({"irsa:tags": tags, "irsa:issuerHost": "s3"}) == [
        "irsa:tags may hold at most 9 tags with a s3 issuer: S3 allows 10 per object and the "
        "issuer documents carry irsa/document; got 10"]


def test_check_config_accepts_and_refuses_the_same(tmp_path):
    import shutil

    import yaml

    from conftest import ROOT
    from irsa import check_config

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC5ABYbR/rS9PYaBNFoMWXDDg16AQ+G5y7IOVQAoXwWd"
    base = {**REQUIRED, "irsa:sshHostKey": host_key, "irsa:awsAccounts": []}

    def check(service_accounts):
        path = tmp_path / "Pulumi.x.yaml"
        path.write_text(yaml.safe_dump({"config": {**base, "irsa:serviceAccounts": service_accounts}}))
        return check_config.check(tmp_path, path).problems

    assert check([{"namespace": "apps", "name": "reader", "roleArn": GIVEN}]) == []
    refused = check([{"namespace": "apps", "name": "reader", "s3BucketPrefix": "k8s-apps"}])
    assert refused == problems(config([], [{"namespace": "apps", "name": "reader",
                                            "s3BucketPrefix": "k8s-apps"}]))
    assert len(refused) == 1 and "roleArn" in refused[0]
