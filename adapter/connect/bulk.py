"""The FHIR Bulk Data `$export` flow against a server (https://hl7.org/fhir/uv/bulkdata/
export.html): kick-off (`GET [base]/$export`, `Prefer: respond-async`, answered 202 with
`Content-Location`), polling that URL (202 with `Retry-After` and `X-Progress`, until 200
with the manifest), and downloading each file of the manifest into a folder, streamed to
disk chunk by chunk (a practice-year never sits in memory). The folder then holds the
export as a client keeps it, `manifest.json` beside the NDJSON files, for
`adapter.fhir.source` to read like any exported folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from adapter.connect.client import FhirClient, retry_after
from adapter.errors import SourceError
from adapter.settings.files import make_private_dirs, open_private, write_private

MANIFEST = "manifest.json"
_LISTS = ("output", "error", "deleted")
_DEFAULT_POLL_SECONDS = 2.0


def export(
    client: FhirClient,
    folder: Path,
    *,
    types: tuple[str, ...] | None = None,
    since: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    on_bytes: Callable[[int], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int = 10_000,
) -> Path:
    """Run a system-level export into `folder`; the path of its manifest there.
    `progress` hears the server's X-Progress texts, `on_bytes` each chunk downloaded."""
    status_url = _kick_off(client, types, since)
    manifest = _poll(client, status_url, progress, sleep, max_polls)
    make_private_dirs(folder)  # patient data: this user's only, as every file in it
    local: dict[str, Any] = {k: v for k, v in manifest.items() if k not in _LISTS}
    for key in _LISTS:
        local[key] = []
        for index, item in enumerate(manifest.get(key) or []):
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                msg = f"{client.base}: the export's manifest lists a {key} file without url"
                raise SourceError(msg)
            name = f"{key}-{index + 1:04}.{_safe(item.get('type'))}.ndjson"
            authorised = bool(manifest.get("requiresAccessToken", True))
            _download(client, item["url"], folder / name, authorised, on_bytes)
            local[key].append({**item, "url": name})
    target = folder / MANIFEST
    write_private(target, orjson.dumps(local, option=orjson.OPT_INDENT_2))
    return target


def _kick_off(client: FhirClient, types: tuple[str, ...] | None, since: str | None) -> str:
    params = {"_outputFormat": "application/fhir+ndjson"}
    if types:
        params["_type"] = ",".join(types)
    if since:
        params["_since"] = since
    answer = client.get(
        client.root + "$export",
        params=params,
        headers={"Prefer": "respond-async"},
        what="the export's kick-off",
        accept=(202,),
    )
    location = answer.headers.get("Content-Location")
    if not location:
        msg = f"{client.base}: the export's kick-off answered 202 without Content-Location"
        raise SourceError(msg)
    return client.same_server(str(httpx.URL(client.root).join(location)))


def _poll(
    client: FhirClient,
    url: str,
    progress: Callable[[str], None],
    sleep: Callable[[float], None],
    max_polls: int,
) -> dict[str, Any]:
    for _ in range(max_polls):
        answer = client.get(url, what="the export's status", accept=(200, 202))
        if answer.status_code == 200:
            try:
                data = orjson.loads(answer.content)
            except orjson.JSONDecodeError:
                data = None
            if not isinstance(data, dict) or not isinstance(data.get("output"), list):
                msg = f"{client.base}: the export finished without a manifest (no output list)"
                raise SourceError(msg)
            return data
        progress(answer.headers.get("X-Progress", "in progress")[:80])
        wait = retry_after(answer.headers.get("Retry-After"))
        sleep(min(wait if wait is not None else _DEFAULT_POLL_SECONDS, client.max_wait))
    msg = f"{client.base}: the export did not finish after {max_polls} polls"
    raise SourceError(msg)


def _download(
    client: FhirClient, url: str, path: Path, authorised: bool, on_bytes: Callable[[int], None]
) -> None:
    """Stream the file at `url` into `path` (again from its start on a retry). The token
    goes only to the FHIR server itself: a file elsewhere must not require it."""
    if authorised:
        url = client.same_server(str(httpx.URL(client.root).join(url)))
    what = f"the download of {path.name}"

    def once() -> None:
        headers = client.headers({"Accept": "application/fhir+ndjson"}, authorised=authorised)
        client.pacer.wait()
        client.requests += 1
        with client.http.stream("GET", url, headers=headers) as answer:
            client.check(answer, what, (200,))
            with open_private(path) as out:
                for chunk in answer.iter_bytes():
                    out.write(chunk)
                    on_bytes(len(chunk))

    client.retrying(once, what)


def _safe(kind: object) -> str:
    """A resource type as part of a file name (letters only)."""
    return kind if isinstance(kind, str) and kind.isalpha() and kind.isascii() else "file"
