"""Settings: every key decoded, defaulted and validated before any resource exists."""

import hashlib
import json
from pathlib import Path

import pytest

from conftest import pem_block, stack_file_config
from irsa import settings

DEV_DIGEST = hashlib.sha256(b"irsa/dev").hexdigest()[:6]

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {
    "irsa:githubOwner": "example-org",
    "irsa:githubRepository": "oidc-issuer",
    "irsa:host": "10.0.0.5",
}


def parse(extra=None, secret=()):
    return settings.parse({**REQUIRED, **(extra or {})}, secret)


def accounts(*entries):
    return {"irsa:serviceAccounts": json.dumps(list(entries))}


def test_defaults_fill_every_optional_key():
    s = parse()
    assert s.issuer.url == "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
    assert s.issuer.create_repository is False
    assert s.keys.names == ("primary",) and s.keys.bits == 2048
    assert s.tokens.audience == "sts.amazonaws.com"
    assert s.tokens.api_audiences == ("https://kubernetes.default.svc",)
    assert s.tokens.expiration_seconds == 86400
    assert s.tokens.client_ids == ("sts.amazonaws.com",)
    assert s.host.distribution == "microk8s" and s.host.ssh_user == "ubuntu"
    assert s.host.ssh_port == 22 and s.host.key_dir == "/opt/k8s"
    assert s.host.ready_timeout_seconds == 300 and s.host.restart_workloads is False
    assert s.host.ssh_private_key is None and s.kubeconfig is None
    assert s.thumbprints == ("auto",)
    assert s.service_accounts == ()


def test_values_are_decoded_from_pulumis_raw_strings():
    s = parse({
        "irsa:keyBits": "4096", "irsa:sshPort": "2222", "irsa:createRepository": "true",
        "irsa:signingKeys": '["next","primary"]', "irsa:thumbprints": "[]",
        "irsa:extraClientIds": '["sts.amazonaws.com","other"]',
        **accounts({"namespace": "apps", "name": "uploader", "policyArns": [
            "arn:aws:iam::aws:policy/ReadOnlyAccess"], "policy": {"Statement": [{"Effect": "Allow"}]}}),
    })
    assert s.keys.bits == 4096 and s.host.ssh_port == 2222
    assert s.issuer.create_repository is True
    assert s.keys.names == ("next", "primary")
    assert s.thumbprints == ()
    assert s.tokens.client_ids == ("sts.amazonaws.com", "other")
    (account,) = s.service_accounts
    assert account.key == "apps/uploader" and account.role_name is None
    assert s.role_name_of(account, "irsa", "dev") == f"irsa-dev-{DEV_DIGEST}_apps_uploader"
    assert account.policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert account.has_permissions


def test_bare_keys_and_other_namespaces_are_accepted():
    s = settings.parse({"githubOwner": "o", "githubRepository": "r", "host": "h", "aws:region": "eu-west-1"})
    assert s.issuer.github_owner == "o"


def test_secrets_are_kept_out_of_repr():
    key = pem_block("OPENSSH PRIVATE KEY", "secretbody")
    s = parse({"irsa:sshPrivateKey": key, "irsa:kubeconfig": "apiVersion: v1"},
              {"irsa:sshPrivateKey", "irsa:kubeconfig"})
    assert s.host.ssh_private_key.value == key
    assert "secretbody" not in repr(s) and "secretbody" not in str(s.host.ssh_private_key)
    assert "apiVersion" not in repr(s)


def test_thumbprints_are_normalised_to_lowercase():
    s = parse({"irsa:thumbprints": json.dumps(["auto", "A" * 40])})
    assert s.thumbprints == ("auto", "a" * 40)


def test_wildcard_allowed_explicitly():
    s = parse(accounts({"namespace": "batch", "name": "job-*", "allowWildcard": True,
                        "s3BucketPrefix": "batch-jobs"}))
    (account,) = s.service_accounts
    assert account.is_pattern and s.role_name_of(account, "p", "s") == f"p-s-{hashlib.sha256(b'p/s').hexdigest()[:6]}_batch_job-+"


