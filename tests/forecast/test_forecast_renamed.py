"""`Forecast.renamed` (D-190): the API's forecast names each patient by its pseudonym,
everywhere the resource key stood, and never shows a key it has no name for."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.forecast import Deadline, Forecast, OpenPhase
from tests.store.helpers import make_report

AS_OF, UNTIL = date(2026, 11, 1), date(2026, 11, 15)


def _forecast() -> Forecast:
    phase = OpenPhase("Patient/p1", "1234567", "HAMÜF500", "Methadon", AS_OF, AS_OF)
    other = OpenPhase("Patient/p0", "1234567", None, "Methadon", AS_OF, AS_OF)
    deadlines = [
        Deadline(date(2026, 11, 3), "Patient/p1", make_report(), "why"),
        Deadline(date(2026, 11, 4), "", make_report(kind="mitteilung"), "a doctor's notice"),
    ]
    return Forecast(AS_OF, UNTIL, [other, phase], deadlines)


def test_each_patient_key_becomes_its_pseudonym() -> None:
    """In the deadlines, their reports' sources and the open phases; a doctor's notice
    (no patient) stays without one; the phases sorted by their new names."""
    renamed = _forecast().renamed({"Patient/p1": "m-2", "Patient/p0": "m-9"})
    assert [d.patient for d in renamed.deadlines] == ["m-2", ""]
    assert renamed.deadlines[0].report.sources == ("MedicationAdministration/ma-1", "m-2")
    assert [p.patient for p in renamed.open_phases] == ["m-2", "m-9"]
    assert renamed.next_due("m-2") == renamed.deadlines[0]
    assert (renamed.as_of, renamed.until) == (AS_OF, UNTIL)


def test_a_patient_without_a_pseudonym_is_refused_never_shown() -> None:
    """Fail closed: a key the names do not hold is a KeyError, not the EHR's id."""
    with pytest.raises(KeyError):
        _forecast().renamed({"Patient/p1": "m-2"})
