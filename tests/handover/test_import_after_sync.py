"""A handover imported after the receiving installation's sync recorded the second
Anmeldung: the import withdraws it while unsent, and the next sync holds it with its
finding (R-HO-1, R-EP-5, D-216)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.handover.cases import fhir
from tests.handover.cases.sites import Site, handover_findings, reports
from tests.handover.test_worked_cases import ROTH, SOMMER, _import, _treatment, two
from tests.storage import BACKENDS

__all__ = ["two"]

AT_A = fhir.Person("p-4711", "Winter", "Marcel", "1988-06-21", "male", "W123456789")
AT_B = fhir.Person("gef-0815", "Winter", "Marcel", "1988-06-21", "male", "W123456789")


def _sent_document(leipzig: Site, tmp_path: Path) -> tuple[Path, str]:
    """Leipzig registers Marcel Winter on 2025-03-03 and hands him over on 2025-05-15."""
    _treatment(tmp_path / "a-data", SOMMER, AT_A, date(2025, 3, 3), date(2025, 5, 14))
    leipzig.sync(tmp_path / "a-data", "2025-05-14")
    return leipzig.export("Patient/p-4711", "JVA Dresden", "2025-05-15")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sync_then_import_withdraws_the_anmeldung_and_the_next_sync_holds_it(
    two: tuple[Site, Site], tmp_path: Path
) -> None:
    """Dresden syncs (Anmeldung pending) before the document is imported: the import
    withdraws it with a note naming the handover; sync and sync --rebuild hold it with
    the R-HO-1 finding; released, the next sync records it again."""
    leipzig, dresden = two
    document, signer = _sent_document(leipzig, tmp_path)
    b = _treatment(tmp_path / "b-data", ROTH, AT_B, date(2025, 5, 15), date(2025, 5, 20))
    assert reports(dresden.sync(b, "2025-05-20")) == [("anmeldung", "2025-05-15", "3820202")]

    handover, out = _import(dresden, document, signer)
    assert "Withdrawn 1 unsent report(s)" in out
    assert "pending" not in dresden.ok("reports", "list", "--state", "pending")
    rejected = dresden.ok("reports", "list", "--state", "rejected")
    assert "anmeldung" in rejected.lower()
    held = dresden.sync(b, "2025-05-20")
    assert reports(held) == []
    [finding] = handover_findings(held)
    assert f"handover release {handover}" in finding["message"]
    rebuilt = json_sync(dresden, b, "2025-05-20", "--rebuild")
    assert [f["rule"] for f in rebuilt["findings"] if f["rule"] == "R-HO-1"] == ["R-HO-1"]

    dresden.ok("handover", "release", handover, "--on", "2025-05-20")
    after = dresden.sync(b, "2025-05-21")
    assert reports(after) == [("anmeldung", "2025-05-15", "3820202")]
    assert handover_findings(after) == []


def json_sync(site: Site, export: Path, as_of: str, *extra: str) -> dict[str, object]:
    """`sync --format json` with extra options."""
    out = site.ok("sync", str(export), "--as-of", as_of, "--format", "json", *extra)
    found: dict[str, object] = json.loads(out)
    return found
