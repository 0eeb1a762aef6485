"""A FHIR server's REST API, as the pull connector reads it: searches page by page
(`Bundle.link` next), searches of named resources by `_id`, reads of single resources,
the CapabilityStatement and a type's history (deletions, D-180), and every request
paced, authorised and tried again on 429 and 503 (honouring `Retry-After`), on 5xx and
on a network failure, with exponential backoff (stamina) otherwise; a 401 once, with a
new token (D-134); then one `SourceError` that says what happened. A `next` link to
another server is refused: the token is never sent elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import orjson
import stamina
from stamina.instrumentation import RetryDetails

from adapter.connect.auth import Authorisation
from adapter.connect.history import Change, changes, offered
from adapter.connect.pacing import Pacer
from adapter.errors import SourceAuthError, SourceError

FHIR_JSON = "application/fhir+json"
_BUSY = frozenset({429, 503})  # the server asks to be left alone for a while
_TRY_AGAIN = frozenset({500, 502, 504})  # a passing failure, as likely as not
# How a server says it does not search a type by `_id`: an unknown or unsupported
# parameter (400, 501), a type it has no search for (404, 405), a scope that grants reads
# but no searches (403; SMART `system/*.r`). The resources are then read one by one.
NO_ID_SEARCH = (400, 403, 404, 405, 501)
# How a server says it has no CapabilityStatement for us: then no type offers its history.
_NO_STATEMENT = (400, 403, 404, 405, 406, 501)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a search: its number (1, 2, …), its matches and the resources it
    included (`_include`), each as (resource, fullUrl)."""

    resource_type: str
    number: int
    entries: list[tuple[dict[str, Any], str | None]]
    included: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)


class _Retried(Exception):
    """A failed attempt that is tried again: which server, how many attempts in all, what
    failed (`cause`, for the one line a retry shows: `retry_line`)."""

    def __init__(self, server: str, attempts: int, cause: str) -> None:
        super().__init__(cause)
        self.server = server
        self.attempts = attempts
        self.cause = cause


class _Busy(_Retried):
    """429 or 503: the server asks to be left alone, for `retry_after` seconds if it says."""

    def __init__(self, server: str, attempts: int, status: int, after: float | None) -> None:
        super().__init__(server, attempts, f"HTTP {status}")
        self.status = status
        self.retry_after = after


class _Unauthorised(Exception):
    pass


