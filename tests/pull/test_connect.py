"""The HTTP client edge against the test FHIR server on 127.0.0.1: SMART Backend Services
(RS384, ES384, a token kept until it runs out, a wrong key refused), a static token,
429/503 with Retry-After, and the request-rate limit (issue 13.4)."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from adapter.connect.auth import BackendServices, StaticToken
from adapter.connect.client import retry_line
from adapter.connect.pacing import Pacer
from adapter.errors import ConcurrentUpdateError, SourceAuthError, SourceError
from adapter.services.pull import pull
from adapter.settings.pull import SmartClient
from tests.pull.conftest import Served
from tests.pull.helpers import client, options
from tests.storage import ACTOR, make_twin


def _keys(tmp_path: Path, algorithm: str) -> tuple[Path, bytes]:
    """A private key file of the client and its public key (PEM)."""
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )
    path = tmp_path / f"client-{algorithm}.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


def _smart(served: Served, key: Path, algorithm: str) -> BackendServices:
    return BackendServices(
        SmartClient(
            token_url=f"{served.url}/auth/token",
            client_id=served.state.client_id,
            private_key=key,
            algorithm=algorithm,
            key_id="test-key",
        )
    )


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_backend_services_gets_a_token_once_and_pulls(
    fhir_server: Served, tmp_path: Path, algorithm: str
) -> None:
    """The token endpoint verifies the signed assertion with the client's public key; the
    token is kept for every request of the pull (one token request in all)."""
    key, public = _keys(tmp_path, algorithm)
    state = fhir_server.state
    state.auth, state.public_key = "smart", public
    store, _ = make_twin()
    result = pull(
        store, ACTOR, client(fhir_server.base, _smart(fhir_server, key, algorithm)), options()
    )
    assert result.resources > 1000
    assert state.token_requests == 1
    fhir = [r for r in state.requests if r.path.startswith("/fhir")]
    assert len(fhir) > 10
    assert {r.authorization for r in fhir} == {f"Bearer {next(iter(state.tokens))}"}


def test_a_token_is_asked_for_again_when_it_runs_out_or_is_refused(
    fhir_server: Served, tmp_path: Path
) -> None:
    key, public = _keys(tmp_path, "ES384")
    state = fhir_server.state
    state.auth, state.public_key, state.token_seconds = "smart", public, 1
    source = client(fhir_server.base, _smart(fhir_server, key, "ES384"))
    assert source.read("Patient/1001") is not None
    time.sleep(0.6)  # past half of its one second: renewed before it runs out
    assert source.read("Patient/1001") is not None
    assert state.token_requests == 2
    state.tokens.clear()  # the server forgets every token: 401, a new one, the same request
    assert source.read("Patient/1001") is not None
    assert state.token_requests == 3
    assert [r.path for r in state.requests][-3:] == [
        "/fhir/Patient/1001",
        "/auth/token",
        "/fhir/Patient/1001",
    ]


def test_an_assertion_signed_with_another_key_is_refused_in_one_line(
    fhir_server: Served, tmp_path: Path
) -> None:
    """The server checks the signature: a key it does not know gets no token, and the
    message names the endpoint, the client and the OAuth error, never a key or token."""
    key, _ = _keys(tmp_path, "RS384")
    (tmp_path / "other").mkdir()
    _, other_public = _keys(tmp_path / "other", "RS384")
    state = fhir_server.state
    state.auth, state.public_key = "smart", other_public
    source = client(fhir_server.base, _smart(fhir_server, key, "RS384"))
    with pytest.raises(SourceAuthError) as refused:
        source.read("Patient/1001")
    message = str(refused.value)
    assert "refused the client 'substreg-test': HTTP 401 (invalid_client)" in message
    assert "\n" not in message and "BEGIN" not in message
    assert not [r for r in state.requests if r.path.startswith("/fhir")]


def test_a_static_token_from_a_file_and_a_wrong_one(fhir_server: Served, tmp_path: Path) -> None:
    """The token file's token is sent; a wrong one is refused in one line that says the
    static token was refused and where to put a valid one (never the token itself)."""
    state = fhir_server.state
    state.auth, state.static_token = "static", "s3cret-token-of-the-ehr"
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text("s3cret-token-of-the-ehr\n")
    bad.write_text("another-token\n")
    assert client(fhir_server.base, StaticToken(good)).read("Patient/1001") is not None
    with pytest.raises(SourceAuthError) as refused:
        client(fhir_server.base, StaticToken(bad)).read("Patient/1001")
    assert str(refused.value) == (
        f"{fhir_server.base}: the read of Patient was refused (401) with the static bearer "
        f"token of {bad} (read again): put a valid token for this server in that file, or "
        "name another with --token-file or [pull] token_file"
    )
    assert "another-token" not in str(refused.value)
    with pytest.raises(SourceAuthError, match="cannot be read"):
        client(fhir_server.base, StaticToken(tmp_path / "missing")).read("Patient/1001")


def test_a_token_refused_twice_is_one_error_after_one_retry(
    fhir_server: Served, tmp_path: Path
) -> None:
    """D-134: a 401 drops the token and the request is sent once more with a new one; a
    second 401 is a SourceAuthError naming the server at once, no loop of retries."""
    state = fhir_server.state
    state.auth, state.static_token = "static", "s3cret-token-of-the-ehr"
    bad = tmp_path / "bad"
    bad.write_text("another-token\n")
    source = client(fhir_server.base, StaticToken(bad), attempts=6)
    with pytest.raises(SourceAuthError) as refused:
        source.read("Patient/1001")
    assert str(refused.value).startswith(f"{fhir_server.base}: the read of Patient was refused")
    assert [r.path for r in state.requests] == ["/fhir/Patient/1001"] * 2
    assert source.requests == 2


def test_a_smart_token_refused_twice_asks_for_two_tokens_only(
    fhir_server: Served, tmp_path: Path
) -> None:
    """A server that refuses every token it issued (a missing scope, say): two token
    requests and two reads, then the error, however many attempts are allowed."""
    key, public = _keys(tmp_path, "RS384")
    state = fhir_server.state
    state.auth, state.public_key, state.token_seconds = "smart", public, 0
    source = client(fhir_server.base, _smart(fhir_server, key, "RS384"), attempts=6)
    with pytest.raises(SourceAuthError, match="refused \\(401\\) with a fresh token"):
        source.read("Patient/1001")
    assert state.token_requests == 2
    assert state.count("/fhir/Patient") == 2


def test_429_and_503_are_waited_out_as_retry_after_says(fhir_server: Served) -> None:
    """A 429 with Retry-After 1 and a 503 with Retry-After 0, then the answer: the
    request after the 429 came at least a second later."""
    state = fhir_server.state
    state.busy = [(429, "1"), (503, "0")]
    assert client(fhir_server.base).read("Patient/1001") is not None
    times = [r.at for r in state.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 1.0


def test_each_retry_is_one_line_naming_the_server_status_wait_and_attempt(
    fhir_server: Served,
) -> None:
    """A 429 with Retry-After 1, then a 502: each retry is described by one line that
    names the server, the answer, the wait and the attempt that follows; a retry of
    anything but the FHIR client (a store's race) is not described."""
    lines: list[str | None] = []
    set_on_retry_hooks([lambda details: lines.append(retry_line(details))])
    try:
        fhir_server.state.busy = [(429, "1"), (502, None)]
        assert client(fhir_server.base).read("Patient/1001") is not None
    finally:
        set_on_retry_hooks(None)
    base = fhir_server.base
    assert lines[0] == f"{base}: HTTP 429, waiting 1 s as Retry-After says (attempt 2 of 3)"
    assert lines[1] is not None
    assert re.fullmatch(
        rf"{re.escape(base)}: HTTP 502, waiting [0-9.]+ s \(attempt 3 of 3\)", lines[1]
    )
    race = RetryDetails("race", (), {}, 1, 0.05, 0.0, ConcurrentUpdateError("again"))
    assert retry_line(race) is None


def test_a_server_that_stays_busy_is_a_clear_error_and_moves_no_checkpoint(
    fhir_server: Served,
) -> None:
    state = fhir_server.state
    state.busy = [(503, "0")] * 3
    store, _ = make_twin()
    with pytest.raises(SourceError) as failed:
        pull(store, ACTOR, client(fhir_server.base, attempts=3), options())
    assert str(failed.value) == (
        f"{fhir_server.base}: the read of the CapabilityStatement was answered 503 (busy) 3 "
        "time(s); try again later, or lower requests_per_second in [pull]"
    )
    assert store.read(lambda space: space.pull.checkpoints(fhir_server.base)) == {}


def test_a_retry_after_beyond_the_longest_wait_is_not_waited_for(fhir_server: Served) -> None:
    state = fhir_server.state
    state.busy = [(429, "3600")]
    started = time.monotonic()
    with pytest.raises(SourceError, match="it last asked to wait 3600 s"):
        client(fhir_server.base, max_wait=5).read("Patient/1001")
    assert time.monotonic() - started < 5
    assert len(state.requests) == 1


def test_the_rate_limit_spaces_the_requests(fhir_server: Served) -> None:
    """At 20 requests per second, a pull's N requests take at least (N - 1) / 20 s: a
    lower bound, which a slow machine cannot make fail."""
    store, _ = make_twin()
    source = client(fhir_server.base, rate=20)
    started = time.monotonic()
    pull(store, ACTOR, source, options(), page_size=100)
    elapsed = time.monotonic() - started
    assert source.requests == len(fhir_server.state.requests) >= 15
    assert elapsed >= (source.requests - 1) / 20


def test_the_pacer_starts_requests_one_interval_apart() -> None:
    """With a clock that stands still unless slept, ten requests at 4/s start 0.25 s apart."""
    now = [100.0]
    starts = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        pacer.wait()
        starts.append(now[0])
    assert [round(b - a, 9) for a, b in itertools.pairwise(starts)] == [0.25] * 9
    now[0] += 10  # idle a while: the next request starts at once, no burst owed
    pacer.wait()
    assert now[0] == starts[-1] + 10
