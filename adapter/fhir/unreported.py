"""Never silent: why a resource that looks like substitution gives no day with a drug.

A BtM marker (S, ST, N, K), a Medication whose category says Betäubungsmittel, or a
substitution substance make a resource look like substitution. Each such resource ends in
a report (through its covered days) or in one of the findings made here, which name every
such resource (INPUT.md edge cases 13 and 20, R-SUB-5, R-NOT-3). One finding per patient
and reason, so that a year of daily intake is one finding, not hundreds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from adapter.domain.model import Finding, Severity

# reason → (severity, rule, message with {n}, {patient} and {details})
_REASONS: dict[str, tuple[Severity, str, str]] = {
    "unidentified": (
        "error",
        "R-SUB-1",
        "{n} BtM prescription(s) or event(s) of {patient} name no substance the adapter can "
        "identify (they carry {details}): send the ATC code or the ingredient, or add the code "
        "to mappings/codes.json (see mappings/README.md in the package, adapter/data/mappings).",
    ),
    "missing": (
        "error",
        "INPUT",
        "{n} BtM prescription(s) or event(s) of {patient} refer to a Medication that is not in "
        "the input: send the Medication with them.",
    ),
    "marked-other": (
        "error",
        "R-SUB-1",
        "{n} prescription(s) or event(s) of {patient} are marked S/ST but name a substance that "
        "is no substitution drug ({details}): correct the marker or the medication.",
    ),
    "other-btm": (
        "info",
        "R-SUB-5",
        "{n} BtM prescription(s) or event(s) of {patient} are of a substance that is no "
        "substitution drug ({details}): not reported.",
    ),
    "emergency": (
        "info",
        "R-NOT-3",
        "{n} prescription(s) of {patient} are marked {details}, not S or ST: not a "
        "substitution prescription, not reported (a single emergency dose, R-NOT-3).",
    ),
    "untied-btm": (
        "info",
        "R-SUB-5",
        "{n} BtM prescription(s) or event(s) of {patient} ({details}) are not tied to a "
        "substitution (no S/ST marker, substitution EpisodeOfCare or ICD-10-GM F11.2 reason) "
        "and are not reported: mark the prescription S or ST if this is substitution.",
    ),
    "void": (
        "info",
        "INPUT",
        "{n} S/ST prescription(s) of {patient} have the status {details}: not reported.",
    ),
    "undated": (
        "error",
        "INPUT",
        "{n} S/ST prescription(s) of {patient} have neither dispenseRequest.validityPeriod.start "
        "nor authoredOn: they cannot be dated; send one of them.",
    ),
    "no-events": (
        "info",
        "INPUT",
        "{n} prescription(s) of {patient} ({details}) are tied to a substitution but carry no "
        "S/ST marker and have no administration or dispense in the input: they cover no day "
        "(only an S/ST prescription covers days by itself, INPUT.md).",
    ),
    "prescription-missing": (
        "error",
        "INPUT",
        "{n} event(s) of {patient} name a prescription that is not in the input ({details}): "
        "its BtM marker, reach and doctor are unknown, so the event may be reported wrongly "
        "or not at all. Send the prescription with its dispenses and administrations.",
    ),
    "prescription-foreign": (
        "error",
        "INPUT",
        "{n} event(s) of {patient} name the prescription of another patient ({details}): it "
        "is not used for them. Correct the event's subject, or its prescription.",
    ),
    "dispenses-void": (
        "warning",
        "INPUT",
        "{n} S/ST prescription(s) of {patient} were dispensed, but no dispense gives a day with "
        "a drug (see the dispenses' findings).",
    ),
}
# Methadone and levomethadone are warned about when untied (INPUT.md), whatever marks them.
_WARN_UNTIED = frozenset({"Methadon", "Levomethadon"})


@dataclass(slots=True)
class Unreported:
    """Resources that look like substitution and give no covered day, with the reason."""

    notes: dict[tuple[str, str], list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def note(self, reason: str, patient: str, source: str, detail: str = "") -> None:
        self.notes[(reason, patient)].append((source, detail))

    def named(self) -> set[str]:
        return {source for entries in self.notes.values() for source, _ in entries}

    def findings(self) -> list[Finding]:
        found = []
        for (reason, patient), entries in sorted(self.notes.items()):
            severity, rule, message = _REASONS[reason]
            details = sorted({d for _, d in entries if d})
            if reason == "untied-btm" and any(d.split()[0] in _WARN_UNTIED for d in details):
                severity = "warning"
            sources = tuple(dict.fromkeys(s for s, _ in entries))
            text = message.format(
                n=len(sources), patient=patient, details=", ".join(details) or "no code"
            )
            found.append(Finding(severity, rule, text, (patient, *sources)))
        return found
