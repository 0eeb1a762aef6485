"""Generate a deterministic practice-year (2025) as FHIR Bulk Data NDJSON, one file per type.

    python benchmarks/generate.py OUTDIR [--scale N] [--patients N] [--seed S]

Scale 1 is a practice of 80 substitution patients and two doctors (one with the
addiction qualification, one without, whose patients have the first as consulting
doctor in a CareTeam), 27,000–29,000 resources depending on the seed (27,156 with
the default). `--scale N` multiplies the patients; a
further pair of doctors joins for every 80 patients, so the caseload per doctor stays
realistic. Every patient gets:

- daily supervised intake: one MedicationAdministration per day (Europe/Berlin times
  with +01:00/+02:00 offsets, a few written in UTC), tied to a weekly MedicationRequest
  marked S; about 2 % of the days are missed (status not-done);
- a third of the patients: after four weeks of supervised intake, every other week
  (at random) a take-home week instead: a MedicationRequest marked ST
  (expectedSupplyDuration 7 d) and a MedicationDispense with daysSupply 7;
- about two consultations a month (finished Encounters with a Practitioner participant);
- an EpisodeOfCare of type substitution (careManager = the patient's doctor).

Some patients start late in the year, some stop (half of them with a finished
EpisodeOfCare), some interrupt treatment for 12–40 days, a few switch substance, so
that Abmeldungen and new Anmeldungen occur. Substances: Methadon (N07BC02),
Levomethadon (N07BC05), Buprenorphin (N07BC01) by ATC. Persons and numbers are invented;
patient codes are unique. The export ends on 2025-12-31.

The same seed and size give the same bytes; patient i's data depends only on the seed,
i and the patients before it, so a larger scale extends a smaller one. Resources are
written one line at a time: memory stays flat whatever the scale.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
SR = "https://fhir.substreg.dev"
ATC = "http://fhir.de/CodeSystem/bfarm/atc"
BTMNR = "http://fhir.de/sid/bfarm/btmnr"
ANR = "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR"
UCUM = "http://unitsofmeasure.org"

YEAR_START = date(2025, 1, 1)
YEAR_END = date(2025, 12, 31)
PATIENTS_PER_SCALE = 80
PATIENTS_PER_DOCTOR_PAIR = 80
DEFAULT_SEED = 2025
RESOURCE_TYPES = (
    "Patient",
    "Practitioner",
    "CareTeam",
    "EpisodeOfCare",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationDispense",
    "Encounter",
)

Json = dict[str, Any]

# (ATC, substance, product text, dose, unit)
SUBSTANCES = (
    ("N07BC02", "Methadon", "Methaddict 10 mg Tabletten", (40, 120), "mg"),
    ("N07BC05", "Levomethadon", "L-Polaflux 5 mg/ml Lösung zum Einnehmen", (20, 60), "mg"),
    ("N07BC01", "Buprenorphin", "Subutex 8 mg Sublingualtabletten", (4, 24), "mg"),
)
SUBSTANCE_WEIGHTS = (0.45, 0.35, 0.20)

# fmt: off
GIVEN_F = (
    "Anna", "Birgit", "Carla", "Dana", "Elena", "Frieda", "Gisela", "Hanna", "Ines", "Jana",
    "Katrin", "Lena", "Maria", "Nadine", "Olga", "Paula", "Rita", "Sabine", "Tanja", "Ute",
    "Vera", "Wiebke", "Yvonne", "Zora", "Agnes", "Bettina", "Clara", "Doris", "Emma", "Fiona",
)
GIVEN_M = (
    "Andreas", "Bernd", "Christian", "Dirk", "Erik", "Felix", "Georg", "Holger", "Ingo", "Jens",
    "Klaus", "Lars", "Martin", "Norbert", "Oliver", "Peter", "Rainer", "Stefan", "Thomas",
    "Uwe", "Volker", "Walter", "Xaver", "Yannick", "Achim", "Benno", "Carsten", "Detlef",
    "Egon", "Frank",
)
FAMILY = (
    "Albrecht", "Bauer", "Conrad", "Dietrich", "Ebert", "Fischer", "Gerber", "Hartmann",
    "Imhof", "Jung", "Keller", "Lorenz", "Maurer", "Neumann", "Otto", "Pohl", "Quandt",
    "Richter", "Schulz", "Thiel", "Ulrich", "Vogel", "Wagner", "Xander", "Yilmaz", "Ziegler",
    "Arndt", "Brandt", "Claussen", "Dreyer", "Engel", "Fuchs", "Gruber", "Horn", "Ilgner",
    "Jansen", "Kraus", "Lange", "Mertens", "Nowak", "Ostermann", "Peters", "Roth", "Sauer",
    "Tews", "Unger", "Voss", "Weber", "Zander",
)
# fmt: on
CITIES = (
    ("Leipzig", "04109", "0341"),
    ("Bremen", "28195", "0421"),
    ("Kassel", "34117", "0561"),
    ("Rostock", "18055", "0381"),
)
STREETS = ("Hauptstraße", "Bahnhofstraße", "Lindenallee", "Marktplatz", "Schillerstraße")


# -- practitioners -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doctor:
    id: str
    btm: str
    qualified: bool


def practitioner(number: int, rng: random.Random) -> tuple[Doctor, Json]:
    """Doctor `number`: even numbers are addiction-qualified, odd ones are not."""
    qualified = number % 2 == 0
    doctor = Doctor(f"doc-{number:04d}", f"{3700101 + number}", qualified)
    city, postal, area = CITIES[(number // 2) % len(CITIES)]
    sex = rng.choice(("female", "male"))
    given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
    birth = date(rng.randint(1960, 1988), rng.randint(1, 12), rng.randint(1, 28))
    qualifications: list[Json] = [{"code": {"text": "Facharzt für Allgemeinmedizin"}}]
    if qualified:
        qualifications.append(
            {
                "code": {
                    "coding": [
                        {
                            "system": f"{SR}/CodeSystem/qualification",
                            "code": "suchtmedizin",
                            "display": "Suchtmedizinische Grundversorgung",
                        }
                    ]
                }
            }
        )
    resource: Json = {
        "resourceType": "Practitioner",
        "id": doctor.id,
        "identifier": [
            {"system": BTMNR, "value": doctor.btm},
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "LANR"}
                    ]
                },
                "system": ANR,
                "value": f"{6100000 + number * 7:07d}01",
            },
        ],
        "name": [
            {
                "use": "official",
                "family": rng.choice(FAMILY),
                "given": [given],
                "prefix": ["Dr. med."],
                "_prefix": [
                    {
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
                                "valueCode": "AC",
                            }
                        ]
                    }
                ],
            }
        ],
        "gender": sex,
        "birthDate": birth.isoformat(),
        "qualification": qualifications,
        "telecom": [{"system": "phone", "value": f"{area} {5550000 + number * 17}", "use": "work"}],
        "address": [
            {
                "use": "work",
                "type": "both",
                "line": [f"{STREETS[number % len(STREETS)]} {10 + number}"],
                "city": city,
                "postalCode": postal,
                "country": "DE",
            }
        ],
    }
    return doctor, resource


# -- one patient's year ---------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """What happens to one patient in 2025, day by day."""

    index: int
    pid: str
    doctor: Doctor
    other: Doctor  # the other doctor of the pair (consultant, occasional consultation)
    take_home: bool
    stretches: list[tuple[date, date]]  # treatment runs, inclusive; gaps between them
    finished: bool  # EpisodeOfCare finished at the end of the last stretch
    substance: int
    switch: tuple[date, int] | None  # from this day on another substance
    dose: int
    resources: dict[str, int] = field(default_factory=dict)

    def substance_on(self, day: date) -> int:
        if self.switch is not None and day >= self.switch[0]:
            return self.switch[1]
        return self.substance


def plan_patient(index: int, pair: tuple[Doctor, Doctor], rng: random.Random) -> Plan:
    own, other = (pair[0], pair[1]) if index % 2 == 0 else (pair[1], pair[0])
    if rng.random() < 0.9:
        first = YEAR_START + timedelta(days=rng.randint(0, 9))
    else:  # starts late
        first = date(2025, rng.randint(2, 8), rng.randint(1, 28))
    last = YEAR_END
    stops = rng.random() < 0.12
    if stops:
        last = min(first + timedelta(days=rng.randint(120, 320)), date(2025, 12, 10))
    stretches = [(first, last)]
    span = (last - first).days
    if rng.random() < 0.15 and span > 130:  # interrupts treatment (> 10 days: Abmeldung)
        gap_start = first + timedelta(days=rng.randint(50, span - 70))
        gap_end = gap_start + timedelta(days=rng.randint(12, 40) - 1)
        stretches = [(first, gap_start - timedelta(days=1)), (gap_end + timedelta(days=1), last)]
    substance = rng.choices(range(len(SUBSTANCES)), SUBSTANCE_WEIGHTS)[0]
    switch = None
    if rng.random() < 0.05 and span > 60:
        switch = (
            first + timedelta(days=rng.randint(30, span - 20)),
            (substance + 1) % len(SUBSTANCES),
        )
    low, high = SUBSTANCES[substance][3]
    return Plan(
        index=index,
        pid=f"pat-{index:06d}",
        doctor=own,
        other=other,
        take_home=index % 3 == 0,
        stretches=stretches,
        finished=stops and rng.random() < 0.5,
        substance=substance,
        switch=switch,
        dose=rng.randrange(low, high + 1, 2),
    )


def code(given: str, family: str, sex: str, birth: date) -> str:
    """The register code (R-CODE) of a plain ASCII name, to keep codes unique."""
    digits = f"{birth.day % 10}{birth.month % 10}{birth.year % 10}"
    return f"{given[:2]}{family[:2]}".upper() + ("F" if sex == "female" else "M") + digits


def patient_resource(plan: Plan, rng: random.Random, used_codes: set[str]) -> Json:
    while True:
        sex = rng.choice(("female", "male"))
        given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
        family = rng.choice(FAMILY)
        birth = date(rng.randint(1965, 2002), rng.randint(1, 12), rng.randint(1, 28))
        register_code = code(given, family, sex, birth)
        if register_code not in used_codes:
            used_codes.add(register_code)
            break
    city, postal, _ = CITIES[(plan.index // PATIENTS_PER_DOCTOR_PAIR) % len(CITIES)]
    return {
        "resourceType": "Patient",
        "id": plan.pid,
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://fhir.de/CodeSystem/identifier-type-de-basis",
                            "code": "KVZ10",
                        }
                    ]
                },
                "system": "http://fhir.de/sid/gkv/kvid-10",
                "value": f"{chr(65 + plan.index % 26)}{plan.index:09d}",
            }
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": sex,
        "birthDate": birth.isoformat(),
        "address": [
            {"use": "home", "type": "both", "city": city, "postalCode": postal, "country": "DE"}
        ],
    }


def _ref(kind: str, rid: str) -> Json:
    return {"reference": f"{kind}/{rid}"}


def _medication(substance: int) -> Json:
    atc, name, product, _, _ = SUBSTANCES[substance]
    return {
        "coding": [{"system": ATC, "version": "2025", "code": atc, "display": name}],
        "text": product,
    }


def _moment(day: date, minutes: int, *, utc: bool = False) -> str:
    """A Europe/Berlin time of day as FHIR dateTime (+01:00/+02:00, or Z)."""
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=BERLIN)
    if utc:
        return local.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return local.isoformat()


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _weeks(plan: Plan, start: date, end: date, rng: random.Random) -> list[tuple[str, date, date]]:
    """Blocks of one stretch: ("S", first, last) supervised, ("ST", first, last) take-home.

    Supervised blocks follow the calendar week (one S prescription each); a take-home
    patient gets, after four weeks of supervised intake, every other week as take-home.
    """
    blocks: list[tuple[str, date, date]] = []
    day = start
    settled = start + timedelta(days=28)
    while day <= end:
        week_end = min(day + timedelta(days=6 - day.weekday()), end)
        if plan.take_home and day >= settled and day.weekday() == 0:
            week_end = day + timedelta(days=6)
            if week_end <= end and rng.random() < 0.5:
                blocks.append(("ST", day, week_end))
                day = week_end + timedelta(days=1)
                continue
            week_end = min(week_end, end)
        blocks.append(("S", day, week_end))
        day = week_end + timedelta(days=1)
    return blocks


def patient_year(plan: Plan, rng: random.Random) -> Iterator[tuple[str, Json]]:
    """Every resource of one patient's year except the Patient itself."""
    pid, doc = plan.pid, plan.doctor
    eoc_id = f"eoc-{plan.index:06d}"
    first, last = plan.stretches[0][0], plan.stretches[-1][1]
    eoc_period = {"start": first.isoformat()}
    if plan.finished:
        eoc_period["end"] = last.isoformat()
    yield (
        "EpisodeOfCare",
        {
            "resourceType": "EpisodeOfCare",
            "id": eoc_id,
            "status": "finished" if plan.finished else "active",
            "type": [
                {
                    "coding": [
                        {
                            "system": f"{SR}/CodeSystem/episode-type",
                            "code": "substitution",
                            "display": "Substitutionsbehandlung",
                        }
                    ]
                }
            ],
            "patient": _ref("Patient", pid),
            "period": eoc_period,
            "careManager": _ref("Practitioner", doc.id),
        },
    )
    if not doc.qualified:
        yield (
            "CareTeam",
            {
                "resourceType": "CareTeam",
                "id": f"ct-{plan.index:06d}",
                "status": "active",
                "subject": _ref("Patient", pid),
                "participant": [
                    {
                        "role": [
                            {
                                "coding": [
                                    {
                                        "system": f"{SR}/CodeSystem/care-team-role",
                                        "code": "konsiliararzt",
                                    }
                                ]
                            }
                        ],
                        "member": _ref("Practitioner", plan.other.id),
                        "period": {"start": (first - timedelta(days=14)).isoformat()},
                    }
                ],
            },
        )
    counter = {"mr": 0, "ma": 0, "md": 0, "enc": 0}

    def next_id(prefix: str) -> str:
        counter[prefix] += 1
        return f"{prefix}-{plan.index:06d}-{counter[prefix]:04d}"

    context = _ref("EpisodeOfCare", eoc_id)
    for start, end in plan.stretches:
        for kind, block_start, block_end in _weeks(plan, start, end, rng):
            substance = plan.substance_on(block_start)
            mr_id = next_id("mr")
            request: Json = {
                "resourceType": "MedicationRequest",
                "id": mr_id,
                "status": "completed" if block_end < YEAR_END else "active",
                "intent": "order",
                "category": [{"coding": [{"system": f"{SR}/CodeSystem/btm-marker", "code": kind}]}],
                "medicationCodeableConcept": _medication(substance),
                "subject": _ref("Patient", pid),
                "authoredOn": block_start.isoformat(),
                "requester": _ref("Practitioner", doc.id),
                "dosageInstruction": [
                    {
                        "text": f"{plan.dose} {SUBSTANCES[substance][4]} 1x täglich",
                        "doseAndRate": [
                            {"doseQuantity": {"value": plan.dose, "unit": "mg", "system": UCUM}}
                        ],
                    }
                ],
            }
            if kind == "ST":
                request["dispenseRequest"] = {
                    "validityPeriod": {"start": block_start.isoformat()},
                    "expectedSupplyDuration": {
                        "value": 7,
                        "unit": "d",
                        "system": UCUM,
                        "code": "d",
                    },
                }
            yield "MedicationRequest", request
            if kind == "ST":
                yield (
                    "MedicationDispense",
                    {
                        "resourceType": "MedicationDispense",
                        "id": next_id("md"),
                        "status": "completed",
                        "medicationCodeableConcept": _medication(substance),
                        "subject": _ref("Patient", pid),
                        "context": context,
                        "performer": [{"actor": _ref("Practitioner", doc.id)}],
                        "authorizingPrescription": [_ref("MedicationRequest", mr_id)],
                        "quantity": {"value": 7 * plan.dose, "unit": "mg", "system": UCUM},
                        "daysSupply": {"value": 7, "unit": "Tag", "system": UCUM, "code": "d"},
                        "whenHandedOver": _moment(block_start, rng.randint(450, 720)),
                    },
                )
                continue
            for day in _days(block_start, block_end):
                # The prescription's own day is always taken (it covers that day anyway).
                missed = day != block_start and rng.random() < 0.02
                administration: Json = {
                    "resourceType": "MedicationAdministration",
                    "id": next_id("ma"),
                    "status": "not-done" if missed else "completed",
                    "medicationCodeableConcept": _medication(plan.substance_on(day)),
                    "subject": _ref("Patient", pid),
                    "context": context,
                    "effectiveDateTime": _moment(
                        day, rng.randint(450, 720), utc=rng.random() < 0.03
                    ),
                    "performer": [{"actor": _ref("Practitioner", doc.id)}],
                    "request": _ref("MedicationRequest", mr_id),
                    "dosage": {
                        "dose": {"value": plan.dose, "unit": "mg", "system": UCUM},
                        "route": {"text": "oral"},
                    },
                }
                if missed:
                    administration["statusReason"] = [{"text": "nicht erschienen"}]
                yield "MedicationAdministration", administration
        yield from _consultations(plan, start, end, next_id, rng)


