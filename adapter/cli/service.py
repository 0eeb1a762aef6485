"""`substreg serve` (uvicorn, factory mode) and `substreg tenant …` (the registry), thin
over adapter.api and adapter.services.tenants; `tenant held` and `tenant accept-held`
over adapter.services.held (D-181)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapter import composition
from adapter.cli.context import clock, confirm, today_in_berlin
from adapter.cli.output import recorded_summary
from adapter.cli.tenant_work import handle_tenant_work
from adapter.errors import RegistryError, UsageError
from adapter.mappings import load_mappings
from adapter.services import tenants
from adapter.services.held import Held, accept_held, held
from adapter.services.sync_plan import SyncOptions
from adapter.settings.practice import PracticeConfig, load_config
from adapter.settings.service import ServiceSettings, check_tenant_id
from adapter.store.audit import Actor
from adapter.store.registry import Role, Tenant
from adapter.store.workspace import Store

GRACE_SECONDS = 30  # SIGTERM: requests under way get this long to finish


def dispatch(handler: str, args: argparse.Namespace) -> int:
    if handler == "serve":
        return _serve(args)
    service = composition.service_settings()
    actor = composition.operator(composition.settings())
    commands = {
        "tenant_add": _add,
        "tenant_list": _list,
        "tenant_key": _key,
        "tenant_revoke_key": _revoke,
        "tenant_held": _held,
        "tenant_accept_held": _accept_held,
        "tenant_work": handle_tenant_work,
    }
    return commands[handler](service, actor, args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 (only `serve` loads the server)

    service = composition.service_settings()
    composition.registry(service)  # the registry made (or a one-line error) before serving
    uvicorn.run(
        "adapter.api.app:app_from_env",
        factory=True,
        host=args.host or service.host,
        port=args.port or service.port,
        workers=args.workers,
        access_log=False,  # it would log paths and query strings; the app logs templates
        log_config=None,  # the app's JSON lines (adapter/api/operations.py)
        timeout_graceful_shutdown=GRACE_SECONDS,
        proxy_headers=False,
    )
    return 0


def _add(service: ServiceSettings, actor: Actor, args: argparse.Namespace) -> int:
    tenant_id = check_tenant_id(args.tenant_id)
    registry = composition.registry(service)
    if registry.tenant(tenant_id) is not None:
        msg = f"the tenant {tenant_id} exists already (`substreg tenant list`)"
        raise RegistryError(msg)
    config_path: Path | None = args.config.resolve() if args.config else None
    if config_path is not None:
        load_config(config_path)  # a configuration that cannot be used stops here
    composition.prepare_tenant(service, tenant_id)
    added = tenants.add_tenant(
        registry,
        composition.tenant_store(service, tenant_id, clock),
        composition.tenant_settings(service, tenant_id),
        actor,
        tenant_id,
        config_path=str(config_path) if config_path else None,
        now=clock(),
    )
    home = service.tenant_home(tenant_id)
    print(f"Tenant {tenant_id}: home {home} (keyring), schema {added.init.revision}.")
    print(f"  a key for it: substreg tenant key {tenant_id} --role doctor")
    return 0


def _list(service: ServiceSettings, _actor: Actor, args: argparse.Namespace) -> int:
    registry = composition.registry(service)
    found = registry.tenants()
    if not found:
        print("No tenants (`substreg tenant add ID`).")
    for tenant in found:
        config = tenant.config_path or "no practice.toml"
        print(f"{tenant.tenant_id}\t{tenant.created_at:%Y-%m-%d %H:%M}Z\t{config}")
        if args.keys:
            for key in registry.keys(tenant.tenant_id):
                revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}Z" if key.revoked_at else "ok"
                print(f"  key {key.key_id}\t{key.role.value}\t{key.created_at:%Y-%m-%d}\t{revoked}")
    return 0


def _key(service: ServiceSettings, actor: Actor, args: argparse.Namespace) -> int:
    tenant_id = check_tenant_id(args.tenant_id)
    registry = composition.registry(service)
    if registry.tenant(tenant_id) is None:
        msg = f"there is no tenant {tenant_id} (`substreg tenant list`)"
        raise RegistryError(msg)
    store = composition.tenant_store(service, tenant_id, clock)
    key, text = tenants.issue_key(
        registry, store, actor, tenant_id, role=Role(args.role), now=clock()
    )
    print(text)  # alone on standard output: a script can take it
    print(
        f"substreg: the {key.role.value} key {key.key_id} of {tenant_id}, shown this once "
        "(only its digest is kept)",
        file=sys.stderr,
    )
    return 0


def _revoke(service: ServiceSettings, actor: Actor, args: argparse.Namespace) -> int:
    registry = composition.registry(service)
    key = registry.key(args.key_id)
    if key is None:
        msg = f"there is no API key {args.key_id[:16]} (`substreg tenant list --keys`)"
        raise RegistryError(msg)
    store = composition.tenant_store(service, key.tenant_id, clock)
    tenants.revoke_key(registry, store, actor, key, clock())
    print(f"Key {key.key_id} of {key.tenant_id} revoked.")
    return 0


def _tenant_store(service: ServiceSettings, tenant_id: str) -> tuple[Store, Tenant]:
    tenant_id = check_tenant_id(tenant_id)
    tenant = composition.registry(service).tenant(tenant_id)
    if tenant is None:
        msg = f"there is no tenant {tenant_id} (`substreg tenant list`)"
        raise RegistryError(msg)
    return composition.tenant_store(service, tenant_id, clock), tenant


def _held(service: ServiceSettings, _actor: Actor, args: argparse.Namespace) -> int:
    store, tenant = _tenant_store(service, args.tenant_id)
    sys.stdout.write(held_text(tenant.tenant_id, held(store)))
    return 0


def _accept_held(service: ServiceSettings, actor: Actor, args: argparse.Namespace) -> int:
    store, tenant = _tenant_store(service, args.tenant_id)
    if args.ending < 0:
        raise UsageError("tenant accept-held: --ending must be 0 or more")
    waiting = held(store)
    confirm(
        f"accept-held would sync {_unread(waiting)} of {tenant.tenant_id}, "
        f"ending up to {args.ending} treatment(s) at once",
        f"{held_text(tenant.tenant_id, waiting)}Sync, accepting up to {args.ending} end(s)?",
        yes=args.yes,
    )
    config = load_config(Path(tenant.config_path)) if tenant.config_path else PracticeConfig()
    as_of = args.as_of or today_in_berlin()
    options = SyncOptions(as_of=as_of, config=config, mappings=load_mappings(), service=True)
    results = accept_held(store, actor, options, ending=args.ending)
    recorded = recorded_summary([r for result in results for r in result.recorded])
    print(f"Synced in {len(results)} run(s). {recorded}.")
    return 0


def _unread(waiting: Held) -> str:
    if waiting.pending or not waiting.held:
        return f"{waiting.pending} pushed resource(s)"
    return "no new data (the walk on to the day its timer refused, D-237)"


def held_text(tenant_id: str, waiting: Held) -> str:
    """What `tenant held` shows: counts and days, never a patient."""
    unread = f"{waiting.pending} pushed resource(s) unread"
    if not waiting.held or waiting.refusal is None:
        return f"Tenant {tenant_id}: nothing held ({unread}).\n"
    refusal = waiting.refusal
    newest = refusal.get("newest_event") or "none"
    return (
        f"Tenant {tenant_id}: {unread}; the sync as of {refusal.get('as_of')} is held: it "
        f"would end {waiting.ending} of {refusal.get('open')} open registration(s) by the "
        f"10-day rule (R-EP-3; newest event of its data: {newest}).\n"
        f"  accept: substreg tenant accept-held {tenant_id} --ending {waiting.ending}\n"
    )
