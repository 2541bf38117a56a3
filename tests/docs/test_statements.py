"""What the README and docs/ state about commands and configuration is true of the code."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONFIGURATION = (ROOT / "docs" / "CONFIGURATION.md").read_text()


def makefile_targets():
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_named_exists(document):
    named = set(re.findall(r"`make ([a-z][a-z0-9-]*)", document.read_text()))
    assert named - makefile_targets() == set()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manage_py_command_named_exists(document):
    named = set(re.findall(r"manage\.py ([a-z][a-z0-9_]*)", document.read_text()))
    assert named - set(get_commands()) == set()


def test_every_configuration_variable_is_read_somewhere():
    variables = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", CONFIGURATION, re.M))
    variables |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`(?: / |, )", CONFIGURATION))
    sources = "".join(
        path.read_text()
        for pattern in ("ledgerflow/**/*.py", "tests/**/*.py", "docker/*")
        for path in ROOT.glob(pattern)
    )
    unread = {name for name in variables if name not in sources}
    assert len(variables) > 20
    assert unread == set()


@pytest.mark.parametrize("environment", ["development", "test"])
def test_the_environment_files_table_states_what_the_files_set(environment):
    lines = (ROOT / "config" / f"{environment}.env").read_text().splitlines()
    file_values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    header = CONFIGURATION.split("| variable | `config/development.env` | `config/test.env` |")[1]
    rows = header.split("\n\n", 1)[0].splitlines()[2:]
    column = 1 if environment == "development" else 2
    stated = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for name in re.findall(r"`([A-Z_]+)`", cells[0]):
            stated[name] = cells[column]
    assert set(stated) == set(file_values)
    for name, value in file_values.items():
        if name != "SECRET_KEY":
            assert stated[name] == f"`{value}`", name
