"""The container's environment is one the settings accept (issue 13 review, item 3; D-206):
the Dockerfile's `ENV` under each compose service's `environment`, its secret files in
place, is read by the service's and the command line's settings without a ConfigError."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path
from typing import Any

import pytest

from adapter.errors import ConfigError
from adapter.settings.environment import Settings, backup_passphrase, key_passphrase
from adapter.settings.service import ServiceSettings

DOCKER = Path(__file__).resolve().parents[1] / "docker"
SECRET_URL = "postgresql://substreg:pw@postgres:5432/substreg"


def image_env() -> dict[str, str]:
    """Every `ENV` of the Dockerfile (continuation lines joined), in order."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["ENV"]:
            env.update(word.split("=", 1) for word in words[1:])  # type: ignore[misc]
    return env


def compose_services() -> dict[str, Any]:
    yaml = importlib.import_module("yaml")  # PyYAML: always in a dev venv (schemathesis needs it)
    document = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    return {
        name: service
        for name, service in document["services"].items()
        if service.get("image") == "substreg:latest"
    }


def _with_secrets(env: dict[str, str], folder: Path) -> dict[str, str]:
    """Each `/run/secrets/…` a `_FILE` names, made in `folder` (a URL, or a passphrase)."""
    placed = dict(env)
    for name, value in env.items():
        if name.endswith("_FILE") and value.startswith("/run/secrets/"):
            secret = folder / Path(value).name
            secret.write_text(SECRET_URL if "DATABASE" in name else "passphrase\n")
            placed[name] = str(secret)
    return placed


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_each_compose_service_starts_on_the_image_environment(name: str, tmp_path: Path) -> None:
    """The image's ENV and the service's environment together: both settings readers
    accept them, and a secret file's database URL is the one used."""
    service = compose_services()[name]
    given = {key: str(value) for key, value in (service.get("environment") or {}).items()}
    env = _with_secrets({**image_env(), **given}, tmp_path)
    settings = ServiceSettings.from_env(env)
    cli = Settings.from_env(env)
    key_passphrase(env)
    backup_passphrase(env)
    if "SUBSTREG_DATABASE_URL_FILE" in env:
        assert settings.postgresql_url == SECRET_URL and cli.database_url == SECRET_URL
    else:
        assert cli.database_url == image_env()["SUBSTREG_DATABASE_URL"]


def test_the_image_alone_keeps_its_database_in_the_state_volume() -> None:
    """`docker run substreg init`: the database lies in the volume, not the working folder."""
    env = image_env()
    assert Settings.from_env(env).database_url.startswith("sqlite:////var/lib/substreg/")


def test_a_secret_file_beside_the_image_default_is_refused_unless_that_is_empty(
    tmp_path: Path,
) -> None:
    """Both ways set is refused (fail closed); the default set empty gives way (D-206)."""
    env = _with_secrets(
        {**image_env(), "SUBSTREG_DATABASE_URL_FILE": "/run/secrets/database_url"}, tmp_path
    )
    with pytest.raises(ConfigError, match="both set"):
        ServiceSettings.from_env(env)
    env["SUBSTREG_DATABASE_URL"] = ""
    assert ServiceSettings.from_env(env).postgresql_url == SECRET_URL
