"""From events to reports: doctor data, due dates, ids, order and practice checks."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.domain.events import OpenSpan
from adapter.domain.model import Address, Spell
from adapter.domain.reports import (
    build_reports,
    caseload_findings,
    register_doctor,
    report_id,
    shared_code_findings,
    sort_reports,
)

from .builders import (
    ADDRESS,
    CODE,
    CONSULT_1,
    DOC_A,
    DOC_B,
    DOCTORS,
    PATIENT,
    consultant,
    daily,
    derive,
    doctor,
    doctors,
    event,
    history,
    report,
    span,
)

# -- build_reports -------------------------------------------------------------------------


def test_report_holds_the_event_and_the_doctors_register_fields() -> None:
    """R-EP-1: an Anmeldung report carries code, dates, substance and the doctor's fields."""
    ev = event(made_on=date(2025, 3, 3), consultant_key=CONSULT_1, remarks=("x",))
    [rep], findings, owners = build_reports([ev], DOCTORS, as_of=date(2025, 3, 3))
    assert findings == []
    assert (rep.kind, rep.made_on, rep.date, rep.patient_code, rep.substance) == (
        "anmeldung",
        date(2025, 3, 3),
        date(2025, 3, 3),
        CODE,
        "Methadon",
    )
    assert rep.doctor.btm_number == "1111111"
    assert (rep.doctor.family_name, rep.doctor.given_name) == ("Berger", "Anna")
    assert rep.doctor.birth_date == "1971-04-02"
    assert rep.doctor.address == ADDRESS
    assert rep.doctor.phone == "0231 123456"
    assert rep.consultant is not None
    assert rep.consultant.btm_number == "7777777"
    assert (rep.remarks, rep.rule, rep.sources) == (("x",), "R-EP-1", ev.sources)
    assert rep.id.startswith("anm-")
    assert owners == {rep.id: PATIENT}


def test_unknown_consultant_is_left_out() -> None:
    """R-DOC-2: a consultant key without doctor data gives no consultant fields."""
    ev = event(made_on=date(2025, 3, 3), consultant_key="Practitioner/nobody")
    [rep], _, _ = build_reports([ev], DOCTORS, as_of=date(2025, 3, 3))
    assert rep.consultant is None


def test_doctor_fields_are_those_in_force_when_the_report_is_made() -> None:
    """R-CHG-4: a report shows the doctor's phone in force on its made_on day."""
    doc = doctor(
        DOC_A,
        phones=[
            Spell("0231 111", None, date(2025, 3, 9)),
            Spell("0231 222", date(2025, 3, 10)),
        ],
    )
    ev = event("abmeldung", made_on=date(2025, 3, 21), dated=date(2025, 3, 5))
    [rep], _, _ = build_reports([ev], doctors(doc), as_of=date(2025, 3, 31))
    assert rep.doctor.phone == "0231 222"
    assert rep.id.startswith("abm-")
    assert rep.substance is None


@pytest.mark.parametrize(
    ("made_on", "dated"),
    [(date(2025, 4, 1), date(2025, 3, 20)), (date(2025, 3, 31), date(2025, 4, 1))],
    ids=["made-after-as-of", "dated-after-as-of"],
)
def test_nothing_after_as_of_is_reported(made_on: date, dated: date) -> None:
    """R-DATE-3: a report whose made_on or date lies after as-of waits."""
    ev = event("abmeldung", made_on=made_on, dated=dated)
    assert build_reports([ev], DOCTORS, as_of=date(2025, 3, 31)) == ([], [], {})


def test_event_without_code_is_withheld_silently() -> None:
    """R-CODE-3: an uncodable patient's report is withheld (the phase engine made the finding)."""
    ev = event(made_on=date(2025, 3, 3), code=None)
    assert build_reports([ev], DOCTORS, as_of=date(2025, 3, 31)) == ([], [], {})


def test_event_without_a_known_doctor_is_an_error() -> None:
    """R-EP-1: without a substituting doctor no report can be made; the finding says why."""
    ev = event(made_on=date(2025, 3, 3), doctor_key=None)
    reports, [finding], _ = build_reports([ev], DOCTORS, as_of=date(2025, 3, 31))
    assert reports == []
    assert (finding.severity, finding.rule) == ("error", "R-EP-1")
    assert finding.sources == (PATIENT, "MedicationAdministration/ma-1")
    assert "2025-03-03" in finding.message


