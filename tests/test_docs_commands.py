"""The `irsa` commands the README and docs/ show are real, and so is what they print.

Every ``irsa …`` command in a code block or an inline code span parses with
the real argument parser (``irsa.cli.parser``); a bare ``irsa NAME`` names a
real sub-command. In a console block (lines starting ``$ ``), a command that
runs offline (``check-config``, ``discovery``, ``--version``) is run, and the
lines under it must be exactly what it prints. A stack file such a command
reads is shown on the same page as a ``yaml`` block whose first line is
``# Pulumi.NAME.yaml``; the project's own stack files are there too.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT
from irsa import cli

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`((?:python3? -m |\./|\.)?(?:venv/bin/)?irsa(?: [^`]*)?)`")
PROGRAM = {"irsa", "./venv/bin/irsa", ".venv/bin/irsa", "venv/bin/irsa"}
# Sub-commands that need neither network nor cluster: their output is compared.
OFFLINE = {"check-config", "discovery", "--version"}
SEPARATORS = {"|", "||", "&&", ";", "(", ")", "&"}
REDIRECTIONS = {">", ">>", "<", "<<", "2>", "&>"}


@dataclass(frozen=True)
class Shown:
    """One command as a page shows it, and the output printed under it (console blocks)."""

    page: Path
    text: str
    argv: tuple[str, ...]
    output: tuple[str, ...] | None = None
    inline: bool = False

    def __str__(self) -> str:
        where = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{where}: {self.text}"


def irsa_argv(words: list[str]) -> list[list[str]]:
    """The argument lists of every irsa invocation in a tokenised shell line."""
    found, command = [], []
    redirected = False
    for word in [*words, ";"]:
        if redirected:  # the file of a redirection, not a word of the command
            redirected = False
        elif word in REDIRECTIONS:
            redirected = True
        elif word in SEPARATORS:
            if command and command[0] in PROGRAM:
                found.append(command[1:])
            elif command[:3] in (["python", "-m", "irsa"], ["python3", "-m", "irsa"]):
                found.append(command[3:])
            command = []
        elif not (command == [] and word in ("$", "time")):
            command.append(word)
    return found


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _metasyntax(text: str) -> str:
    """A usage line as a command: optional parts given, ellipses dropped."""
    text = re.sub(r"\[([^\]]*)\]", r"\1", text)
    return re.sub(r"(\.\.\.|…)", "", text)


def shown_commands(page: Path) -> list[Shown]:
    text = page.read_text()
    found: list[Shown] = []
    for block in FENCE.finditer(text):
        lines = block.group(2).replace("\\\n", " ").splitlines()
        console = any(line.startswith("$ ") for line in lines)
        for index, line in enumerate(lines):
            if console and not line.startswith("$ "):
                continue
            try:
                words = _words(line)
            except ValueError:
                continue  # not shell (a YAML or JSON line)
            output = None
            if console:
                following = []
                for after in lines[index + 1:]:
                    if after.startswith("$ "):
                        break
                    following.append(after)
                output = tuple(following)
            for argv in irsa_argv(words):
                found.append(Shown(page, line, tuple(argv), output))
    prose = FENCE.sub("", text)
    for span in INLINE.finditer(prose):
        for argv in irsa_argv(_metasyntax(span.group(1)).split()):
            found.append(Shown(page, " ".join(span.group(1).split()), tuple(argv), inline=True))
    return found


SHOWN = [shown for page in PAGES for shown in shown_commands(page)]


def sub_commands() -> set[str]:
    parser = cli.parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    return set(commands.choices)


@pytest.mark.parametrize("shown", SHOWN, ids=str)
def test_every_irsa_command_shown_parses(shown):
    if shown.inline and len(shown.argv) <= 1 and not "".join(shown.argv).startswith("-"):
        # `irsa`, `irsa verify`: the name of the command, not an invocation.
        assert not shown.argv or shown.argv[0] in sub_commands(), shown
        return
    parser = cli.parser()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(list(shown.argv))
        except SystemExit as stop:
            assert stop.code == 0, f"{shown}: {stderr.getvalue().strip()}"


def stack_files(page: Path) -> dict[str, str]:
    """The stack files a page shows: ``yaml`` blocks whose first line is ``# Pulumi.NAME.yaml``."""
    found = {}
    for block in FENCE.finditer(page.read_text()):
        first, _, rest = block.group(2).partition("\n")
        named = re.fullmatch(r"# (Pulumi\.[\w-]+\.yaml)", first.strip())
        if block.group(1) == "yaml" and named:
            found[named.group(1)] = block.group(2)
    return found


OFFLINE_SHOWN = [s for s in SHOWN if s.output is not None and s.argv and s.argv[0] in OFFLINE
                 and not {">", "|"} & set(_words(s.text))]


def run_as_shown(shown: Shown, project: Path) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
            contextlib.chdir(project):
        try:
            cli.main(list(shown.argv))
        except SystemExit:
            pass
    return out.getvalue().splitlines()


@pytest.mark.parametrize("shown", OFFLINE_SHOWN, ids=str)
def test_every_output_shown_is_what_the_command_prints(shown, tmp_path):
    for name in ["Pulumi.yaml", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy(ROOT / name, tmp_path / name)
    for name, content in stack_files(shown.page).items():
        (tmp_path / name).write_text(content)
    assert run_as_shown(shown, tmp_path) == list(shown.output), str(shown)


def test_the_pages_show_commands_and_outputs_to_check():
    # The checks above are not vacuous: the pages show many commands and some outputs.
    assert len(SHOWN) >= 20 and len(OFFLINE_SHOWN) >= 3, (len(SHOWN), len(OFFLINE_SHOWN))
    assert {s.argv[0] for s in OFFLINE_SHOWN} >= {"check-config", "discovery"}


def test_the_checker_finds_a_wrong_flag_and_a_wrong_output(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Run `irsa check-config --stak dev`.\n\n```\n$ irsa --version\nirsa 0.0.0\n```\n")
    commands = shown_commands(page)
    assert [c.argv for c in commands] == [("--version",), ("check-config", "--stak", "dev")]
    with pytest.raises(AssertionError):
        test_every_irsa_command_shown_parses(commands[1])
    assert run_as_shown(commands[0], tmp_path) != list(commands[0].output)


def test_no_page_keeps_a_section_marker_or_a_second_title():
    for page in PAGES:
        text = FENCE.sub("", page.read_text())
        assert "<!-- section:" not in text and "<!-- /section:" not in text, page.name
        titles = re.findall(r"^# .+$", text, re.M)
        assert len(titles) == 1, (page.name, titles)
