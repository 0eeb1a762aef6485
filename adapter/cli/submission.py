"""The handlers of `substreg submit` and `substreg outbox …` (arguments:
`adapter.cli.submission_arguments`). Each calls the use cases of `adapter.services.submit`,
`.worker` and `.outbox` with what `adapter.composition` builds from practice.toml.

`submit` exits 1 when a batch was refused or failed, or a receipt left a report without
result (an `error` finding), so that a nightly job notices; 2 when it refused to seal
(fail closed: the reason is on each report) or the configuration cannot be used.
`submit --worker` stops on SIGINT or SIGTERM after the batch in hand: one line, exit 0
(D-205, D-255).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime

from adapter import composition
from adapter.cli import context as cli_context
from adapter.cli import output_outbox as out
from adapter.cli.context import confirm, context, store
from adapter.cli.exits import EXIT_FOUND
from adapter.cli.stopped import until_stopped
from adapter.errors import SubmissionRefused, UsageError
from adapter.services import outbox as outbox_service
from adapter.services.submit import Sealing, submit
from adapter.services.submit_round import release_held, submit_and_deliver
from adapter.services.worker import Delivery, deliver_due, run_worker
from adapter.services.worker_record import Outcome
from adapter.settings.practice import load_config
from adapter.store.audit import Actor
from adapter.store.workspace import Store


def _now() -> datetime:
    """This machine's time, looked up on each call (the tests set the clock)."""
    return cli_context.clock()


def _submit(args: argparse.Namespace) -> int:
    if args.once and not args.worker:
        raise UsageError("submit: --once goes with --worker (submit alone runs once)")
    if args.worker and args.queue_only:
        raise UsageError("submit: --queue-only seals for a worker; a worker does not seal")
    settings, actor, _ = context()
    config = load_config(args.config)
    installation = store(settings)
    # Built first: a transport's setting that cannot be used stops before anything is sealed.
    delivery = composition.delivery(config, _now)
    sealing = composition.sealing(config)
    if args.worker:
        poll = composition.submission_of(config).poll_seconds
        release = _releaser(installation, actor, sealing, args.format)
        return _work(
            installation, actor, delivery, poll, once=args.once, fmt=args.format, after=release
        )
    if args.queue_only:
        result, outcomes = submit(installation, actor, sealing), []
    else:  # the inventory reports its delivery frees are sealed and sent too (D-232)
        done = submit_and_deliver(installation, actor, sealing, delivery)
        result, outcomes = done.result, done.outcomes
    if args.format == "json":
        out.write_bytes(out.submit_json(result, outcomes))
    else:
        sys.stdout.write(out.submit_text(result, outcomes))
    return _status(outcomes)


def _work(
    installation: Store,
    actor: Actor,
    delivery: Delivery,
    poll: float,
    *,
    once: bool,
    fmt: str,
    after: Callable[[list[Outcome]], None],
) -> int:
    seen = _printer(fmt)
    if once:
        outcomes = deliver_due(installation, actor, delivery, seen=seen)
        after(outcomes)  # sealed for the next worker's pass
        return _status(outcomes)
    with until_stopped(WORKER_STOPPED) as stop:
        run_worker(
            installation, actor, delivery, poll_seconds=poll, stop=stop, seen=seen, after_pass=after
        )
    return 0


WORKER_STOPPED = (
    "the batch in hand was finished and every outcome recorded; what is still due waits in "
    "the outbox for the next worker"
)


def _releaser(
    installation: Store, actor: Actor, sealing: Sealing, fmt: str
) -> Callable[[list[Outcome]], None]:
    """After a worker's pass that delivered something: seal the inventory reports a
    `submit` held back and that pass freed (D-196, D-232). A refusal to seal is one line
    on stderr (the reason is on each report); the worker goes on delivering."""

    def release(outcomes: list[Outcome]) -> None:
        try:
            freed = release_held(installation, actor, sealing, outcomes)
        except SubmissionRefused as exc:
            sys.stderr.write(f"Held Inventur-Meldungen not sealed: {exc}\n")
            return
        if freed is not None and freed.batches and fmt != "json":
            sys.stdout.write(out.released_text(freed))
            sys.stdout.flush()

    return release


def _printer(fmt: str) -> Callable[[Outcome], None]:
    """Each outcome as it comes: a line (and its findings), or one JSON object a line."""

    def seen(outcome: Outcome) -> None:
        if fmt == "json":
            out.write_bytes(out.json_line(out.outcome_json(outcome)))
        else:
            sys.stdout.write(out.submit_text(None, [outcome]))
        sys.stdout.flush()

    return seen


def _status(outcomes: list[Outcome]) -> int:
    failed = any(o.state in ("rejected", "failed") for o in outcomes)
    unproven = any(f.severity == "error" for o in outcomes for f in o.findings)
    return EXIT_FOUND if failed or unproven else 0


def _outbox_list(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    batches = outbox_service.list_batches(store(settings), actor, state=args.state)
    if args.format == "json":
        out.write_bytes(out.batches_json(batches))
    else:
        sys.stdout.write(out.batches_text(batches))
    return 0


def _outbox_show(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    shown = outbox_service.show_batch(store(settings), actor, args.batch_id)
    if args.format == "json":
        out.write_bytes(out.shown_json(shown))
    else:
        sys.stdout.write(out.shown_text(shown))
    return 0


def _outbox_retry(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    batch = outbox_service.retry_batch(store(settings), actor, args.batch_id)
    sys.stdout.write(
        f"Batch {batch.batch_id} is sealed again, due now: the same bytes under the same id. "
        "`substreg submit --config practice.toml` (or a worker) delivers it.\n"
    )
    return 0


def _outbox_resend(args: argparse.Namespace) -> int:
    settings, actor, _ = context()
    config = load_config(args.config)
    sealing = composition.sealing(config)
    installation = store(settings)
    plan = outbox_service.plan_resend(installation, actor, args.batch_id)
    shown = out.shown_text(plan)
    count = len(plan.reports)
    confirm(
        f"resending would seal the {count} report(s) of batch {args.batch_id} again as a new "
        "batch (new id, new envelope)",
        f"{shown}Seal these {count} report(s) again as a new batch? The old batch is never "
        "sent again; if it did reach the register, they are reported twice.",
        yes=args.yes,
    )
    new = outbox_service.resend(installation, actor, args.batch_id, sealing)
    if args.yes:
        sys.stdout.write(shown)  # on a terminal it was shown with the question
    sys.stdout.write(
        f"Sealed again as {new.batch_id} ({new.report_count} report(s)); batch "
        f"{args.batch_id} is replaced. `substreg submit --config practice.toml` delivers it.\n"
    )
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "submit": _submit,
    "outbox_list": _outbox_list,
    "outbox_show": _outbox_show,
    "outbox_retry": _outbox_retry,
    "outbox_resend": _outbox_resend,
}


def dispatch(name: str, args: argparse.Namespace) -> int:
    """Run the handler `name`; errors reach `adapter.cli.run`, which prints them."""
    return HANDLERS[name](args)