def test_missing_btm_number_withholds_reports_with_one_finding_per_doctor() -> None:
    """R-DOC-1: a doctor without BtM number gets one error; their reports are withheld."""
    docs = doctors(doctor(DOC_A, btm_number=None), doctor(DOC_B))
    events = [
        event(made_on=date(2025, 3, 3), sources=("MedicationAdministration/1",)),
        event("abmeldung", made_on=date(2025, 3, 20), sources=("MedicationAdministration/2",)),
        event(made_on=date(2025, 3, 4), doctor_key=DOC_B, patient_key="Patient/p2"),
    ]
    reports, findings, _ = build_reports(events, docs, as_of=date(2025, 3, 31))
    assert [r.doctor.btm_number for r in reports] == ["1234567"]
    assert [(f.severity, f.rule, f.sources) for f in findings] == [
        (
            "error",
            "R-DOC-1",
            (DOC_A, "MedicationAdministration/1", "MedicationAdministration/2"),
        )
    ]


def test_ids_are_stable_and_distinct() -> None:
    """REPORTS.md: the same input gives the same id; different reports different ids."""
    events = [
        event(made_on=date(2025, 3, 3)),
        event("abmeldung", made_on=date(2025, 3, 20), dated=date(2025, 3, 9)),
        event(made_on=date(2025, 3, 3), patient_key="Patient/p2"),
    ]
    first, _, _ = build_reports(events, DOCTORS, as_of=date(2025, 3, 31))
    again, _, _ = build_reports(list(events), DOCTORS, as_of=date(2025, 3, 31))
    assert [r.id for r in first] == [r.id for r in again]
    assert len({r.id for r in first}) == 3


def test_id_reveals_no_personal_data() -> None:
    """R-CH-3: an id is a prefix and a hash; neither code nor patient key can be read back."""
    rep_id = report_id("anmeldung", f"anmeldung|{PATIENT}|{DOC_A}|2025-03-03|{CODE}")
    prefix, digest = rep_id.split("-")
    assert prefix == "anm"
    assert len(digest) == 16
    assert int(digest, 16) >= 0
    assert CODE not in rep_id


def test_id_prefix_of_other_kinds_is_their_first_three_letters() -> None:
    """R-INV-1: kinds without a fixed prefix use their first three letters."""
    assert report_id("inventur", "k").startswith("inv-")
    assert report_id("mitteilung", "k").startswith("mit-")


def test_register_doctor_without_any_data_is_empty() -> None:
    """R-DOC-1: a doctor without names, addresses or phones gives empty register fields."""
    reg = register_doctor(doctor(DOC_A, names=[], addresses=[], phones=[]), date(2025, 3, 1))
    assert (reg.family_name, reg.given_name, reg.address, reg.phone) == (None, None, None, None)
    assert reg.btm_number == "1234567"


PHONES = (
    Spell("0231 1", date(2025, 1, 1), date(2025, 3, 31)),
    Spell("0231 2", date(2025, 3, 1), date(2025, 3, 31)),
    Spell("0231 3", date(2025, 3, 15), date(2025, 3, 20)),
)


@pytest.mark.parametrize(
    ("day", "phone"),
    [
        (date(2025, 3, 5), "0231 2"),  # covered by 1 and 2: latest start wins
        (date(2025, 3, 25), "0231 2"),  # 3 has ended: only 1 and 2 cover the day
        (date(2025, 4, 5), "0231 3"),  # covered by none: the latest that started
    ],
    ids=["covering-latest-start", "ended-spell-skipped", "expired-latest-started"],
)
def test_register_doctor_picks_the_spell_in_force(day: date, phone: str) -> None:
    """R-CHG-4: the phone in force on the day (latest start), else the latest that started."""
    assert register_doctor(doctor(DOC_A, phones=PHONES), day).phone == phone


def test_register_doctor_before_any_spell_started_uses_the_known_one() -> None:
    """R-DOC-1: data recorded only from a later day is still better than none."""
    doc = doctor(DOC_A, phones=[Spell("0231 9", date(2025, 3, 15))])
    assert register_doctor(doc, date(2025, 1, 1)).phone == "0231 9"


# -- sort_reports --------------------------------------------------------------------------


def test_reports_sort_by_made_on_then_date_then_doctor_then_code() -> None:
    """REPORTS.md: listed by made_on, then date, then doctor and patient code."""
    a = report(made_on=date(2025, 3, 2), report_id="a")
    b = report(made_on=date(2025, 3, 1), dated=date(2025, 2, 27), report_id="b")
    c = report(made_on=date(2025, 3, 1), dated=date(2025, 2, 26), report_id="c")
    d = report(
        made_on=date(2025, 3, 1), dated=date(2025, 2, 27), btm_number="0000001", report_id="d"
    )
    e = report(made_on=date(2025, 3, 1), dated=date(2025, 2, 27), code="AAAAF111", report_id="e")
    assert [r.id for r in sort_reports([a, b, c, d, e])] == ["c", "d", "e", "b", "a"]


