"""The practice configuration `--config practice.toml` (settings/practice.py, REAL-DATA.md 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter.errors import ConfigError
from adapter.settings.practice import DoctorConfig, PracticeConfig, load_config

GOOD = """
time_zone = "Europe/Berlin"
bundle_weekdays = ["tuesday", "friday"]

[doctors."123456701"]        # a LANR
btm_number = "3800101"
birth_date = "1970-05-11"
qualified = true

[doctors.krause]             # a Practitioner id
btm_number = "3800303"
birth_date = 1984-01-17      # a TOML date works too
qualified = false
phone = "0341 5550303"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "practice.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_configuration_loads(tmp_path: Path) -> None:
    """Every documented setting is read: weekdays, BtM number, birth date, qualification, phone."""
    config = load_config(write(tmp_path, GOOD))
    assert config.time_zone == "Europe/Berlin"
    assert config.bundle_weekdays == ("tuesday", "friday")
    assert config.doctors == {
        "123456701": DoctorConfig("3800101", "1970-05-11", True, None),
        "krause": DoctorConfig("3800303", "1984-01-17", False, "0341 5550303"),
    }


def test_an_empty_file_is_the_default_configuration(tmp_path: Path) -> None:
    """An empty configuration is valid and equals the built-in default."""
    assert load_config(write(tmp_path, "")) == PracticeConfig()


def test_doctor_lookup_prefers_lanr_over_practitioner_id() -> None:
    """PracticeConfig.doctor: by LANR first, then by Practitioner id (R-DOC)."""
    config = PracticeConfig(
        doctors={"123456701": DoctorConfig("3800101"), "d1": DoctorConfig("3800999")}
    )
    assert config.doctor("d1", "123456701") == DoctorConfig("3800101")
    assert config.doctor("d1", "999999999") == DoctorConfig("3800999")
    assert config.doctor("d1", None) == DoctorConfig("3800999")
    assert config.doctor("d2", None) is None


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[doctors\n", ["not valid TOML"]),
        ('time_zone = "UTC"\n', ["time_zone", "Europe/Berlin"]),
        ('timezone = "Europe/Berlin"\n', ["unknown setting", "timezone"]),
        ('bundle_weekdays = ["dienstag"]\n', ["bundle_weekdays"]),
        ('bundle_weekdays = "tuesday"\n', ["bundle_weekdays"]),
        ("doctors = 5\n", ["[doctors]"]),
        ("[doctors]\nx = 1\n", ['[doctors."x"]', "table"]),
        ('[doctors."1"]\nbtm = "3800101"\n', ['[doctors."1"]', "unknown key 'btm'"]),
        ('[doctors."1"]\nbtm_number = "380010"\n', ["btm_number", "7 digits"]),
        ('[doctors."1"]\nbtm_number = "38001011"\n', ["btm_number"]),
        ('[doctors."1"]\nbtm_number = "38OO101"\n', ["btm_number"]),
        ('[doctors."1"]\nbtm_number = 3800101\n', ["btm_number"]),
        ('[doctors."1"]\nbtm_number = " 3800101"\n', ["btm_number"]),
        ('[doctors."1"]\nbirth_date = "1971-13-02"\n', ["birth_date", "YYYY-MM-DD"]),
        ('[doctors."1"]\nbirth_date = "02.04.1971"\n', ["birth_date"]),
        ('[doctors."1"]\nbirth_date = 1971\n', ["birth_date"]),
        ('[doctors."1"]\nqualified = "yes"\n', ["qualified"]),
    ],
    ids=[
        "not-toml",
        "time-zone",
        "unknown-setting",
        "german-weekday",
        "weekdays-a-string",
        "doctors-not-a-table",
        "doctor-not-a-table",
        "unknown-doctor-key",
        "btm-six-digits",
        "btm-eight-digits",
        "btm-letter-o",
        "btm-a-number",
        "btm-leading-space",
        "birth-month-13",
        "birth-german",
        "birth-a-number",
        "qualified-a-string",
    ],
)
def test_config_errors_name_file_and_setting(tmp_path: Path, text: str, needles: list[str]) -> None:
    """A wrong setting raises ConfigError naming the file and the setting (fail fast)."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert "\n" not in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A configuration file that does not exist raises ConfigError naming it."""
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    "btm",
    ["3800101\\n", "３８００１０１", "٣٨٠٠١٠١"],
    ids=["trailing-newline", "full-width-digits", "arabic-indic-digits"],
)
def test_btm_number_must_be_seven_ascii_digits(tmp_path: Path, btm: str) -> None:
    """btm_number is exactly seven digits 0-9 (R-DOC-1)."""
    with pytest.raises(ConfigError, match="btm_number"):
        load_config(write(tmp_path, f'[doctors."1"]\nbtm_number = "{btm}"\n'))


@pytest.mark.parametrize("birth", ["19710402", "1971-W14-5"], ids=["basic-format", "week-date"])
def test_birth_date_must_be_written_yyyy_mm_dd(tmp_path: Path, birth: str) -> None:
    """birth_date must be YYYY-MM-DD: it goes into the report as written (config.py)."""
    with pytest.raises(ConfigError, match="birth_date"):
        load_config(write(tmp_path, f'[doctors."1"]\nbirth_date = "{birth}"\n'))


def test_phone_must_be_a_string(tmp_path: Path) -> None:
    """phone must be text (a TOML number would lose the leading zero of an area code)."""
    with pytest.raises(ConfigError, match="phone"):
        load_config(write(tmp_path, '[doctors."1"]\nphone = 3415550101\n'))


PIN = "3F:A1:" + "0B:" * 29 + "C4"  # as `openssl x509 -fingerprint -sha256` prints it


def test_the_register_certificate_pin_is_read_as_lowercase_hex(tmp_path: Path) -> None:
    """[register] certificate_sha256: colons and capitals allowed, kept as 64 hex digits;
    without it no certificate is pinned."""
    config = load_config(write(tmp_path, f'[register]\ncertificate_sha256 = "{PIN}"\n'))
    assert config.register_certificate_sha256 == "3fa1" + "0b" * 29 + "c4"
    assert load_config(write(tmp_path, GOOD)).register_certificate_sha256 is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[register]\ncertificate_sha256 = "3fa1"\n', "certificate_sha256 must be the SHA-256"),
        ("[register]\ncertificate_sha256 = 12\n", "certificate_sha256 must be the SHA-256"),
        ('[register]\nsha1 = "ab"\n', "[register]: unknown key 'sha1'"),
        ('register = "ab"\n', "[register] must be a table"),
    ],
    ids=["short", "number", "unknown-key", "not-a-table"],
)
def test_a_wrong_pin_stops_at_the_configuration(tmp_path: Path, text: str, words: str) -> None:
    """A pin that is not a SHA-256 fingerprint is a ConfigError naming the file."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: [register]")
    assert words in str(caught.value)