def _consultations(
    plan: Plan, start: date, end: date, next_id: Callable[[str], str], rng: random.Random
) -> Iterator[tuple[str, Json]]:
    """About two finished consultations a month, on treatment days."""
    month_days: dict[int, list[date]] = {}
    for day in _days(start, end):
        month_days.setdefault(day.month, []).append(day)
    for days in month_days.values():
        for day in sorted(rng.sample(days, min(2, len(days)))):
            begin = rng.randint(540, 1080)
            doctor = plan.doctor if rng.random() < 0.9 else plan.other
            yield (
                "Encounter",
                {
                    "resourceType": "Encounter",
                    "id": next_id("enc"),
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                        "display": "ambulatory",
                    },
                    "type": [{"text": "Substitutionsgespräch"}],
                    "subject": _ref("Patient", plan.pid),
                    "episodeOfCare": [_ref("EpisodeOfCare", f"eoc-{plan.index:06d}")],
                    "participant": [
                        {
                            "type": [
                                {
                                    "coding": [
                                        {
                                            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                            "code": "PPRF",
                                        }
                                    ]
                                }
                            ],
                            "individual": _ref("Practitioner", doctor.id),
                        }
                    ],
                    "period": {
                        "start": _moment(day, begin),
                        "end": _moment(day, begin + rng.randint(10, 30)),
                    },
                },
            )


