"""Details of settings parsing that mutation testing found unchecked (docs/mutation-testing.md):
every field of a service account reaches the Settings, an invalid entry is reported once and
then left out (no follow-up messages about it), and decoding/defaults of the other keys."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import pem_block
from irsa import oidc, settings

REQUIRED = {
    "irsa:githubOwner": "example-org",
    "irsa:githubRepository": "oidc-issuer",
    "irsa:host": "10.0.0.5",
}


def parse(extra=None, secret=(), required=REQUIRED):
    return settings.parse({**required, **(extra or {})}, secret)


def problems(extra=None, required=REQUIRED) -> list[str]:
    with pytest.raises(settings.SettingsError) as err:
        parse(extra, required=required)
    return err.value.problems


def accounts(*entries):
    return {"irsa:serviceAccounts": json.dumps(list(entries))}


def test_every_service_account_field_reaches_the_settings():
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]}
    s = parse(accounts(
        {"namespace": "apps", "name": "app", "roleName": "r", "s3BucketPrefix": "ab",
         "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "policy": policy,
         "testPod": True, "createNamespace": True},
        {"namespace": "team-*", "name": "*", "allowWildcard": True},
        {"namespace": "plain", "name": "app"},
    ))
    full, pattern, plain = s.service_accounts
    assert (full.s3_bucket_prefix, full.policy_arns, full.policy) == (
        "ab", ("arn:aws:iam::aws:policy/ReadOnlyAccess",), policy)
    assert (full.test_pod, full.create_namespace, full.allow_wildcard) == (True, True, False)
    assert pattern.allow_wildcard is True and pattern.role_name == "k8s_team-+_+"
    # Absent options are False (not None, not True) and absent documents None.
    assert (plain.test_pod, plain.create_namespace, plain.allow_wildcard) == (False, False, False)
    assert plain.test_pod is False and plain.create_namespace is False and plain.allow_wildcard is False
    assert (plain.s3_bucket_prefix, plain.policy, plain.policy_arns) == (None, None, ())


BAD = {"namespace": "apps", "name": "app", "roleName": "r", "s3BucketPrefix": "ab",
       "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"], "policy": {"Statement": [{}]}}


@pytest.mark.parametrize("change", [
    {"namespace": "team-*"},  # a pattern without allowWildcard, everything after it valid
    {"namespace": "Apps"},
    {"name": "App"},
    {"roleName": "r/x"},
    {"s3BucketPrefix": "A"},
    {"policyArns": ["nope"]},
    {"policy": {"Statement": []}},
    {"namespace": "team-*", "allowWildcard": True, "testPod": True},
    {"namespace": "team-*", "allowWildcard": True, "createNamespace": True},
])
def test_an_invalid_entry_is_reported_once_and_then_left_out(change):
    """The same invalid entry twice: two reports of the problem, and nothing about duplicates
    (it was left out, so there is no second role or key to collide with)."""
    entry = {**BAD, **change}
    found = problems(accounts(entry, entry))
    assert len(found) == 2, found
    assert found[0].startswith("irsa:serviceAccounts[0]") and found[1].startswith("irsa:serviceAccounts[1]")
    assert not any("more than once" in p for p in found)


def test_role_name_hint_only_for_derived_names():
    (explicit,) = problems(accounts({"namespace": "apps", "name": "app", "roleName": "r" * 65}))
    assert explicit.endswith("(65 characters)")
    (derived,) = problems(accounts({"namespace": "a", "name": "b" * 59}))
    assert derived.endswith(": set roleName explicitly")


def test_every_bad_entry_is_reported_not_only_the_first():
    found = problems(accounts("not an object", {"namespace": "a"}, {"namespace": "a", "name": "b", "x": 1}))
    assert [p.split(" ")[0].split(".")[0] for p in found] == [
        "irsa:serviceAccounts[0]", "irsa:serviceAccounts[1]", "irsa:serviceAccounts[2]"]


def test_unknown_names_get_a_hint_only_when_one_is_close():
    found = problems({"irsa:keybits": "2048", "irsa:zzzz": "1"})
    assert found == ["irsa:keybits is not a configuration key of this project (did you mean irsa:keyBits?)",
                     "irsa:zzzz is not a configuration key of this project"]
    found = problems(accounts({"namespace": "a", "name": "b", "testpod": True, "zzzz": 1}))
    assert "unknown field 'testpod' (did you mean testPod?);" in found[0]
    assert "unknown field 'zzzz'; known fields" in found[1]


@pytest.mark.parametrize("missing", [("irsa:githubOwner",), ("irsa:githubOwner", "irsa:githubRepository")])
def test_no_trust_policy_check_without_a_complete_issuer(missing):
    """Without owner or repository there is no issuer URL to size the trust policy with:
    only the missing keys are reported."""
    required = {k: v for k, v in REQUIRED.items() if k not in missing}
    found = problems(accounts({"namespace": "apps", "name": "app"}), required=required)
    assert [p.split(" ")[0] for p in found] == list(missing)


def test_trust_policy_size_counts_the_audience():
    # An audience this long pushes the trust policy past IAM's 2048 characters.
    found = problems({"irsa:audience": "a" * 1900, **accounts({"namespace": "apps", "name": "app"})})
    assert len(found) == 1 and "2048" in found[0]


def test_decoded_values_and_the_region():
    s = settings.parse({**REQUIRED, "aws:region": "eu-central-1", "irsa:restartWorkloads": "true",
                        "irsa:thumbprints": json.dumps(["AB" * 20, "auto"]),
                        "irsa:kubeconfig": "apiVersion: v1"}, ["irsa:kubeconfig"])
    assert s.aws_region == "eu-central-1"
    assert s.host.host == "10.0.0.5" and s.host.restart_workloads is True
    assert s.thumbprints == ("ab" * 20, "auto")
    assert s.kubeconfig is not None and s.kubeconfig.value == "apiVersion: v1"
    assert parse().aws_region is None
    assert parse({"aws:region": 5}).aws_region is None


def test_values_already_decoded_are_accepted():
    """Pulumi passes strings, but a value given as its JSON type (an int) is read as it is."""
    assert parse({"irsa:sshPort": 2222}).host.ssh_port == 2222


def test_type_errors_name_the_key_and_the_value():
    assert problems({"irsa:host": 5}) == ["irsa:host must be a string, got 5"]
    assert problems({"irsa:sshPort": "[1]"}) == ["irsa:sshPort must be a whole number, got [1]"]
    assert problems({"irsa:serviceAccounts": '["x"]'})[0].startswith("irsa:serviceAccounts[0] must be an object")


def test_api_audiences_with_spaces_are_refused():
    assert problems({"irsa:apiAudiences": '["a b"]'})[0].startswith("irsa:apiAudiences must list")


def test_an_unusable_issuer_url_says_why():
    (found,) = problems({"irsa:githubBranch": "a#b"})
    assert found.startswith("irsa:githubBranch gives an unusable issuer URL: ")
    assert found.endswith("must not have a fragment (#…)")


def test_a_key_of_another_type_is_named_in_the_message():
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(oidc.UnusableKeyError) as err:
        oidc.load_public_key(pem)
    assert str(err.value).startswith("an EC key, but only RSA keys")


@pytest.mark.parametrize("pem, message", [
    (b"hello", "not a PEM public or private key"),
    (pem_block("PRIVATE KEY", "AAAA").encode(), "not a readable PEM private key"),
])
def test_unusable_keys_are_explained_exactly(pem, message):
    with pytest.raises(oidc.UnusableKeyError) as err:
        oidc.load_public_key(pem)
    assert str(err.value) == message


def test_an_encrypted_key_is_explained_exactly():
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"))
    with pytest.raises(oidc.UnusableKeyError) as err:
        oidc.load_public_key(pem)
    assert str(err.value) == "the private key is encrypted; give an unencrypted key"


@pytest.mark.parametrize("extra, message", [
    ({"irsa:githubRepository": "."}, "irsa:githubRepository must be a repository name"),
    ({"irsa:githubRepository": ".."}, "irsa:githubRepository must be a repository name"),
    ({"irsa:keyDir": "/"}, "irsa:keyDir must be an absolute, normalised directory path"),
    ({"irsa:distribution": "k0s"}, "irsa:distribution must be one of microk8s, k3s, kubeadm, got 'k0s'"),
])
def test_edge_values_refused(extra, message):
    (found,) = problems(extra)
    assert found.startswith(message), found


def test_a_non_key_ssh_private_key_is_refused_with_the_command_to_fix_it():
    with pytest.raises(settings.SettingsError) as err:
        settings.parse({**REQUIRED, "irsa:sshPrivateKey": "not a key"}, ["irsa:sshPrivateKey"])
    assert err.value.problems == [
        "irsa:sshPrivateKey must be a PEM or OpenSSH private key "
        "(pulumi config set --secret irsa:sshPrivateKey < ~/.ssh/id_ed25519)"]


def test_unknown_field_message_lists_the_known_fields():
    (found,) = problems(accounts({"namespace": "a", "name": "b", "zzzz": 1}))
    assert found.endswith("known fields: namespace, name, roleName, s3BucketPrefix, policyArns, policy, "
                          "testPod, createNamespace, allowWildcard, preset, permissionsBoundary, path, "
                          "maxSessionDuration, description, existing, account, roleArn")


def test_secrets_print_as_a_placeholder_and_errors_one_per_line():
    assert str(settings.Secret("value")) == "[secret]"
    assert str(settings.SettingsError(["a", "b"])) == "a\nb"