def test_abmeldung_comes_before_anmeldung_on_the_same_day() -> None:
    """REPORTS.md: on one day an Abmeldung comes before the Anmeldung that follows it."""
    anm = report("anmeldung", made_on=date(2025, 3, 11), report_id="anm-0")
    abm = report("abmeldung", made_on=date(2025, 3, 11), report_id="abm-9")
    note = report("mitteilung", made_on=date(2025, 3, 11), code=None, report_id="mit-0")
    other = report("inventur", made_on=date(2025, 3, 11), report_id="inv-0")
    ordered = sort_reports([other, note, anm, abm])
    assert [r.kind for r in ordered] == ["mitteilung", "abmeldung", "anmeldung", "inventur"]


def test_derived_split_sorts_abmeldung_first() -> None:
    """R-CHG-2, REPORTS.md: the split's Abmeldung (date D) precedes its Anmeldung (D + 1)."""
    hist = history(
        *daily(date(2025, 3, 1), date(2025, 3, 9)),
        *daily(date(2025, 3, 10), date(2025, 3, 20), substance="Diamorphin"),
    )
    events = derive(hist, as_of=date(2025, 3, 20)).events
    reports, _, _ = build_reports(list(reversed(events)), DOCTORS, as_of=date(2025, 3, 20))
    ordered = sort_reports(reports)
    assert [(r.kind, r.made_on, r.date) for r in ordered] == [
        ("anmeldung", date(2025, 3, 1), date(2025, 3, 1)),
        ("abmeldung", date(2025, 3, 11), date(2025, 3, 10)),
        ("anmeldung", date(2025, 3, 11), date(2025, 3, 11)),
    ]


# -- R-CODE-9: shared codes ----------------------------------------------------------------


def test_two_patients_sharing_a_code_are_both_reported_and_flagged() -> None:
    """R-CODE-9: both are reported; a warning names both patients' resource ids."""
    events = [
        event(made_on=date(2025, 3, 3), patient_key="Patient/p2"),
        event(made_on=date(2025, 3, 4), patient_key="Patient/p1"),
    ]
    reports, _, owners = build_reports(events, DOCTORS, as_of=date(2025, 3, 31))
    assert len(reports) == 2
    [finding] = shared_code_findings(reports, owners)
    assert (finding.severity, finding.rule) == ("warning", "R-CODE-9")
    assert finding.sources == ("Patient/p1", "Patient/p2")
    assert finding.message.startswith("2 patients")


def test_one_patient_registered_twice_is_no_shared_code() -> None:
    """R-CODE-9: two Anmeldungen of the same patient are not two patients."""
    events = [
        event(made_on=date(2025, 1, 3)),
        event("abmeldung", made_on=date(2025, 1, 20), dated=date(2025, 1, 9)),
        event(made_on=date(2025, 3, 3)),
    ]
    reports, _, owners = build_reports(events, DOCTORS, as_of=date(2025, 3, 31))
    assert shared_code_findings(reports, owners) == []


def test_shared_code_ignores_abmeldungen_and_unowned_reports() -> None:
    """R-CODE-9: only Anmeldungen with a known patient are compared."""
    anm = report(made_on=date(2025, 3, 3), report_id="anm-1")
    abm = report("abmeldung", made_on=date(2025, 3, 3), report_id="abm-1")
    stray = report(made_on=date(2025, 3, 3), report_id="anm-2")
    owners = {"anm-1": "Patient/p1", "abm-1": "Patient/p2"}
    assert shared_code_findings([anm, abm, stray], owners) == []


# -- R-DOC-2: caseload and consulting doctor -----------------------------------------------


def _patients(count: int, start: date, end: date, doctor_key: str | None = DOC_A) -> list[OpenSpan]:
    """`count` patients, each with one phase open from `start` to `end`."""
    return [
        span(start, end, doctor_key=doctor_key, patient_key=f"Patient/p{n}") for n in range(count)
    ]


@pytest.mark.parametrize(
    ("count", "expected"), [(10, 0), (11, 1)], ids=["ten-patients", "eleven-patients"]
)
def test_unqualified_doctor_with_more_than_ten_patients_is_warned(
    count: int, expected: int
) -> None:
    """R-DOC-2: at most 10 patients at once for a doctor without addiction qualification."""
    docs = doctors(doctor(DOC_A, qualified=False))
    spans = _patients(count, date(2025, 3, 1), date(2025, 3, 31))
    findings = caseload_findings(spans, docs)
    assert len(findings) == expected
    if expected:
        assert (findings[0].severity, findings[0].rule, findings[0].sources) == (
            "warning",
            "R-DOC-2",
            (DOC_A,),
        )
        assert "2025-03-01" in findings[0].message