class FhirClient:
    def __init__(
        self,
        base: str,
        *,
        auth: Authorisation | None,
        pacer: Pacer,
        attempts: int = 6,
        max_wait: float = 300.0,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.base = base.rstrip("/")  # whose checkpoints: the base as configured
        self.root = self.base + "/"  # what relative URLs are joined to
        self.auth = auth
        self.pacer = pacer
        self.attempts = attempts
        self.max_wait = max_wait
        self.http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        self.requests = 0  # sent in all, retries included (for the summary)

    def close(self) -> None:
        self.http.close()

    # -- reading ------------------------------------------------------------------------

    def search(
        self, resource_type: str, *, since: str | None, count: int, include: str | None = None
    ) -> Iterator[Page]:
        """Every page of `resource_type?_lastUpdated=gt<since>`, oldest change first, with
        the resources `include` (`Type:param`) names."""
        params = {"_count": str(count), "_sort": "_lastUpdated"}
        if include is not None:
            params["_include"] = include
        if since is not None:
            params["_lastUpdated"] = f"gt{since}"
        what = f"the search of {resource_type}"
        first = self.json(self.root + resource_type, params=params, what=f"{what} page 1")
        for number, bundle in enumerate(self.bundles(first, what), start=1):
            yield Page(
                resource_type,
                number,
                list(_entries(bundle, "match")),
                list(_entries(bundle, "include")),
            )

    def search_ids(self, resource_type: str, ids: Sequence[str]) -> list[dict[str, Any]] | None:
        """The matches of `resource_type?_id=<id>,<id>,…` (FHIR's `_id` takes a list, read
        as OR), every page of them: the named resources the server still holds. None when
        the server does not search the type by `_id` (`NO_ID_SEARCH`): read them instead."""
        what = f"the _id search of {resource_type}"
        params = {"_id": ",".join(ids), "_count": str(len(ids))}
        answer = self.get(
            self.root + resource_type,
            params=params,
            what=f"{what} page 1",
            accept=(200, *NO_ID_SEARCH),
        )
        if answer.status_code != 200:
            return None
        first = _json(answer, self.base)
        return [
            resource
            for bundle in self.bundles(first, what)
            for resource, _ in _entries(bundle, "match")
        ]

    def history_types(self) -> frozenset[str]:
        """The types whose history the server's CapabilityStatement offers (none when it
        has no statement for us)."""
        what = "the read of the CapabilityStatement"
        answer = self.get(self.root + "metadata", what=what, accept=(200, *_NO_STATEMENT))
        return offered(_json(answer, self.base)) if answer.status_code == 200 else frozenset()

    def history(self, resource_type: str, *, since: str | None, count: int) -> Iterator[Change]:
        """The changes of `resource_type` at or after `since`, every page, newest first (as
        FHIR sorts a history); with `since` None the newest change only (where a first
        pull's deletion checkpoint starts)."""
        params = {"_count": str(count if since is not None else 1)}
        if since is not None:
            params["_since"] = since
        what = f"the history of {resource_type}"
        first = self.json(self.root + f"{resource_type}/_history", params=params, what=what)
        pages = self.bundles(first, what) if since is not None else iter([first])
        for bundle in pages:
            yield from changes(bundle, resource_type)

    def bundles(self, first: dict[str, Any], what: str) -> Iterator[dict[str, Any]]:
        """`first` and the pages after it, through `Bundle.link` next (on this server)."""
        bundle, number = first, 1
        while True:
            if bundle.get("resourceType") != "Bundle":
                msg = f"{self.base}: {what} answered no Bundle"
                raise SourceError(msg)
            yield bundle
            url = _next_link(bundle)
            if url is None:
                return
            number += 1
            url = self.same_server(urljoin(self.root, url))
            bundle = self.json(url, what=f"{what} page {number}")

    def relative(self, reference: str) -> str:
        """`reference` (`Type/id`, or a URL) relative to the base when it lies below it
        (`https://ehr/fhir/Patient/1` → `Patient/1`); as it is when it lies elsewhere on
        this server; SourceError for another server's (the token goes nowhere else)."""
        url = self.same_server(urljoin(self.root, reference))
        return url.removeprefix(self.root) if url.startswith(self.root) else reference

    def read(self, reference: str) -> dict[str, Any] | None:
        """The resource `Type/id` (or an absolute URL on this server); None when gone
        (404, 410)."""
        url = self.same_server(urljoin(self.root, reference))
        answer = self.get(url, what=f"the read of {_kind(reference)}", missing_ok=True)
        if answer.status_code in (404, 410):
            return None
        return _json(answer, self.base)

    def json(
        self, url: str, *, params: Mapping[str, str] | None = None, what: str
    ) -> dict[str, Any]:
        return _json(self.get(url, params=params, what=what), self.base)

    def json_of(self, answer: httpx.Response) -> dict[str, Any]:
        """The JSON object of an answer; SourceError for anything else."""
        return _json(answer, self.base)

    # -- one request, paced, authorised, tried again -------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        what: str,
        missing_ok: bool = False,
        accept: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """The answer to GET `url` with a status in `accept` (or 404/410 when
        `missing_ok`); SourceError after the attempts, or at once for another 4xx."""
        return self.retrying(
            lambda: self._once(url, params, headers, what, missing_ok, accept), what
        )

    def retrying(self, request: Callable[[], T], what: str) -> T:
        """`request()` tried again on 429/503 (after `Retry-After`), 5xx, a network failure
        or one 401 (with a new token); SourceError naming `what` when it keeps failing.
        A 401 is tried again once only (D-134): a second one is SourceAuthError at once."""
        try:
            return self._tried(request, what)
        except _Unauthorised:
            pass  # the held token was dropped (`check`): one more try with a new one
        try:
            return self._tried(request, what)
        except _Unauthorised:
            refusal = self.auth.refusal() if self.auth is not None else "(no token sent)"
            msg = f"{self.base}: {what} was refused (401) {refusal}"
            raise SourceAuthError(msg) from None

    def _tried(self, request: Callable[[], T], what: str) -> T:
        """`request()` under stamina: again on 429/503, 5xx and network failures."""
        try:
            for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.attempts,
                timeout=None,
                wait_initial=0.5,
                wait_max=max(self.max_wait, 0.5),
            ):
                with attempt:
                    try:
                        return request()
                    except httpx.TransportError as exc:  # refused, timed out, dropped
                        raise _Retried(self.base, self.attempts, type(exc).__name__) from exc
        except _Busy as busy:
            after = f"; it last asked to wait {busy.retry_after:g} s" if busy.retry_after else ""
            msg = (
                f"{self.base}: {what} was answered {busy.status} (busy) {self.attempts} "
                f"time(s){after}; try again later, or lower requests_per_second in [pull]"
            )
            raise SourceError(msg) from None
        except (_Retried, httpx.HTTPError) as exc:  # an HTTPError of no retried kind: at once
            cause = exc.cause if isinstance(exc, _Retried) else type(exc).__name__
            msg = (
                f"{self.base}: {what} failed {self.attempts} time(s) "
                f"({cause}); is the server reachable?"
            )
            raise SourceError(msg) from None
        raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover

    def headers(
        self, extra: Mapping[str, str] | None = None, *, authorised: bool = True
    ) -> dict[str, str]:
        """The headers of a request: Accept, and the Authorization when `authorised`."""
        sent = {"Accept": FHIR_JSON, **(extra or {})}
        if authorised and self.auth is not None:
            sent["Authorization"] = self.auth.header(self.http)
        return sent

    def check(
        self,
        answer: httpx.Response,
        what: str,
        accept: tuple[int, ...],
        *,
        missing_ok: bool = False,
    ) -> None:
        """Raise what `retrying` tries again on, or SourceError, unless the status is one
        of `accept` (or 404/410 when `missing_ok`)."""
        status = answer.status_code
        if status in accept or (missing_ok and status in (404, 410)):
            return
        if status == 401 and self.auth is not None:
            self.auth.refused()
            raise _Unauthorised
        if status in _BUSY:
            after = retry_after(answer.headers.get("Retry-After"))
            raise _Busy(self.base, self.attempts, status, after)
        if status in _TRY_AGAIN:
            raise _Retried(self.base, self.attempts, f"HTTP {status}")
        msg = f"{self.base}: {what} was refused: HTTP {status}{_outcome_code(answer)}"
        raise (SourceAuthError if status in (401, 403) else SourceError)(msg)

    def _once(  # noqa: PLR0917 (the arguments of `get`, passed on)
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        what: str,
        missing_ok: bool,
        accept: tuple[int, ...],
    ) -> httpx.Response:
        sent = self.headers(headers)
        self.pacer.wait()
        self.requests += 1
        answer = self.http.get(url, params=params, headers=sent)
        self.check(answer, what, accept, missing_ok=missing_ok)
        return answer

    def _backoff(self, exc: BaseException) -> bool | float:
        if isinstance(exc, _Busy):
            if exc.retry_after is None:
                return True
            return exc.retry_after if exc.retry_after <= self.max_wait else False
        return isinstance(exc, _Retried)

    def same_server(self, url: str) -> str:
        ours, theirs = urlsplit(self.root), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            msg = f"{self.base}: a link to another server ({theirs.netloc}) is not followed"
            raise SourceError(msg)
        return url


