"""The documentation stays true: every document a file names is in the repository, every link and section a
reference names exists, the timelines quoted in docs/ are what the command prints, and the procedure file
reference covers every key the parser reads.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest

from portal.config import ROOT
from portal.procedure import (
    _STAGE_KEYS,
    _TOP_KEYS,
    CONDITIONS,
    DOCUMENTS,
    PRESETS_DIR,
    ROLE_ALIASES,
    ROLES,
    SIDE_ALIASES,
    load_procedure,
)
from tests.conftest import test_app

DOCS = ROOT / "docs"
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
# A path ending in .md, or starting with docs/ or ../, as a whole token (not the tail of a longer path).
MARKDOWN_NAME = re.compile(r"(?<![\w./-])([\w./-]*\w\.md)(?![\w-])")
DOCS_PATH = re.compile(r"(?<![\w./-])((?:\.\./)*docs/[\w./-]*)")
PARENT_PATH = re.compile(r"(?<![\w./-])(\.\./[\w./-]*\w)")
# `docs/security.md, 'Mail delivery'` or `docs/security.md "Time"`: a section named by its title.
SECTION_NAMED = re.compile(r"""(?<![\w./-])((?:\.\./)*docs/[\w-]+\.md),?\s+["'“‘]([^"'”’\n]{2,80})["'”’]""")
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
# Paths of the repository's own files written in the docs' prose: they must exist too.
REPO_FILE = re.compile(r"(?<![\w./-])((?:portal|tasks|forms|templates|tests|static|bench|docs|\.ci)/[\w./-]*\.\w+)")
FENCE = re.compile(r"^(```|~~~)")


def repository_files(root: Path) -> list[Path]:
    """Tracked files, and new ones not yet added (but never ignored ones), as paths relative to `root`."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout, so the repository's files cannot be listed: {error}")
    return sorted({Path(name) for name in listed.decode().split("\0") if name and (root / name).is_file()})


def text_lines(path: Path) -> list[str] | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None


def outside_fences(lines: list[str]) -> Iterable[tuple[int, str]]:
    """(line number, line) of a Markdown file, skipping fenced code blocks."""
    fenced = False
    for number, line in enumerate(lines, start=1):
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(title: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def headings(path: Path) -> list[str]:
    return [
        line.lstrip("#").strip()
        for _, line in outside_fences(path.read_text(encoding="utf-8").splitlines())
        if re.match(r"^#{1,6}\s", line)
    ]


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for title in headings(path):
        base = slug(title)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


def plain(title: str) -> str:
    return " ".join(title.replace("`", "").split()).casefold()


class Checker:
    """Finds references in the files of a repository at `root` that lead nowhere, as `file:line: problem`."""

    def __init__(self, root: Path, files: list[Path]) -> None:
        self.root = root.resolve()
        self.files = files
        self.known = {(self.root / f) for f in files}

    def inside(self, target: Path) -> bool:
        return target == self.root or self.root in target.parents

    def resolve(self, name: str, folder: Path) -> Path | None:
        """The path `name` means, relative to the repository's root or to the file's own folder."""
        for base in (self.root, self.root / folder):
            target = (base / name).resolve()
            if target.exists() and self.inside(target):
                return target
        return None

    def problems(self) -> list[str]:
        found = []
        for relative in self.files:
            lines = text_lines(self.root / relative)
            if lines is not None:
                found += self.names_in(relative, lines)
                if relative.suffix == ".md":
                    found += self.links_in(relative, lines)
        return found

    def names_in(self, relative: Path, lines: list[str]) -> list[str]:
        """Documents, docs/ paths and ../ paths named anywhere in a file."""
        found = []
        for number, line in enumerate(lines, start=1):
            text = URL.sub(" ", line)
            where = f"{relative}:{number}"
            for name in MARKDOWN_NAME.findall(text):
                target = self.resolve(name, relative.parent)
                if target is None or target not in self.known:
                    found.append(f"{where}: names {name}, which is not in the repository")
            for name in DOCS_PATH.findall(text) + PARENT_PATH.findall(text):
                name = name.rstrip(".")
                if not name.endswith(".md") and self.resolve(name, relative.parent) is None:
                    found.append(f"{where}: names {name}, which is not in the repository")
            for name, title in SECTION_NAMED.findall(text):
                target = self.resolve(name, relative.parent)
                if target is not None and plain(title) not in {plain(h) for h in headings(target)}:
                    found.append(f"{where}: {name} has no section {title!r}")
        return found

    def links_in(self, relative: Path, lines: list[str]) -> list[str]:
        """Markdown links to the repository's files and sections, and file paths in the docs' prose."""
        found = []
        for number, line in outside_fences(lines):
            where = f"{relative}:{number}"
            for href in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", href):
                    continue
                path, _, anchor = href.partition("#")
                target = (self.root / relative.parent / path).resolve() if path else self.root / relative
                if not target.exists() or not self.inside(target):
                    found.append(f"{where}: links to {path}, which is not in the repository")
                elif anchor and anchor not in anchors(target):
                    found.append(f"{where}: links to {href}, but {path or relative.name} has no such section")
            if relative.parts[0] == "docs" or relative.name == "README.md":
                for name in REPO_FILE.findall(URL.sub(" ", line)):
                    if not (self.root / name).exists():
                        found.append(f"{where}: names {name}, which is not in the repository")
        return found


def test_every_document_link_and_section_named_is_in_the_repository():
    problems = Checker(ROOT, repository_files(ROOT)).problems()
    assert not problems, "references that lead nowhere:\n" + "\n".join(problems)


def test_the_check_finds_planted_bad_references(tmp_path):
    """Each kind of broken reference, planted in a small repository, is reported with its file and line.

    The planted names are assembled from parts: written out whole in this file, they would be bad references here.
    """
    parts = {"md": ".md", "docs": "docs/", "up": "../"}
    files = {
        "{docs}guide{md}": "# Guide\n\n```toml\n# Time\n```\n\n## Mail delivery\n\n[ok](guide{md}#mail-delivery)\n",
        "{docs}bad{md}": "# Bad\n\n[gone](nowhere{md})\n[no section](guide{md}#time)\n```\n[fence](guide{md}#x)\n```\n",
        "code.py": (
            '"""See GONE{md} and {up}shared/NOTES{md}."""\n'
            "# {docs}guide{md}, 'Mail delivery' is right; {docs}guide{md}, 'Time' is not\n"
            "# {docs}missing/ and {docs}guide{md} are checked too\n"
        ),
    }
    (tmp_path / "docs").mkdir()
    for name, text in files.items():
        (tmp_path / name.format(**parts)).write_text(text.format(**parts))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)

    problems = Checker(tmp_path, repository_files(tmp_path)).problems()

    expected = [
        "code.py:1: names GONE{md}, which is not in the repository",
        "code.py:1: names {up}shared/NOTES{md}, which is not in the repository",
        "code.py:2: {docs}guide{md} has no section 'Time'",
        "code.py:3: names {docs}missing/, which is not in the repository",
        "{docs}bad{md}:3: names nowhere{md}, which is not in the repository",
        "{docs}bad{md}:3: links to nowhere{md}, which is not in the repository",
        "{docs}bad{md}:4: links to guide{md}#time, but guide{md} has no such section",
    ]
    assert problems == [line.format(**parts) for line in expected]


