"""Use cases: what the CLI and the API call. Wires the FHIR edge to the pure domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from adapter.domain.codes import NameRules
from adapter.domain.model import Derivation, Doctor
from adapter.domain.phases import derive_phases
from adapter.domain.pipeline import reports_due, unique_findings
from adapter.domain.reports import sort_reports
from adapter.fhir.assemble import Assembly
from adapter.fhir.collect import Collection, Collector
from adapter.fhir.doctors import build_doctors
from adapter.fhir.source import read_paths
from adapter.mappings import Mappings, load_mappings
from adapter.settings.practice import PracticeConfig


def derive(
    paths: list[Path],
    *,
    as_of: date,
    config: PracticeConfig | None = None,
    mappings: Mappings | None = None,
) -> Derivation:
    """Every report the data calls for up to `as_of` (REPORTS.md), with findings.

    Raises `adapter.errors.InputError` when the input cannot be used at all.
    """
    practice = read_practice(paths, config, mappings)
    doctors, rules = practice.doctors, practice.rules
    # One patient at a time: its covers are walked, then dropped (memory of a large export).
    assembly = Assembly(practice.collection, consume=True)
    events, spans, findings = [], [], []
    for history in assembly:
        outcome = derive_phases(history, doctors, rules, as_of=as_of)
        events.extend(outcome.events)
        spans.extend(outcome.walked_spans)
        findings.extend(outcome.findings)
    findings += assembly.findings
    due = reports_due(events, spans, doctors, as_of=as_of)
    reports = sort_reports(due.reports + due.notices)
    return Derivation(as_of, reports, unique_findings(findings + due.findings))


@dataclass(frozen=True, slots=True)
class PracticeData:
    """An export read whole: its records, the doctors and the name rules (D-7)."""

    collection: Collection
    doctors: dict[str, Doctor]
    rules: NameRules


def read_practice(
    paths: list[Path], config: PracticeConfig | None, mappings: Mappings | None
) -> PracticeData:
    """Read the files and folders named; `InputError` when they cannot be used at all."""
    collector = Collector(mappings or load_mappings())
    for item in read_paths(paths):
        collector.add(item)
    collection = collector.result
    doctors = build_doctors(collection, config or PracticeConfig())
    return PracticeData(collection, doctors, collector.mappings.names)