def retry_line(details: RetryDetails) -> str | None:
    """The one line a retry of `FhirClient` shows ("<server>: HTTP 429, waiting 2 s as
    Retry-After says (attempt 2 of 6)"); None for a retry of anything else."""
    failed = details.caused_by
    if not isinstance(failed, _Retried):
        return None
    told = isinstance(failed, _Busy) and failed.retry_after is not None
    reason = " as Retry-After says" if told else ""
    return (
        f"{failed.server}: {failed.cause}, waiting {details.wait_for:.3g} s{reason} "
        f"(attempt {details.retry_num + 1} of {failed.attempts})"
    )


def _entries(bundle: dict[str, Any], mode: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """The entries of one search mode (`match`, the default, or `include`); never an
    `outcome` or an OperationOutcome."""
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue
        if entry["resource"].get("resourceType") == "OperationOutcome":
            continue
        if (entry.get("search") or {}).get("mode", "match") != mode:
            continue
        full_url = entry.get("fullUrl")
        yield entry["resource"], full_url if isinstance(full_url, str) else None


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def _json(answer: httpx.Response, base: str) -> dict[str, Any]:
    try:
        data = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        msg = f"{base}: {answer.request.url.path} answered no JSON object"
        raise SourceError(msg)
    return data


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds ("²" is a digit to Python)
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _outcome_code(answer: httpx.Response) -> str:
    """The code of an OperationOutcome's first issue, never its text (it may quote data)."""
    try:
        issue = orjson.loads(answer.content)["issue"][0]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return ""
    code = issue.get("code") if isinstance(issue, dict) else None
    return f" ({code})" if isinstance(code, str) and code.isascii() and len(code) < 40 else ""


def _kind(reference: str) -> str:
    """The type of a reference, for messages: the id is the EHR's and stays out."""
    parts = [p for p in urlsplit(reference).path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else "a resource"
