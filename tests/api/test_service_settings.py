"""The service's settings from SUBSTREG_* (secrets from files), its tenant ids, and its API
keys (D-121, D-124)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.crypto.api_keys import matches, new_api_key, split_key
from adapter.errors import ConfigError
from adapter.settings.service import TENANT_ID, ServiceSettings, check_tenant_id, tenant_schema


def test_defaults_are_sqlite_under_home_on_the_loopback(tmp_path: Path) -> None:
    settings = ServiceSettings.from_env({"SUBSTREG_HOME": str(tmp_path)})
    assert (settings.postgresql_url, settings.host, settings.port, settings.jwt) == (
        None,
        "127.0.0.1",
        8000,
        None,
    )
    assert settings.registry_path == tmp_path / "registry.db"
    assert settings.tenant_home("demo") == tmp_path / "tenants" / "demo"


def test_the_database_url_may_come_from_a_mounted_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("postgresql://svc:pw@db/substreg\n")
    env = {"SUBSTREG_HOME": str(tmp_path), "SUBSTREG_DATABASE_URL_FILE": str(secret)}
    assert ServiceSettings.from_env(env).postgresql_url == "postgresql://svc:pw@db/substreg"
    with pytest.raises(ConfigError, match="both set"):
        ServiceSettings.from_env(env | {"SUBSTREG_DATABASE_URL": "postgresql://x/y"})
    with pytest.raises(ConfigError, match="cannot be read"):
        ServiceSettings.from_env({"SUBSTREG_DATABASE_URL_FILE": str(tmp_path / "none")})


def test_the_scheduled_sync_runs_every_6_hours_unless_set(tmp_path: Path) -> None:
    """SUBSTREG_SYNC_INTERVAL_SECONDS sets the timer's interval; 0 leaves the start's
    round only (D-208, D-209)."""
    env = {"SUBSTREG_HOME": str(tmp_path)}
    assert ServiceSettings.from_env(env).sync_interval == 6 * 3600
    for text, seconds in (("3600", 3600), ("0", 0)):
        changed = env | {"SUBSTREG_SYNC_INTERVAL_SECONDS": text}
        assert ServiceSettings.from_env(changed).sync_interval == seconds


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SUBSTREG_PORT": "http"}, "not a port"),
        ({"SUBSTREG_PORT": "70000"}, "not a port"),
        ({"SUBSTREG_LOG_LEVEL": "loud"}, "not one of"),
        ({"SUBSTREG_SYNC_INTERVAL_SECONDS": "6h"}, "not a number of seconds"),
        ({"SUBSTREG_SYNC_INTERVAL_SECONDS": "-1"}, "not a number of seconds"),
        ({"SUBSTREG_JWT_ISSUER": "https://idp"}, "AUDIENCE"),
        ({"SUBSTREG_JWT_ISSUER": "https://idp", "SUBSTREG_JWT_AUDIENCE": "a"}, "JWKS"),
    ],
)
def test_a_setting_that_cannot_be_used_is_named(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        ServiceSettings.from_env(env)


@given(st.from_regex(TENANT_ID, fullmatch=True), st.from_regex(TENANT_ID, fullmatch=True))
def test_two_tenant_ids_never_share_a_schema_or_a_home(first: str, second: str) -> None:
    assert check_tenant_id(first) == first
    if first != second:
        assert tenant_schema(first) != tenant_schema(second)
    assert tenant_schema(first).replace("_", "").isalnum()


@given(st.text(string.ascii_letters + string.digits + "_-./ ", max_size=40))
def test_anything_else_is_not_a_tenant_id(text: str) -> None:
    if TENANT_ID.fullmatch(text):
        return
    with pytest.raises(ConfigError, match="not a tenant id"):
        check_tenant_id(text)


@given(st.text(max_size=80))
def test_a_key_matches_only_its_own_secret(other: str) -> None:
    made = new_api_key()
    key_id, secret = split_key(made.text)  # type: ignore[misc]
    assert key_id == made.key_id and matches(made.digest, secret)
    assert secret not in made.digest
    if other != secret:
        assert not matches(made.digest, other)
    parts = split_key(other)
    assert parts is None or other.startswith("srk_")
