"""irsa.iam_names called directly: exact names, lengths, hashes, tags and texts (fast, in process).

These tests are what mutmut's per-test coverage selects for ``irsa/iam_names.py``;
the Pulumi-program tests reach the same functions only through the whole program.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from irsa import iam_names

ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_stack_prefix_is_project_stack_and_six_hex_digits_of_project_slash_stack():
    assert iam_names.stack_prefix("irsa", "dev") == f"irsa-dev-{sha('irsa/dev')[:6]}"
    # The hash covers the slash: a-b/c and a/b-c share "a-b-c" but not the digest.
    assert iam_names.stack_prefix("a-b", "c") != iam_names.stack_prefix("a", "b-c")
    assert iam_names.stack_prefix("a-b", "c") == f"a-b-c-{sha('a-b/c')[:6]}"


def test_a_short_default_role_name_is_prefix_namespace_name_with_plus_for_star():
    assert iam_names.default_role_name("default", "app") == "k8s_default_app"
    assert iam_names.default_role_name("ns", "app", prefix="p") == "p_ns_app"
    assert iam_names.default_role_name("team-*", "*") == "k8s_team-+_+"


def test_a_name_of_exactly_64_characters_is_kept_and_65_is_cut_with_the_hash_of_the_whole():
    name64 = "a" * (64 - len("k8s_ns_"))
    assert iam_names.default_role_name("ns", name64) == f"k8s_ns_{name64}"
    name65 = name64 + "b"
    full = f"k8s_ns_{name65}"
    cut = iam_names.default_role_name("ns", name65)
    assert cut == f"{full[:55]}-{sha(full)[:8]}"
    assert len(cut) == 64 and ROLE_NAME.fullmatch(cut)


def test_a_cut_pattern_is_hashed_after_star_becomes_plus():
    full = "k8s_ns_" + "x" * 60 + "+"
    assert iam_names.default_role_name("ns", "x" * 60 + "*") == f"{full[:55]}-{sha(full)[:8]}"


def test_role_tags_name_namespace_and_account_and_leave_patterns_out():
    assert iam_names.role_tags("ns", "app") == {"irsa/namespace": "ns", "irsa/service-account": "app"}
    assert iam_names.role_tags("ns-*", "app") == {"irsa/service-account": "app"}
    assert iam_names.role_tags("ns", "*") == {"irsa/namespace": "ns"}
    assert iam_names.role_tags("*", "a*") == {}


def test_role_descriptions_exact():
    assert (iam_names.role_description("ns", "app")
            == "Assumed by Kubernetes service account ns/app (IRSA)")
    assert (iam_names.role_description("ns", "app", shared=2)
            == "Assumed by Kubernetes service account ns/app and 2 more (IRSA)")
    assert (iam_names.role_description("ns", "app-*", shared=3)
            == "Assumed by Kubernetes service accounts matching ns/app-* (IRSA)")
    assert (iam_names.role_description("*", "app")
            == "Assumed by Kubernetes service accounts matching */app (IRSA)")


@pytest.mark.parametrize("arn, name", [
    ("arn:aws:iam::123456789012:role/app", "app"),
    ("arn:aws:iam::123456789012:role/team/sub/app", "app"),
    ("arn:aws-cn:iam::123456789012:role/a:b", "a:b"),
])
def test_role_name_in_arn(arn, name):
    assert iam_names.role_name_in_arn(arn) == name


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:user/app",        # not a role
    "arn:aws:s3:::bucket/role/app",              # not IAM
    "xarn:aws:iam::123456789012:role/app",       # not an ARN
    "arn:aws:iam::123456789012",                 # too few parts
    "arn:aws:iam::123456789012:role/team/",      # path without a name
    "arn:aws:iam::123456789012:role/",
    "",
])
def test_role_name_in_arn_refuses_what_is_not_a_role_arn(arn):
    assert iam_names.role_name_in_arn(arn) is None


def test_policy_arn_key_drops_arn_and_the_first_double_colon_only():
    assert iam_names.policy_arn_key("arn:aws:iam::aws:policy/ReadOnlyAccess") == "aws:iam:aws:policy/ReadOnlyAccess"
    assert (iam_names.policy_arn_key("arn:aws:iam::123456789012:policy/ReadOnlyAccess")
            == "aws:iam:123456789012:policy/ReadOnlyAccess")
    assert iam_names.policy_arn_key("arn:a::b::c") == "a:b::c"
    assert iam_names.policy_arn_key("x:arn:y") == "x:arn:y"


def test_session_name_is_irsa_project_stack_with_refused_characters_as_dashes():
    assert iam_names.assume_role_session_name("irsa", "dev") == "irsa-irsa-dev"
    assert iam_names.assume_role_session_name("p", "org/st ack=é") == "irsa-p-org-st-ack=-"
    assert iam_names.assume_role_session_name("a_b", "c+d,e.f@g") == "irsa-a_b-c+d,e.f@g"


def test_a_long_session_name_keeps_irsa_and_the_end_within_64():
    stack = "s" * 40 + "END"
    name = iam_names.assume_role_session_name("p" * 40, stack)
    assert len(name) == 64
    assert name.startswith("irsa-p") and name.endswith(stack)
    assert name == "irsa-" + ("p" * 40 + "-" + stack)[-59:]
    assert len(iam_names.assume_role_session_name("p" * 29, "s" * 29)) == 64
    assert iam_names.assume_role_session_name("p" * 29, "s" * 29) == "irsa-" + "p" * 29 + "-" + "s" * 29
