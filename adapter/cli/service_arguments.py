"""The arguments of `substreg serve` and `substreg tenant …`. Only argparse here:
`adapter.cli.service` runs them, and loads FastAPI, uvicorn and the store for them alone."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

_Actions = argparse._SubParsersAction  # the type argparse gives subcommand groups
ROLES = ("staff", "doctor", "admin")


def add_service_commands(
    commands: _Actions[Any], parser_class: type[argparse.ArgumentParser]
) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the service: the FHIR endpoint, reports, findings, outbox, per tenant",
        description="Run the HTTP service under uvicorn until SIGTERM or Ctrl-C (requests "
        "under way are finished first). Settings from SUBSTREG_* (README: The service).",
    )
    serve.add_argument("--host", help="default SUBSTREG_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default SUBSTREG_PORT or 8000")
    serve.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    serve.set_defaults(handler="serve")

    tenant = commands.add_parser("tenant", help="the service's tenants and their API keys")
    actions = tenant.add_subparsers(dest="tenant_command", required=True, parser_class=parser_class)
    add = actions.add_parser(
        "add", help="add a tenant: its home, keyring and database (`init` for it)"
    )
    add.add_argument("tenant_id", metavar="ID", help="1-32 of a-z, 0-9 and -")
    add.add_argument("--config", type=Path, metavar="practice.toml")
    add.set_defaults(handler="tenant_add")
    listing = actions.add_parser("list", help="the tenants (and with --keys their keys)")
    listing.add_argument("--keys", action="store_true")
    listing.set_defaults(handler="tenant_list")
    key = actions.add_parser("key", help="a new API key for a tenant, printed this once")
    key.add_argument("tenant_id", metavar="ID")
    key.add_argument("--role", choices=ROLES, required=True)
    key.set_defaults(handler="tenant_key")
    revoke = actions.add_parser("revoke-key", help="revoke an API key (by its key id)")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(handler="tenant_revoke_key")
    held = actions.add_parser(
        "held", help="what the tenant's pushed data waits for: a refused mass end (D-181)"
    )
    held.add_argument("tenant_id", metavar="ID")
    held.set_defaults(handler="tenant_held")
    accept = actions.add_parser(
        "accept-held",
        help="sync the tenant's held pushes, accepting at most N treatments ended at once",
    )
    accept.add_argument("tenant_id", metavar="ID")
    accept.add_argument(
        "--ending", type=int, required=True, metavar="N", help="as `tenant held` showed"
    )
    accept.add_argument(
        "--as-of",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the day to sync as of (default: today in Berlin, as the service syncs)",
    )
    accept.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    accept.set_defaults(handler="tenant_accept_held")
    work = actions.add_parser(
        "work",
        help="one outbox worker for every tenant (each with its practice.toml's [submission])",
    )
    work.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    work.set_defaults(handler="tenant_work")
