"""The handover the document and domain tests share: Thomas Reuter, registered by
Dr. Falkner since 2025-01-07, handed over to JVA Leipzig on 2025-12-31."""

from __future__ import annotations

from datetime import date

from adapter.domain.handover import HandedPatient, Handover, LastReport, Registration
from adapter.domain.model import Address, RegisterDoctor

FALKNER = RegisterDoctor(
    "3990101",
    "Falkner",
    "Miriam",
    "1974-09-30",
    Address(("Karl-Heine-Straße 4",), "04229", "Leipzig"),
    "0341 5550101",
)
KONSIL = RegisterDoctor("3770303", "Öztürk", "Aylin", None, None, None)
HANDOVER = Handover(
    document_id="0b7f3c9e-8a51-4c2e-9d7a-1f2e3d4c5b6a",
    day=date(2025, 12, 31),
    sender="Praxis Falkner",
    receiver="JVA Leipzig",
    patient=HandedPatient("Reuter", "Thomas", "1979-04-12", "M"),
    substance="Levomethadon",
    last_dose=date(2025, 12, 30),
    covered_until=date(2026, 1, 2),
    consultant=KONSIL,
    registration=Registration("THREM249", FALKNER, date(2025, 1, 7), "Levomethadon", "sent"),
    last_report=LastReport(
        "anmeldung",
        date(2025, 1, 7),
        date(2025, 1, 7),
        "acknowledged",
        "2025-01-08T09:00:00+00:00",
        "R-2025-000123",
        "2025-01-08T09:00:05+00:00",
    ),
)
