"""A small FHIR server the pull tests start themselves on 127.0.0.1 (FastAPI under
uvicorn in a thread, `tests.registersim.helpers.ServedSim`): the demo practice's
resources (demo/), each given a `meta.lastUpdated` (three at a time share one, so that
ties straddle page boundaries), searched by `_lastUpdated` (gt/ge) and sorted by it, and
by `_id` (a comma-separated list: any of them; a switch refuses it with 400, as a server
that does not support it),
paged through `Bundle.link` next over a snapshot of the matches (as real servers keep
a search's result set); reads; a SMART Backend Services token endpoint that checks the
client assertion's signature with the client's public key (PyJWT), or one static token;
switches that answer 429/503 with Retry-After; a stall that holds a page request (for
the crash test); a Bulk Data `$export` (kick-off, poll, NDJSON files); and deletions: a
CapabilityStatement (`metadata`) that offers `history-type` (or not, a switch) and the
type history `[type]/_history?_since=` (newest first, DELETE entries without a resource).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from adapter.fhir.collect import PULLED_TYPES

DEMO = Path(__file__).resolve().parents[2] / "demo"
BASE_TIME = datetime(2025, 6, 1, tzinfo=UTC)
FHIR_JSON = "application/fhir+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def demo_resources() -> list[dict[str, Any]]:
    """Every resource of the demo practice, in file order."""
    found: list[dict[str, Any]] = []
    for path in sorted(DEMO.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        found += [entry["resource"] for entry in bundle.get("entry", [])]
    for path in sorted(DEMO.glob("*.ndjson")):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return found


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Received:
    at: float  # time.monotonic()
    path: str
    query: str
    authorization: str | None


@dataclass
class ServerState:
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # type → id →
    auth: str = "none"  # none, static, smart
    static_token: str = ""
    client_id: str = "substreg-test"
    public_key: bytes = b""  # PEM of the client's key (smart)
    token_seconds: int = 300
    tokens: dict[str, float] = field(default_factory=dict)  # issued → expires (monotonic)
    token_requests: int = 0
    jtis: set[str] = field(default_factory=set)
    busy: list[tuple[int, str | None]] = field(default_factory=list)  # next answers
    requests: list[Received] = field(default_factory=list)
    searches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    searches_include: dict[str, str | None] = field(default_factory=dict)
    ignore_include: bool = False
    stall_after_pages: int | None = None  # hold every page request after this many
    pages_served: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    unsorted: bool = False  # ignore _sort (a server that does not support it)
    refuse_id_search: bool = False  # answer a search by _id 400 (one that does not support it)
    max_count: int | None = None  # the most matches a page holds, whatever _count asks
    exports: dict[str, int] = field(default_factory=dict)  # id → polls still to answer 202
    export_polls: int = 2
    clock: int = 0  # seconds after BASE_TIME of the newest change
    history: list[dict[str, Any]] = field(default_factory=list)  # Bundle entries, oldest first
    offers_history: bool = True  # the CapabilityStatement offers `history-type`

    def load(self, resources: list[dict[str, Any]], *, per_instant: int = 3) -> None:
        for index, resource in enumerate(resources):
            stamp = BASE_TIME + timedelta(seconds=index // per_instant)
            self.clock = index // per_instant
            self.put(resource, stamp)

    def put(self, resource: dict[str, Any], stamp: datetime | None = None) -> None:
        """Store `resource` as changed at `stamp` (default: one second after the newest)."""
        if stamp is None:
            self.clock += 1
            stamp = BASE_TIME + timedelta(seconds=self.clock)
        stored = {**resource, "meta": {**resource.get("meta", {}), "lastUpdated": instant(stamp)}}
        self.resources.setdefault(resource["resourceType"], {})[resource["id"]] = stored
        self._note("PUT", f"{resource['resourceType']}/{resource['id']}", stamp, stored)

    def delete(self, kind: str, resource_id: str) -> None:
        """Delete the resource one second after the newest change (a version in history)."""
        del self.resources[kind][resource_id]
        self.clock += 1
        self._note("DELETE", f"{kind}/{resource_id}", BASE_TIME + timedelta(seconds=self.clock))

    def _note(
        self, method: str, ref: str, stamp: datetime, resource: dict[str, Any] | None = None
    ) -> None:
        entry: dict[str, Any] = {
            "request": {"method": method, "url": ref},
            "response": {
                "status": "204" if resource is None else "200",
                "lastModified": instant(stamp),
            },
        }
        if resource is not None:
            entry["resource"] = resource
        self.history.append(entry)

    def count(self, path_part: str) -> int:
        return sum(1 for r in self.requests if path_part in r.path)


def create_fhir_app(state: ServerState) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        state.requests.append(
            Received(
                time.monotonic(),
                request.url.path,
                request.url.query,
                request.headers.get("authorization"),
            )
        )
        if request.url.path.startswith("/fhir"):
            if state.busy:
                status, after = state.busy.pop(0)
                headers = {"Retry-After": after} if after is not None else {}
                return _outcome(status, "transient", headers)
            if not _authorised(state, request.headers.get("authorization")):
                return _outcome(401, "login")
        return await call_next(request)

    @app.post("/auth/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant_type = form.get("grant_type", "")
        client_assertion_type = form.get("client_assertion_type", "")
        client_assertion = form.get("client_assertion", "")
        scope = form.get("scope", "")
        state.token_requests += 1
        audience = str(request.url)
        try:
            claims = jwt.decode(
                client_assertion,
                state.public_key,
                algorithms=["RS384", "ES384"],
                audience=audience,
                issuer=state.client_id,
                options={"require": ["exp", "jti", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if (
            grant_type != "client_credentials"
            or client_assertion_type != ASSERTION_TYPE
            or claims["sub"] != state.client_id
            or claims["jti"] in state.jtis
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        state.jtis.add(claims["jti"])
        issued = secrets.token_urlsafe(16)
        state.tokens[issued] = time.monotonic() + state.token_seconds
        body = {"access_token": issued, "token_type": "bearer", "scope": scope}
        return JSONResponse({**body, "expires_in": state.token_seconds})

    @app.get("/fhir/$export")
    def kick_off(request: Request) -> Response:
        if request.headers.get("prefer") != "respond-async":
            return _outcome(400, "invalid")
        export_id = uuid.uuid4().hex
        state.exports[export_id] = state.export_polls
        location = f"{request.base_url}fhir/$export-status/{export_id}"
        return Response(status_code=202, headers={"Content-Location": location})

    @app.get("/fhir/$export-status/{export_id}")
    def status(request: Request, export_id: str) -> Response:
        left = state.exports.get(export_id)
        if left is None:
            return _outcome(404, "not-found")
        if left > 0:
            state.exports[export_id] = left - 1
            progress = f"{100 * (state.export_polls - left) // state.export_polls}% done"
            return Response(status_code=202, headers={"Retry-After": "0", "X-Progress": progress})
        base = f"{request.base_url}fhir/files/{export_id}"
        manifest = {
            "transactionTime": instant(datetime.now(UTC)),
            "request": f"{request.base_url}fhir/$export",
            "requiresAccessToken": state.auth != "none",
            "output": [{"type": kind, "url": f"{base}/{kind}.ndjson"} for kind in state.resources],
            "error": [],
        }
        return JSONResponse(manifest)

    @app.get("/fhir/files/{export_id}/{name}")
    def file(export_id: str, name: str) -> Response:
        kind = name.removesuffix(".ndjson")
        if export_id not in state.exports or kind not in state.resources:
            return _outcome(404, "not-found")

        def lines() -> Iterator[bytes]:
            for resource in list(state.resources[kind].values()):
                yield json.dumps(resource).encode() + b"\n"

        return StreamingResponse(lines(), media_type="application/fhir+ndjson")

    @app.get("/fhir/metadata")
    def metadata() -> Response:
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if state.offers_history:
            interactions.append({"code": "history-type"})
        resources = [{"type": kind, "interaction": interactions} for kind in PULLED_TYPES]
        statement = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{"mode": "server", "resource": resources}],
        }
        return JSONResponse(statement, media_type=FHIR_JSON)

    @app.get("/fhir/{kind}/_history")
    def history(request: Request, kind: str) -> Response:
        if not state.offers_history:
            return _outcome(405, "not-supported")
        since = request.query_params.get("_since")
        bound = datetime.fromisoformat(since) if since else None
        entries = [
            e
            for e in reversed(state.history)
            if e["request"]["url"].startswith(f"{kind}/")
            and (bound is None or datetime.fromisoformat(e["response"]["lastModified"]) >= bound)
        ]
        count = int(request.query_params.get("_count", "50"))
        bundle = {"resourceType": "Bundle", "type": "history", "entry": entries[:count]}
        return JSONResponse(bundle, media_type=FHIR_JSON)

    @app.get("/fhir/{kind}/{resource_id}")
    def read(kind: str, resource_id: str) -> Response:
        resource = state.resources.get(kind, {}).get(resource_id)
        if resource is None:
            return _outcome(404, "not-found")
        return JSONResponse(resource, media_type=FHIR_JSON)

    @app.get("/fhir/{kind}")
    def search(request: Request, kind: str) -> Response:
        query = request.query_params
        if "_getpages" in query:
            matches = state.searches.get(query["_getpages"])
            if matches is None:
                return _outcome(410, "not-found")
            search_id, offset = query["_getpages"], int(query["_offset"])
            count = int(query["_count"])
        elif "_id" in query and state.refuse_id_search:
            return _outcome(400, "not-supported")
        else:
            matches = _matching(state, kind, query.get("_lastUpdated"), query.get("_id"))
            if query.get("_sort") != "_lastUpdated" or state.unsorted:
                matches = sorted(matches, key=lambda r: r["id"])
            search_id, offset = uuid.uuid4().hex, 0
            count = int(query.get("_count", "50"))
            if state.max_count is not None:
                count = min(count, state.max_count)
            state.searches[search_id] = matches
        state.pages_served += 1
        if state.stall_after_pages is not None and state.pages_served > state.stall_after_pages:
            state.release.wait(timeout=120)
        page = matches[offset : offset + count]
        include = query.get("_include") or state.searches_include.get(search_id)
        state.searches_include[search_id] = include
        links = [{"relation": "self", "url": str(request.url)}]
        if offset + count < len(matches):
            params = f"_getpages={search_id}&_offset={offset + count}&_count={count}"
            links.append({"relation": "next", "url": f"{request.base_url}fhir/{kind}?{params}"})
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{request.base_url}fhir/{kind}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in page
            ]
            + [
                {
                    "fullUrl": f"{request.base_url}fhir/Patient/{p['id']}",
                    "resource": p,
                    "search": {"mode": "include"},
                }
                for p in _included(state, page, include)
            ],
        }
        return JSONResponse(bundle, media_type=FHIR_JSON)

    return app


def _included(
    state: ServerState, page: list[dict[str, Any]], include: str | None
) -> list[dict[str, Any]]:
    """The patients `_include=<Type>:patient` adds to a page (each once)."""
    if include is None or not include.endswith(":patient") or state.ignore_include:
        return []
    ids: dict[str, None] = {}
    for resource in page:
        reference = (resource.get("subject") or resource.get("patient") or {}).get("reference")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            ids[reference.removeprefix("Patient/")] = None
    held = state.resources.get("Patient", {})
    return [held[i] for i in ids if i in held]


def _matching(
    state: ServerState, kind: str, last_updated: str | None, ids: str | None
) -> list[dict[str, Any]]:
    found = list(state.resources.get(kind, {}).values())
    if ids is not None:
        wanted = set(ids.split(","))
        found = [r for r in found if r["id"] in wanted]
    if last_updated is not None:
        prefix, value = last_updated[:2], last_updated[2:]
        bound = datetime.fromisoformat(value)
        keep = (lambda m: m > bound) if prefix == "gt" else (lambda m: m >= bound)
        found = [r for r in found if keep(datetime.fromisoformat(r["meta"]["lastUpdated"]))]
    return sorted(found, key=lambda r: (r["meta"]["lastUpdated"], r["id"]))


def _authorised(state: ServerState, header: str | None) -> bool:
    if state.auth == "none":
        return True
    if header is None or not header.startswith("Bearer "):
        return False
    token = header.removeprefix("Bearer ")
    if state.auth == "static":
        return secrets.compare_digest(token, state.static_token)
    expires = state.tokens.get(token)
    return expires is not None and time.monotonic() < expires


def _outcome(status: int, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code}]}
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)