def test_all_problems_are_reported_together():
    with pytest.raises(settings.SettingsError) as err:
        settings.parse({"irsa:keyBits": "1000", "irsa:sshPort": "0"})
    problems = err.value.problems
    assert len(problems) == 5
    assert {p.split()[0] for p in problems} == {
        "irsa:githubOwner", "irsa:githubRepository", "irsa:host", "irsa:keyBits", "irsa:sshPort"}


BAD = [
    ({"irsa:hots": "x"}, "irsa:hots is not a configuration key of this project (did you mean irsa:hosts?)"),
    ({"irsa:keyBits": "1000"}, "irsa:keyBits must be one of 2048, 3072 or 4096, got 1000"),
    ({"irsa:keyBits": "big"}, "irsa:keyBits must be a whole number, got 'big'"),
    ({"irsa:keyBits": "true"}, "irsa:keyBits must be a whole number, got true"),
    ({"irsa:createRepository": "yes"}, "irsa:createRepository must be true or false, got 'yes'"),
    ({"irsa:signingKeys": '"primary"'}, 'irsa:signingKeys must be a list, got "primary"'),
    ({"irsa:signingKeys": "[1]"}, "irsa:signingKeys must be a list of strings, got 1"),
    ({"irsa:signingKeys": "[]"}, "irsa:signingKeys must list at least one key name"),
    ({"irsa:signingKeys": '["Primary_Key"]'}, "irsa:signingKeys entry 'Primary_Key' must be lowercase"),
    ({"irsa:signingKeys": '["a","b","a"]'}, "irsa:signingKeys names 'a' more than once"),
    ({"irsa:thumbprints": '["abc"]'}, "irsa:thumbprints entry 'abc' must be \"auto\" or a SHA-1"),
    ({"irsa:thumbprints": json.dumps(["AA:" * 19 + "AA"])}, "must be \"auto\" or a SHA-1 fingerprint of 40 hex digits"),
    ({"irsa:thumbprints": json.dumps(["auto"] * 6)}, "irsa:thumbprints may hold at most 5 entries, got 6"),
    ({"irsa:host": ""}, "irsa:host is required (or irsa:hosts for several control-plane nodes)"),
    ({"irsa:host": "ubuntu@node1"}, "irsa:host must be a host name or IP address (no spaces, no user@ or :port)"),
    ({"irsa:sshPort": "70000"}, "irsa:sshPort must be between 1 and 65535, got 70000"),
    ({"irsa:sshUser": "Bad User"}, "irsa:sshUser must be a login name, got 'Bad User'"),
    ({"irsa:distribution": "k0s"}, "irsa:distribution must be one of microk8s, k3s, kubeadm, got 'k0s'"),
    ({"irsa:keyDir": "opt/k8s"}, "irsa:keyDir must be an absolute, normalised directory path"),
    ({"irsa:keyDir": "/opt/../etc"}, "irsa:keyDir must be an absolute, normalised directory path"),
    ({"irsa:keyDir": "/opt/k 8s"}, "irsa:keyDir must be an absolute"),
    ({"irsa:readyTimeoutSeconds": "5"}, "irsa:readyTimeoutSeconds must be between 10 and 3600, got 5"),
    ({"irsa:tokenExpirationSeconds": "599"}, "irsa:tokenExpirationSeconds must be between 600 and 86400, got 599"),
    ({"irsa:audience": ""}, "irsa:audience must be a non-empty string without spaces"),
    ({"irsa:apiAudiences": "[]"}, "irsa:apiAudiences must list at least one audience"),
    ({"irsa:githubOwner": "-bad-"}, "irsa:githubOwner must be a GitHub user or organisation name"),
    ({"irsa:githubRepository": "my repo"}, "irsa:githubRepository must be a repository name"),
    ({"irsa:githubBranch": "feature..x"}, "irsa:githubBranch must be a git branch name"),
    ({"irsa:githubBranch": "main/"}, "irsa:githubBranch must be a git branch name"),
    ({"irsa:sshPrivateKey": "hunter2"}, "irsa:sshPrivateKey must be set as a secret: pulumi config set --secret irsa:sshPrivateKey"),
    ({"irsa:serviceAccounts": '{"namespace": "a"}'}, "irsa:serviceAccounts must be a list"),
    ({"irsa:serviceAccounts": '["default/aws-cli"]'}, 'irsa:serviceAccounts[0] must be an object with namespace and name, got "default/aws-cli"'),
    (accounts({"namespace": "default"}), "irsa:serviceAccounts[0].name is required"),
    (accounts({"namespace": "default", "name": "a", "s3BucketPrefx": "x"}),
     "irsa:serviceAccounts[0] has an unknown field 's3BucketPrefx' (did you mean s3BucketPrefix?)"),
    (accounts({"namespace": "Default", "name": "a"}), "irsa:serviceAccounts[0].namespace must be a DNS-1123 label"),
    (accounts({"namespace": "default", "name": "aws_cli"}), "irsa:serviceAccounts[0].name must be a DNS-1123 subdomain"),
    (accounts({"namespace": "default", "name": "a", "testPod": "yes"}),
     'irsa:serviceAccounts[0].testPod must be true or false, got "yes"'),
    (accounts({"namespace": "a", "name": "b"}, {"namespace": "a", "name": "b", "roleName": "other"}),
     "irsa:serviceAccounts lists a/b more than once"),
    (accounts({"namespace": "a", "name": "b", "roleName": "r"}, {"namespace": "a", "name": "c", "roleName": "r"}),
     "irsa:serviceAccounts gives the role name 'r' to more than one service account"),
    (accounts({"namespace": "default", "name": "a", "roleName": "r" * 65}),
     "irsa:serviceAccounts[0].roleName must be at most 64 letters, digits or '+=,.@_-'; got 'rrr"),
    ({"irsa:roleNamePrefix": "k8s/"}, "irsa:roleNamePrefix must be at most 32 letters"),
    (accounts({"namespace": "default", "name": "a", "roleName": "bad/role"}),
     "irsa:serviceAccounts[0].roleName must be at most 64"),
    (accounts({"namespace": "default", "name": "a", "roleName": "rôle"}),
     "irsa:serviceAccounts[0].roleName must be at most 64"),
    (accounts({"namespace": "default", "name": "a", "s3BucketPrefix": "My_Bucket"}),
     "irsa:serviceAccounts[0].s3BucketPrefix must start a valid bucket name"),
    (accounts({"namespace": "default", "name": "a", "s3BucketPrefix": "-k8s"}),
     "irsa:serviceAccounts[0].s3BucketPrefix must start a valid bucket name"),
    (accounts({"namespace": "default", "name": "a", "policyArns": ["ReadOnlyAccess"]}),
     "irsa:serviceAccounts[0].policyArns entry 'ReadOnlyAccess' must be an IAM policy ARN"),
    (accounts({"namespace": "default", "name": "a", "policy": {"Version": "2012-10-17"}}),
     "irsa:serviceAccounts[0].policy must be an IAM policy document with a Statement"),
    (accounts({"namespace": "default", "name": "*"}),
     "irsa:serviceAccounts[0] uses '*' in default/*: set allowWildcard: true"),
    (accounts({"namespace": "default", "name": "*", "allowWildcard": True, "testPod": True}),
     "irsa:serviceAccounts[0] is a pattern (default/*): testPod, createNamespace and existing need one concrete"),
    ({"irsa:githubBranch": "b" * 700, **accounts({"namespace": "default", "name": "aws-cli"})},
     "irsa:serviceAccounts[0]: the trust policy for service account default/aws-cli would be"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[m[:50] for _, m in BAD])
def test_bad_value_gets_one_message_naming_the_key(extra, message):
    with pytest.raises(settings.SettingsError) as err:
        parse(extra)
    assert len(err.value.problems) == 1, err.value.problems
    assert message in err.value.problems[0]


def test_required_key_message_says_how_to_set_it():
    with pytest.raises(settings.SettingsError) as err:
        settings.parse({"irsa:githubOwner": "o", "irsa:githubRepository": "r"})
    assert err.value.problems == [
        "irsa:host is required (or irsa:hosts for several control-plane nodes): "
        "pulumi config set irsa:host VALUE"]


def test_example_stacks_are_valid():
    stacks = sorted(ROOT.glob("Pulumi.*.yaml"))
    assert ROOT / "Pulumi.dev.yaml" in stacks
    for stack in stacks:
        parsed = settings.parse(stack_file_config(stack))
        assert parsed.service_accounts, stack.name


def test_github_token_is_read_as_a_secret_and_must_be_one():
    s = parse({"github:token": "ghp_example"}, {"github:token"})
    assert s.github_token.value == "ghp_example" and "ghp_example" not in repr(s)
    assert parse().github_token is None
    with pytest.raises(settings.SettingsError) as err:
        parse({"github:token": "ghp_example"})
    assert err.value.problems == [
        "github:token must be set as a secret: pulumi config set --secret github:token VALUE"]


# --- messages that must name the one key at fault -----------------------------------------

MORE_BAD = [
    # A bad owner makes the issuer URL unusable: said once, under the owner, not again under
    # every service account.
    ({"irsa:githubOwner": "my org", **accounts({"namespace": "a", "name": "b"},
                                                {"namespace": "a", "name": "c"})},
     "irsa:githubOwner must be a GitHub user or organisation name"),
    (accounts({"namespace": "a", "name": "b", "preset": {"name": "external-dns"}}),
     "irsa:serviceAccounts[0].preset: external-dns needs hostedZoneIds"),
    (accounts({"namespace": "a", "name": "b", "preset": "velero"}),
     "irsa:serviceAccounts[0].preset must be an object"),
    (accounts({"namespace": "a", "name": "b", "permissionsBoundary": "Boundary"}),
     "irsa:serviceAccounts[0].permissionsBoundary must be an IAM managed policy ARN"),
    (accounts({"namespace": "a", "name": "b", "path": "k8s"}),
     "irsa:serviceAccounts[0].path must be / or start and end with /"),
    (accounts({"namespace": "a", "name": "b", "path": "/k 8s/"}),
     "irsa:serviceAccounts[0].path must be / or start and end with /"),
    (accounts({"namespace": "a", "name": "b", "maxSessionDuration": 60}),
     "irsa:serviceAccounts[0].maxSessionDuration must be between 3600 and 43200 seconds, got 60"),
    (accounts({"namespace": "a", "name": "b", "maxSessionDuration": "long"}),
     'irsa:serviceAccounts[0].maxSessionDuration must be a whole number, got "long"'),
    (accounts({"namespace": "a", "name": "b", "description": "x" * 1001}),
     "irsa:serviceAccounts[0].description must be at most 1000 characters"),
    ({"irsa:tags": '{"aws:owner": "me"}'}, "irsa:tags key 'aws:owner': the aws: prefix is reserved"),
    ({"irsa:tags": '{"team": "a|b"}'}, "irsa:tags value of 'team' must be at most 256"),
    ({"irsa:tags": '{"team": 1}'}, "irsa:tags value of 'team' must be a string, got 1"),
    ({"irsa:tags": '{"irsa/service-account": "x"}'}, "is set by the program itself"),
    ({"irsa:tags": json.dumps({f"k{i}": "v" for i in range(50)})}, "irsa:tags may hold at most 48 tags"),
    ({"irsa:tags": '["team"]'}, "irsa:tags must be an object"),
]


@pytest.mark.parametrize("extra, message", MORE_BAD, ids=[m[:50] for _, m in MORE_BAD])
def test_each_new_problem_gets_exactly_one_message(extra, message):
    with pytest.raises(settings.SettingsError) as err:
        parse(extra)
    assert len(err.value.problems) == 1, err.value.problems
    assert message in err.value.problems[0]


def test_audience_warning_for_sts_advises_dropping_it_from_the_api_audiences():
    s = parse({"irsa:apiAudiences": '["https://kubernetes.default.svc", "sts.amazonaws.com"]'})
    (warning,) = [w for w in s.warnings if "irsa:sshHostKey" not in w]
    assert warning.endswith("Remove it from irsa:apiAudiences")
    assert "such as sts.amazonaws.com" not in warning
    other = parse({"irsa:audience": "my-aud", "irsa:apiAudiences": '["my-aud"]'})
    assert [w for w in other.warnings if "irsa:sshHostKey" not in w][0].endswith(
        "Use a separate audience such as sts.amazonaws.com")


def test_booleans_and_integers_follow_one_rule_at_the_top_level_and_in_service_accounts():
    # The CLI's rule for typed keys: "true"/"false" and digits written as strings count.
    # A hand-written stack file may quote them inside serviceAccounts too: same rule.
    s = parse({"irsa:createRepository": "true", **accounts(
        {"namespace": "a", "name": "b", "testPod": "true", "createNamespace": "false",
         "maxSessionDuration": "7200"})})
    assert s.issuer.create_repository is True
    (account,) = s.service_accounts
    assert (account.test_pod, account.create_namespace, account.max_session_duration) == (True, False, 7200)
    for bad in ("yes", "True", 1):
        with pytest.raises(settings.SettingsError):
            parse({"irsa:createRepository": json.dumps(bad) if not isinstance(bad, str) else bad})
        with pytest.raises(settings.SettingsError):
            parse(accounts({"namespace": "a", "name": "b", "testPod": bad}))


def test_role_options_and_preset_reach_the_service_account():
    (account,) = parse(accounts({
        "namespace": "kube-system", "name": "external-dns",
        "preset": {"name": "external-dns", "hostedZoneIds": ["Z123"]},
        "permissionsBoundary": "arn:aws:iam::111122223333:policy/Boundary", "path": "/k8s/",
        "maxSessionDuration": 7200, "description": "ExternalDNS"})).service_accounts
    assert account.preset.name == "external-dns" and account.has_permissions
    assert account.preset.policy_name == "preset-external-dns"
    assert (account.permissions_boundary, account.path, account.max_session_duration,
            account.description) == ("arn:aws:iam::111122223333:policy/Boundary", "/k8s/", 7200,
                                     "ExternalDNS")


def test_encrypted_values_offline_are_checked_for_presence_only():
    placeholder = {"irsa:sshPrivateKey": "[encrypted]"}
    s = settings.parse({**REQUIRED, **placeholder}, {"irsa:sshPrivateKey"}, opaque_secrets=True)
    assert s.host.ssh_private_key is not None
    with pytest.raises(settings.SettingsError, match="must be a PEM or OpenSSH private key"):
        settings.parse({**REQUIRED, **placeholder}, {"irsa:sshPrivateKey"})


def _botocore_tag_rule(kind: str):
    """IAM's tag rule from botocore's model, applied with the `regex` module (\\p{…} classes)."""
    regex = pytest.importorskip("regex")
    import botocore.session
    shape = botocore.session.get_session().get_service_model("iam").shape_for(kind).metadata
    pattern = regex.compile(shape["pattern"])
    return lambda text: shape.get("min", 0) <= len(text) <= shape["max"] and bool(pattern.fullmatch(text))


@pytest.mark.parametrize("text", ["team", "Kostenstelle", "コスト", "a b", "x" * 128, "x" * 129, "",
                                  "a|b", "a,b", "a\tb", "über/owner=1+2@x:y.z_-", "x" * 256, "x" * 257])
def test_tags_follow_iams_tag_patterns_from_botocore(text):
    key_ok, value_ok = _botocore_tag_rule("tagKeyType"), _botocore_tag_rule("tagValueType")

    def accepted(tags):
        try:
            parse({"irsa:tags": json.dumps(tags)})
        except settings.SettingsError:
            return False
        return True

    assert accepted({text: "v"}) == key_ok(text)
    assert accepted({"k": text}) == value_ok(text)
    parsed = parse({"irsa:tags": json.dumps({"team": "platform"})})
    assert parsed.tags == {"team": "platform"}
