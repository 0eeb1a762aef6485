"""Render a derivation: the JSON document of REPORTS.md, or a table for people."""

from __future__ import annotations

from typing import Any

import orjson

from adapter.domain.model import Derivation, Finding
from adapter.domain.payload import report_json


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "severity": finding.severity,
        "rule": finding.rule,
        "message": finding.message,
        "sources": list(finding.sources),
    }


def derivation_json(derivation: Derivation) -> bytes:
    document = {
        "as_of": derivation.as_of.isoformat(),
        "reports": [report_json(r) for r in derivation.reports],
        "findings": [finding_json(f) for f in derivation.findings],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def derivation_table(derivation: Derivation) -> str:
    """A plain-text table: one line per report, then the findings."""
    header = ("made on", "kind", "code", "date", "substance", "doctor BtM", "consultant", "rule")
    rows = [
        (
            r.made_on.isoformat(),
            r.kind,
            r.patient_code or "–",
            r.date.isoformat(),
            r.substance or "–",
            r.doctor.btm_number or "–",
            r.consultant.btm_number if r.consultant and r.consultant.btm_number else "–",
            r.rule + (f" ({'; '.join(r.remarks)})" if r.remarks else ""),
        )
        for r in derivation.reports
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"Reports due by {derivation.as_of.isoformat()}: {len(rows)}"]
    for row in [header, *rows]:
        lines.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        )
    lines.append(f"Findings: {len(derivation.findings)}")
    lines.extend(f"  {f.severity:<7} {f.rule:<9} {f.message}" for f in derivation.findings)
    return "\n".join(lines) + "\n"
