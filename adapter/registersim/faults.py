"""Fault switches: the simulator misbehaves at a given rate, so that tests can drive a
sender through every failure the wire protocol knows (docs/SUBMISSION.md).

    delay        wait `delay_seconds` (a sender's read timeout runs out)
    error        HTTP 500
    unavailable  HTTP 503 with Retry-After: `retry_after` seconds
    drop         the connection is closed without an answer
    reject       HTTP 422, a permanent refusal

Each switch has a rate (0..1) and a phase: `before` the submission is taken (nothing is
registered) or `after` (it is registered and its receipt kept, then the answer is lost or
replaced: the sender must survive by sending the same bytes under the same key, and gets
the same receipt). Only `POST /submissions` misbehaves. One `random.Random(seed)` draws
every switch for every request, in a fixed order, so a seed replays the same faults.

A dropped connection: ASGI has no message for "close without answer". The middleware
sends the start of an answer (status 500, a body length it never sends) and raises;
uvicorn closes the connection on an exception after the start, and the client reads a
status line with a body that never comes, which it takes as a lost connection. The
exception (`_Dropped`) is logged as one line by `quiet_drops`, not as a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import dataclass
from typing import Literal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PHASES", "Fault", "FaultMiddleware", "Faults", "quiet_drops"]

Phase = Literal["before", "after"]
PHASES: tuple[Phase, ...] = ("before", "after")
_ANSWERS = ("drop", "error", "unavailable", "reject")  # at most one per request, this order


@dataclass(frozen=True, slots=True)
class Fault:
    rate: float
    phase: Phase = "before"

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            msg = f"a fault's rate lies between 0 and 1, not {self.rate}"
            raise ValueError(msg)
        if self.phase not in PHASES:
            msg = f"a fault's phase is before or after, not {self.phase!r}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Faults:
    """Which faults, how often, and the seed that draws them (None: a random seed)."""

    delay: Fault | None = None
    delay_seconds: float = 1.0
    error: Fault | None = None
    unavailable: Fault | None = None
    retry_after: int = 1
    drop: Fault | None = None
    reject: Fault | None = None
    seed: int | None = None

    def any(self) -> bool:
        return any(getattr(self, name) for name in ("delay", *_ANSWERS))


@dataclass(frozen=True, slots=True)
class _Draw:
    delay: Phase | None
    answer: tuple[str, Phase] | None


class _Dropped(Exception):  # a simulated fault, never an error of substreg
    """Raised after the start of an answer: the server closes the connection."""


class FaultMiddleware:
    """Pure ASGI middleware around the simulator's app."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults
        self._random = random.Random(faults.seed)  # faults, not secrets
        self._lock = threading.Lock()

    def _draw(self) -> _Draw:
        with self._lock:
            hits = {
                name: fault.phase
                for name in ("delay", *_ANSWERS)
                if (fault := getattr(self.faults, name)) is not None
                and self._random.random() < fault.rate
            }
        delay = hits.pop("delay", None)
        answer = next(((name, hits[name]) for name in _ANSWERS if name in hits), None)
        return _Draw(delay, answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        submission = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/submissions"
        )
        if not submission or not self.faults.any():
            await self.app(scope, receive, send)
            return
        draw = self._draw()
        # The whole request first: a delayed or failed answer never loses what was received.
        body = await _read_body(receive)
        if draw.delay == "before":
            await asyncio.sleep(self.faults.delay_seconds)
        if draw.answer is not None and draw.answer[1] == "before":
            await self._misbehave(draw.answer[0], send)
            return
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, _replay(body), keep)
        if draw.delay == "after":
            await asyncio.sleep(self.faults.delay_seconds)
        if draw.answer is not None:
            await self._misbehave(draw.answer[0], send)
            return
        for message in answer:
            await send(message)

    async def _misbehave(self, kind: str, send: Send) -> None:
        logging.getLogger("substreg.registersim").info("simulated fault: %s", kind)
        if kind == "drop":
            await send(_start(500, [(b"content-length", b"64")]))
            raise _Dropped
        if kind == "unavailable":
            retry = [(b"retry-after", str(self.faults.retry_after).encode())]
            await _answer(send, 503, "simulated fault: temporarily unavailable", retry)
        elif kind == "error":
            await _answer(send, 500, "simulated fault: internal error")
        else:
            await _answer(send, 422, "simulated fault: permanent rejection")


def quiet_drops(logger: logging.Logger) -> None:
    """Log a dropped connection (a simulated fault) as one line, without a traceback."""
    if _one_line not in logger.filters:
        logger.addFilter(_one_line)


def _one_line(record: logging.LogRecord) -> bool:
    if record.exc_info and isinstance(record.exc_info[1], _Dropped):
        record.msg, record.args, record.exc_info = "simulated fault: dropped", (), None
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # only a disconnect comes after the body: never
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _start(status: int, headers: list[tuple[bytes, bytes]]) -> Message:
    return {"type": "http.response.start", "status": status, "headers": headers}


async def _answer(
    send: Send, status: int, reason: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps({"reason": reason})
    length = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(_start(status, length + (headers or [])))
    await send({"type": "http.response.body", "body": body})