def test_caseload_warning_names_the_first_overloaded_day() -> None:
    """R-DOC-2 (edge case 6): the warning falls on the first day with 11 open phases."""
    docs = doctors(doctor(DOC_A, qualified=False))
    spans = [*_patients(10, date(2025, 3, 1), date(2025, 3, 31))]
    spans.append(span(date(2025, 3, 31), date(2025, 4, 30), patient_key="Patient/late"))
    [finding] = caseload_findings(spans, docs)
    assert "2025-03-31" in finding.message


def test_patient_open_up_to_the_abmeldung_date_only() -> None:
    """R-DOC-2 (edge case 6): a phase closed the day before another opens is not counted."""
    docs = doctors(doctor(DOC_A, qualified=False))
    spans = [*_patients(10, date(2025, 3, 1), date(2025, 3, 30))]
    spans.append(span(date(2025, 3, 31), date(2025, 4, 30), patient_key="Patient/late"))
    assert caseload_findings(spans, docs) == []


def test_caseload_of_qualified_or_unknown_doctors_is_not_checked() -> None:
    """R-DOC-2: the limit binds doctors without the qualification only."""
    docs = doctors(doctor(DOC_A, qualified=True))
    spans = [
        *_patients(11, date(2025, 3, 1), date(2025, 3, 31), DOC_A),
        *_patients(11, date(2025, 3, 1), date(2025, 3, 31), "Practitioner/unknown"),
        *_patients(11, date(2025, 3, 1), date(2025, 3, 31), None),
    ]
    assert caseload_findings(spans, docs) == []


def test_caseload_before_the_qualification_is_checked() -> None:
    """R-DOC-2, R-CHG-5: before the qualification was acquired the 10-patient limit binds."""
    docs = doctors(doctor(DOC_A, qualified=True, qualified_since=date(2025, 6, 1)))
    spans = _patients(11, date(2025, 3, 1), date(2025, 3, 31))
    assert [f.rule for f in caseload_findings(spans, docs)] == ["R-DOC-2"]


def test_unqualified_doctor_without_consultant_reports_without_one_and_errs() -> None:
    """R-DOC-2 (edge case 6): the report is made without a consultant, plus an error."""
    docs = doctors(doctor(DOC_A, qualified=False))
    outcome = derive(
        history(*daily(date(2025, 3, 1), date(2025, 3, 5))), as_of=date(2025, 3, 5), docs=docs
    )
    assert [(e.kind, e.consultant) for e in outcome.events] == [("anmeldung", None)]
    [finding] = outcome.findings
    assert (finding.severity, finding.rule) == ("error", "R-DOC-2")
    assert finding.sources == (DOC_A, PATIENT, "MedicationAdministration/2025-03-01-2025-03-01")
    assert "konsiliararzt" in finding.message
    reports, _, _ = build_reports(outcome.events, docs, as_of=date(2025, 3, 5))
    assert [r.consultant for r in reports] == [None]


def test_unqualified_doctors_consultant_goes_on_the_anmeldung_only() -> None:
    """R-DOC-2: the consulting doctor is on the Anmeldung, never on the Abmeldung."""
    docs = doctors(doctor(DOC_A, qualified=False), doctor(CONSULT_1, btm_number="7777777"))
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 5)), consultants=[consultant()])
    outcome = derive(hist, as_of=date(2025, 4, 30), docs=docs)
    reports, findings, _ = build_reports(outcome.events, docs, as_of=date(2025, 4, 30))
    assert findings == []
    assert [(r.kind, r.consultant.btm_number if r.consultant else None) for r in reports] == [
        ("anmeldung", "7777777"),
        ("abmeldung", None),
    ]


def test_qualified_doctors_consultant_is_not_reported() -> None:
    """R-DOC-2 (edge case 6): a qualified doctor's consulting doctor is not reported."""
    hist = history(*daily(date(2025, 3, 1), date(2025, 3, 5)), consultants=[consultant()])
    outcome = derive(hist, as_of=date(2025, 3, 5))
    assert outcome.events[0].consultant is None


def test_address_value_round_trips_into_the_report() -> None:
    """R-DOC-1: the business address in force is what the report shows."""
    new = Address(("Neue Straße 1",), "44137", "Dortmund")
    doc = doctor(
        DOC_A, addresses=[Spell(ADDRESS, None, date(2025, 2, 28)), Spell(new, date(2025, 3, 1))]
    )
    [rep], _, _ = build_reports(
        [event(made_on=date(2025, 3, 3))], doctors(doc), as_of=date(2025, 3, 3)
    )
    assert rep.doctor.address == new
