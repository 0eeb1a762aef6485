"""The practice configuration file (`--config practice.toml`).

FHIR data lacks what only the practice knows: its doctors' BtM numbers and birth
dates (REAL-DATA.md 3), sometimes their qualification. Doctors are keyed by LANR or
by Practitioner id:

    time_zone = "Europe/Berlin"
    bundle_weekdays = ["tuesday", "friday"]     # R-DATE-4, optional
    ehr_base_url = "https://ehr.example/fhir"   # sync: whose Patient ids these are

    [register]                                  # the register's certificate, pinned:
    certificate_sha256 = "3f:a1:…"              # nothing is sealed to any other (issue 12)

    [submission]                                # how reports leave: keys, transport,
    transport = "folder"                        # retries (adapter/settings/submission.py)

    [pull]                                      # the EHR's FHIR server to pull from
    server = "https://ehr.example/fhir"         # (adapter/settings/pull.py)

    [doctors."123456789"]                       # a LANR, or a Practitioner id
    btm_number = "3711025"
    birth_date = "1971-04-02"
    qualified = true                            # suchtmedizinisch qualifiziert
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapter.domain.btm import is_btm_number
from adapter.errors import ConfigError
from adapter.settings.pull import PullConfig, pull_config
from adapter.settings.submission import SubmissionConfig, submission_config

# R-DOC-1: seven ASCII digits, nothing else (\d would admit any Unicode digit, and a
# `$` anchor a trailing newline).
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


DEFAULT_EHR_BASE = "urn:substreg:ehr"


@dataclass(frozen=True, slots=True)
class DoctorConfig:
    btm_number: str | None = None
    birth_date: str | None = None
    qualified: bool | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class PracticeConfig:
    time_zone: str = "Europe/Berlin"
    bundle_weekdays: tuple[str, ...] = ()
    doctors: dict[str, DoctorConfig] = field(default_factory=dict)
    # The EHR's FHIR base: with Patient.id it names a patient for the pseudonymised
    # mapping (PRIVACY.md canonical reference). One EHR per installation by default.
    ehr_base_url: str = DEFAULT_EHR_BASE
    # The SHA-256 fingerprint of the register's certificate (64 lowercase hex digits):
    # envelopes are sealed to that certificate only; None: to none (fail closed).
    register_certificate_sha256: str | None = None
    submission: SubmissionConfig | None = None  # [submission]: None, nothing can be sent
    pull: PullConfig | None = None  # [pull]: the EHR's FHIR server to read from

    def doctor(self, practitioner_id: str, lanr: str | None) -> DoctorConfig | None:
        """The entry for a doctor: by LANR first, then by Practitioner id."""
        if lanr is not None and lanr in self.doctors:
            return self.doctors[lanr]
        return self.doctors.get(practitioner_id)


def load_config(path: Path) -> PracticeConfig:
    """Read and check `practice.toml`; ConfigError naming the file and setting if wrong."""
    data = _read_toml(path)
    known = {
        "time_zone",
        "bundle_weekdays",
        "doctors",
        "ehr_base_url",
        "register",
        "submission",
        "pull",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        msg = f"{path}: unknown setting '{unknown[0]}' (known: {', '.join(sorted(known))})"
        raise ConfigError(msg)
    if data.get("time_zone", "Europe/Berlin") != "Europe/Berlin":
        msg = f"{path}: time_zone must be Europe/Berlin (the register counts German days)"
        raise ConfigError(msg)
    weekdays = tuple(data.get("bundle_weekdays", ()))
    if any(day not in _WEEKDAYS for day in weekdays):
        msg = f"{path}: bundle_weekdays must name weekdays in English, e.g. 'tuesday'"
        raise ConfigError(msg)
    doctors = data.get("doctors", {})
    if not isinstance(doctors, dict):
        msg = f"{path}: [doctors] must be a table of tables"
        raise ConfigError(msg)
    base = data.get("ehr_base_url", DEFAULT_EHR_BASE)
    if not isinstance(base, str) or not base.strip():
        msg = f"{path}: ehr_base_url must be the EHR's FHIR base URL as a string"
        raise ConfigError(msg)
    return PracticeConfig(
        bundle_weekdays=weekdays,
        doctors={str(k): _doctor(path, str(k), v) for k, v in doctors.items()},
        ehr_base_url=base.strip(),
        register_certificate_sha256=_register(path, data.get("register", {})),
        submission=submission_config(path, data.get("submission")),
        pull=pull_config(path, data.get("pull")),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{path}: no such configuration file"
        raise ConfigError(msg) from None
    except UnicodeDecodeError as exc:
        msg = (
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save the configuration as UTF-8"
        )
        raise ConfigError(msg) from None
    except OSError as exc:  # a directory, no permission …
        msg = f"{path}: the configuration file cannot be read ({exc.strerror or exc})"
        raise ConfigError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc})"
        raise ConfigError(msg) from None


def _register(path: Path, entry: Any) -> str | None:
    """The pinned fingerprint of the register's certificate, as 64 lowercase hex digits
    (written with or without colons, as `openssl x509 -fingerprint -sha256` prints it)."""
    where = f"{path}: [register]"
    if not isinstance(entry, dict):
        msg = f"{where} must be a table"
        raise ConfigError(msg)
    unknown = sorted(set(entry) - {"certificate_sha256"})
    if unknown:
        msg = f"{where}: unknown key '{unknown[0]}'"
        raise ConfigError(msg)
    pinned = entry.get("certificate_sha256")
    if pinned is None:
        return None
    plain = re.sub(r"[\s:]", "", pinned).lower() if isinstance(pinned, str) else ""
    if not _SHA256_HEX.fullmatch(plain):
        msg = (
            f"{where}: certificate_sha256 must be the SHA-256 fingerprint of the register's "
            "certificate, 64 hex digits (colons allowed)"
        )
        raise ConfigError(msg)
    return plain


def _doctor(path: Path, key: str, entry: Any) -> DoctorConfig:
    where = f'{path}: [doctors."{key}"]'
    if not isinstance(entry, dict):
        msg = f"{where} must be a table"
        raise ConfigError(msg)
    unknown = sorted(set(entry) - {"btm_number", "birth_date", "qualified", "phone"})
    if unknown:
        msg = f"{where}: unknown key '{unknown[0]}'"
        raise ConfigError(msg)
    btm = entry.get("btm_number")
    if btm is not None and not is_btm_number(btm):
        msg = f'{where}: btm_number must be a string of 7 digits 0-9, e.g. "3800101" (R-DOC-1)'
        raise ConfigError(msg)
    qualified = entry.get("qualified")
    if qualified is not None and not isinstance(qualified, bool):
        msg = f"{where}: qualified must be true or false"
        raise ConfigError(msg)
    phone = entry.get("phone")
    if phone is not None and not (isinstance(phone, str) and phone.strip()):
        msg = f'{where}: phone must be a quoted string, e.g. "0341 5550101"'
        raise ConfigError(msg)
    return DoctorConfig(btm, _birth_date(where, entry.get("birth_date")), qualified, phone)


def _birth_date(where: str, birth: object) -> str | None:
    """The birth date as the report writes it: YYYY-MM-DD, a real calendar day."""
    if birth is None:
        return None
    if isinstance(birth, date) and not isinstance(birth, datetime):
        return birth.isoformat()  # TOML has a date type; accept it as well as a string
    # fromisoformat alone would take '19710402' and '1971-W14-5' (Python 3.11).
    if isinstance(birth, str) and _ISO_DAY.fullmatch(birth):
        try:
            return date.fromisoformat(birth).isoformat()
        except ValueError:
            pass
    msg = f'{where}: birth_date must be a day written YYYY-MM-DD, e.g. "1971-04-02"'
    raise ConfigError(msg)
