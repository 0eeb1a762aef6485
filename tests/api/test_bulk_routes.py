"""The bulk reports over the service (R-INV-1, R-PAU-1): the same use cases as
`substreg inventory` and `substreg blanket-deregistration`, for doctors of the tenant."""

from __future__ import annotations

from adapter.store.registry import Role
from tests.api.service import Service

DOCTOR = "1234567"  # the doctor of every report of tests/api/service.py


def test_a_doctor_makes_the_inventory_once_per_key_date(service: Service) -> None:
    """Five open registrations, five pending Inventur-Meldungen; again: none, five known."""
    client = service.client()
    doctor = service.auth("alpha", Role.DOCTOR)
    body = {"key_date": "2026-12-01", "doctor": DOCTOR}
    made = client.post("/reports/inventory", headers=doctor, json=body)
    assert made.status_code == 200, made.text
    assert len(made.json()["recorded"][DOCTOR]) == 5
    again = client.post("/reports/inventory", headers=doctor, json=body).json()
    assert again["recorded"] == {DOCTOR: []} and again["already"] == 5
    pending = client.get("/reports", params={"state": "pending"}, headers=doctor).json()
    assert [r["kind"] for r in pending["reports"]].count("inventur") == 5
    beta = client.get("/reports", headers=service.auth("beta", Role.DOCTOR)).json()["reports"]
    assert "inventur" not in [r["kind"] for r in beta]


def test_staff_may_not_and_a_day_to_come_is_a_business_rule(service: Service) -> None:
    """Only doctors record bulk reports; a key date after today is refused (409)."""
    client = service.client()
    staff = client.post(
        "/reports/inventory",
        headers=service.auth("alpha", Role.STAFF),
        json={"key_date": "2026-12-01"},
    )
    assert staff.status_code == 403
    later = client.post(
        "/reports/inventory",
        headers=service.auth("alpha", Role.DOCTOR),
        json={"key_date": "2026-12-02"},
    )
    assert later.status_code == 409 and "still to come" in later.text


def test_the_blanket_is_shown_then_recorded_only_when_confirmed(service: Service) -> None:
    """The plan shows the five registrations it ends; without confirm: refused (422)."""
    client = service.client()
    doctor = service.auth("alpha", Role.DOCTOR)
    body = {"doctor": DOCTOR, "date": "2026-12-01"}
    plan = client.post("/reports/blanket-deregistration/plan", headers=doctor, json=body).json()
    assert len(plan["ends"]) == 5 and plan["made_already"] is False
    unconfirmed = client.post("/reports/blanket-deregistration", headers=doctor, json=body)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["issue"][0]["expression"] == ["confirm"]
    made = client.post(
        "/reports/blanket-deregistration", headers=doctor, json=body | {"confirm": True}
    ).json()
    assert len(made["recorded"][DOCTOR]) == 1
    kinds = [r["kind"] for r in client.get("/reports", headers=doctor).json()["reports"]]
    assert kinds.count("pauschalabmeldung") == 1


def test_a_second_blanket_and_one_that_ends_nothing_are_refused(service: Service) -> None:
    """D-212: a blanket of a day before any treatment began ends nothing (409); one of
    another date while the first is pending names it (409); neither is recorded."""
    client = service.client()
    doctor = service.auth("alpha", Role.DOCTOR)
    body = {"doctor": DOCTOR, "date": "2026-11-30", "confirm": True}
    early = client.post(
        "/reports/blanket-deregistration", headers=doctor, json=body | {"date": "2000-01-01"}
    )
    assert early.status_code == 409 and "nothing to deregister" in early.text
    first = client.post("/reports/blanket-deregistration", headers=doctor, json=body).json()
    [first_id] = first["recorded"][DOCTOR]
    other = client.post(
        "/reports/blanket-deregistration", headers=doctor, json=body | {"date": "2026-12-01"}
    )
    assert other.status_code == 409 and f"{first_id}, 2026-11-30, pending" in other.text
    kinds = [r["kind"] for r in client.get("/reports", headers=doctor).json()["reports"]]
    assert kinds.count("pauschalabmeldung") == 1


def test_a_deceased_doctor_s_blanket_carries_the_declaration(service: Service) -> None:
    """D-197: with `deceased`, the report states the date of death and who signs; an
    employee without a reason is a business rule (409), nothing recorded."""
    client = service.client()
    doctor = service.auth("alpha", Role.DOCTOR)
    body = {"doctor": DOCTOR, "date": "2026-12-01", "confirm": True}
    staff = {"died_on": "2026-12-01", "declared_by": "Petra Lang", "declarant": "staff"}
    refused = client.post(
        "/reports/blanket-deregistration", headers=doctor, json=body | {"deceased": staff}
    )
    assert refused.status_code == 409 and "give the reason" in refused.text
    successor = {"died_on": "2026-12-01", "declared_by": "Dr. Lea Winter"}
    made = client.post(
        "/reports/blanket-deregistration", headers=doctor, json=body | {"deceased": successor}
    ).json()
    [ledger_id] = made["recorded"][DOCTOR]
    shown = client.get(f"/reports/{ledger_id}", headers=doctor)
    assert shown.status_code == 200 and "Sterbedatum 01.12.2026" in shown.text


def test_the_plan_quotes_the_deceased_doctor_s_remarks_and_a_rejected_one_frees_the_day(
    service: Service,
) -> None:
    """D-248, D-249: the plan with `deceased` quotes the remarks to be recorded; another
    declaration while one is pending is a 409 naming it; once rejected, the corrected one
    is recorded for the same day."""
    client = service.client()
    doctor = service.auth("alpha", Role.DOCTOR)
    body = {"doctor": DOCTOR, "date": "2026-12-01"}
    winter = {"died_on": "2026-12-01", "declared_by": "Dr. Lea Winter"}
    plan = client.post(
        "/reports/blanket-deregistration/plan", headers=doctor, json=body | {"deceased": winter}
    ).json()
    assert "Sterbedatum 01.12.2026" in plan["remarks"][0]
    assert plan["remarks"][1].startswith("Erklärt und unterschrieben von Dr. Lea Winter")
    made = client.post(
        "/reports/blanket-deregistration",
        headers=doctor,
        json=body | {"deceased": winter, "confirm": True},
    ).json()
    [first] = made["recorded"][DOCTOR]
    brandt = winter | {"declared_by": "Dr. Jonas Brandt"}
    again = body | {"deceased": brandt, "confirm": True}
    refused = client.post("/reports/blanket-deregistration", headers=doctor, json=again)
    assert refused.status_code == 409 and f"({first}, pending)" in refused.text
    client.post(f"/reports/{first}/reject", headers=doctor, json={"reason": "wrong declarant"})
    second = client.post("/reports/blanket-deregistration", headers=doctor, json=again).json()
    assert len(second["recorded"][DOCTOR]) == 1 and second["recorded"][DOCTOR] != [first]
