"""One exception tree (adapter/errors.py) and one place that turns an error into a line."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import adapter.cli.run
from adapter import errors
from adapter.cli.main import main

ADAPTER = Path(errors.__file__).resolve().parent
PUBLIC = [getattr(errors, name) for name in errors.__all__]
# Exceptions that are outcomes turned into findings or internal retries, never shown as such.
NOT_IN_THE_TREE = {
    "ResourceProblem": "fhir/values.py: a field that cannot be read becomes a finding",
    "FarFuture": "fhir/values.py: a far-future day, read as an open end or a finding",
}


def test_every_public_error_is_a_substreg_error_with_an_exit_status() -> None:
    """The CLI's one `except SubstregError` catches them all, each with a status to exit."""
    for kind in PUBLIC:
        assert issubclass(kind, errors.SubstregError), kind
        assert kind.exit_status in (1, 2), kind


def test_the_docstring_draws_every_error_of_the_tree() -> None:
    """The tree in the module docstring names each class: it cannot drift from the code."""
    doc = errors.__doc__ or ""
    drawn = {line.split("──")[-1].split()[0] for line in doc.splitlines() if "──" in line}
    assert drawn | {"SubstregError"} == set(errors.__all__)


def test_no_module_defines_a_public_error_outside_the_tree() -> None:
    """A new error class goes into adapter/errors.py, so that the CLI cannot miss it:
    every public exception class any module defines (whatever its base) is checked."""
    found = []
    for info in pkgutil.walk_packages([str(ADAPTER)], prefix="adapter."):
        if ".migrations" in info.name or info.name.endswith((".__main__", ".errors")):
            continue  # migration scripts run Alembic, __main__ runs the CLI, when imported
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and not name.startswith("_")
            ):
                found.append(name)
    assert set(found) == set(NOT_IN_THE_TREE)


@pytest.mark.parametrize("kind", PUBLIC, ids=lambda k: k.__name__)
def test_each_error_is_one_line_and_its_status_at_the_command_line(
    kind: type[errors.SubstregError],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever a command raises from the tree: `substreg: <message>` on one line, no
    traceback, and the error's exit status."""

    def fail(_: object) -> int:
        message = "first line\n  second line"
        if issubclass(kind, errors.DamagedRowError):
            raise kind(message, row_id="r1", field="codes")
        if issubclass(kind, errors.RecipientCertificateError):
            raise kind(message, reason="expired")
        raise kind(message)

    monkeypatch.setattr(adapter.cli.run, "_derive", fail)
    status = main(["derive", "whatever.json", "--as-of", "2025-01-01"])
    out, err = capsys.readouterr()
    assert status == kind.exit_status
    assert out == ""
    assert err == "substreg: first line second line\n"