# -- writing ------------------------------------------------------------------------


def patient_count(scale: float) -> int:
    return max(1, round(PATIENTS_PER_SCALE * scale))


def generate(outdir: Path, *, patients: int, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the NDJSON files into `outdir`; the number of resources per type."""
    outdir.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    handles: dict[str, IO[str]] = {}
    try:
        for kind in RESOURCE_TYPES:
            handles[kind] = (outdir / f"{kind}.ndjson").open("w", encoding="utf-8", newline="\n")

        def write(kind: str, resource: Json) -> None:
            handles[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
            handles[kind].write("\n")
            counts[kind] += 1

        pairs = math.ceil(patients / PATIENTS_PER_DOCTOR_PAIR)
        doctor_pairs = []
        for pair in range(pairs):
            rng = random.Random(f"{seed}:doctors:{pair}")
            first, first_json = practitioner(2 * pair, rng)
            second, second_json = practitioner(2 * pair + 1, rng)
            write("Practitioner", first_json)
            write("Practitioner", second_json)
            doctor_pairs.append((first, second))
        used_codes: set[str] = set()
        for index in range(patients):
            rng = random.Random(f"{seed}:patient:{index}")
            plan = plan_patient(index, doctor_pairs[index // PATIENTS_PER_DOCTOR_PAIR], rng)
            write("Patient", patient_resource(plan, rng, used_codes))
            for kind, resource in patient_year(plan, rng):
                write(kind, resource)
    finally:
        for handle in handles.values():
            handle.close()
    for kind in RESOURCE_TYPES:  # a type this size does not produce leaves no empty file
        if counts[kind] == 0:
            (outdir / f"{kind}.ndjson").unlink()
    return {kind: n for kind, n in counts.items() if n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--scale", type=float, default=1.0, help="× 80 patients (default 1)")
    parser.add_argument("--patients", type=int, help="number of patients (overrides --scale)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    patients = args.patients if args.patients is not None else patient_count(args.scale)
    if patients < 1:
        parser.error("at least one patient")
    counts = generate(args.outdir, patients=patients, seed=args.seed)
    for kind, n in counts.items():
        print(f"{kind:<26}{n:>10,}")
    print(f"{'total':<26}{sum(counts.values()):>10,}   ({patients} patients) → {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