def timeline_examples() -> list[tuple[str, list[str], str]]:
    """Every `$ flask procedure ...` block in docs/ whose file or preset exists: (where, arguments, output)."""
    examples = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for block in re.finditer(r"```console\n\$ flask (procedure [^\n]+)\n(.*?)```", text, re.S):
            args = shlex.split(block[1])
            target = args[2] if len(args) > 2 else ""
            if args[1] != "list" and not ((ROOT / target).is_file() or (PRESETS_DIR / f"{target}.toml").is_file()):
                continue  # an illustration with a file of the reader's own
            line = text[: block.start()].count("\n") + 1
            examples.append((f"{page.name}:{line}", args, block[2]))
    return examples


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """The `flask` commands of an app whose database is never opened, run from the project folder."""
    monkeypatch.chdir(ROOT)
    app = test_app(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path, PROCEDURE="hounslow")
    return app.test_cli_runner()


def test_the_commands_quoted_in_the_docs_print_what_the_docs_say(cli):
    examples = timeline_examples()
    assert len(examples) >= 6, "the worked examples are gone from docs/"
    for where, args, expected in examples:
        result = cli.invoke(args=args)
        assert result.exit_code == 0, f"{where}: {result.output}"
        printed = result.stdout.rstrip("\n").split("\n")
        lines = expected.rstrip("\n").split("\n")
        if lines[-1] == "...":
            lines, printed = lines[:-1], printed[: len(lines) - 1]
        assert printed == lines, f"{where}: flask {shlex.join(args)} now prints:\n" + "\n".join(printed)


def test_the_example_procedure_sets_every_key_and_loads_without_warnings():
    path = DOCS / "example-procedure.toml"
    procedure = load_procedure(path)
    assert procedure.warnings == ()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(data) == _TOP_KEYS
    assert set().union(*(stage.keys() for stage in data["stages"])) == _STAGE_KEYS


def test_the_procedure_file_reference_names_every_key_and_word_the_parser_knows():
    reference = ROOT / "docs/procedure-files.md"
    titles = set(headings(reference))
    undocumented = [f"key {key}" for key in sorted(_TOP_KEYS | _STAGE_KEYS) if f"`{key}`" not in titles]
    text = reference.read_text(encoding="utf-8")
    words = {*ROLES, *ROLE_ALIASES, *SIDE_ALIASES, *CONDITIONS, *DOCUMENTS}
    undocumented += [f"name {word}" for word in sorted(words) if f"`{word}`" not in text]
    assert not undocumented, "docs/procedure-files.md does not describe: " + ", ".join(undocumented)
