"""YAML as the Pulumi CLI reads it: gopkg.in/yaml.v3's resolution of plain scalars."""

from __future__ import annotations

import math

import pytest

from irsa import pulumi_yaml


@pytest.mark.parametrize("text, value", [
    # YAML 1.2 booleans only; the 1.1 words are strings.
    ("true", True), ("True", True), ("TRUE", True), ("false", False),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("tRUE", "tRUE"),
    ("null", None), ("~", None), ("", None), ("NULL", None), ("nil", "nil"),
    # Timestamps, handed on as Go's time.String prints them (pulumi/pulumi config.object).
    ("2012-10-17", "2012-10-17 00:00:00 +0000 UTC"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.1 -0500 -0500"),
    ("2001-12-14 21:59:43.5", "2001-12-14 21:59:43.5 +0000 UTC"), ("2012-1-2", "2012-01-02 00:00:00 +0000 UTC"),
    ("2012-13-01", "2012-13-01"), ("2012-10-17x", "2012-10-17x"),
    # Go's ParseInt(s, 0, 64) after dropping "_": 0x, 0o, 0b, and the 1.1 octal 017.
    ("42", 42), ("-7", -7), ("+7", 7), ("0x1F", 31), ("0o17", 15), ("017", 15), ("0b101", 5),
    ("1_000", 1000), ("18446744073709551615", 18446744073709551615),
    # Floats by yaml.v3's pattern; out of range stays text, as does base 60.
    ("1.5", 1.5), (".5", 0.5), ("1e3", 1000.0), ("99999999999999999999", 1e20),
    ("1e400", "1e400"), ("1:30", "1:30"), ("0x", "0x"), ("08", 8.0),
])
def test_plain_scalars_resolve_as_yaml_v3_resolves_them(text, value):
    loaded = pulumi_yaml.load(f"v: {text}\n")["v"]
    assert loaded == value and type(loaded) is type(value), (text, loaded)


def test_special_floats_and_quoted_text():
    loaded = pulumi_yaml.load("a: .nan\nb: -.inf\nc: '42'\nd: \"true\"\n")
    assert math.isnan(loaded["a"]) and loaded["b"] == -math.inf
    assert (loaded["c"], loaded["d"]) == ("42", "true")


def test_a_stack_files_values_are_what_the_cli_hands_on():
    document = pulumi_yaml.load_stack(
        "config:\n  irsa:restartWorkloads: yes\n  irsa:sshPort: 0x16\n  irsa:host:\n"
        "  irsa:keyBits: 2048\n  irsa:takeOverHost: True\n  irsa:x: 99999999999999999999\n"
        "  irsa:hosts: [a, 010]\n  irsa:tags: {v: 2012-10-17}\n")
    assert document["config"] == {
        "irsa:restartWorkloads": "yes", "irsa:sshPort": "22", "irsa:host": None,
        "irsa:keyBits": "2048", "irsa:takeOverHost": "true", "irsa:x": "100000000000000000000",
        "irsa:hosts": ["a", 8], "irsa:tags": {"v": "2012-10-17 00:00:00 +0000 UTC"}}


@pytest.mark.parametrize("number, text", [
    (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5, "1.5"), (100.0, "100"), (1e-7, "1e-7"),
    (True, "true"), (8, "8"),
])
def test_numbers_are_written_as_go_writes_json(number, text):
    assert pulumi_yaml.go_json(number) == text


def test_a_number_json_cannot_carry_is_an_error_not_a_traceback():
    with pytest.raises(pulumi_yaml.Error, match="irsa:x holds nan"):
        pulumi_yaml.load_stack("config:\n  irsa:x: [.nan]\n")


def test_explicit_tags_json_cannot_carry_are_read_as_text_or_maps():
    loaded = pulumi_yaml.load("a: !!binary aGk=\nb: !!set {x, y}\n")
    assert loaded == {"a": "hi", "b": {"x": None, "y": None}}


def test_merge_keys_still_merge():
    assert pulumi_yaml.load("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n")["c"] == {"x": 1, "y": 2}
