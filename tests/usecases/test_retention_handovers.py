"""`retention apply` destroys the records of handovers received here that ended more
than the retention period ago (R-HO-1, D-194): the data key and the row, on the twin,
SQLite and PostgreSQL; open handovers and those ended since stay."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.cli.output_care import retention_plan_text, retention_text
from adapter.errors import ShreddedError
from adapter.services.retention import apply_retention, plan_retention
from adapter.store.handovers import RELEASED, RETURNED
from adapter.store.workspace import Store, Workspace
from tests.storage import ACTOR, EVERY_KIND, Database, open_store

OLD, RECENT, OPEN = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)
CUTOFF = date(2016, 12, 1)  # ten years before the stores' today (2026-12-01)


def _received(store: Store) -> dict[str, str]:
    """Three handovers received: ended before the cutoff, ended on it, open."""

    def work(space: Workspace) -> dict[str, str]:
        deks = {}
        for handover_id in (OLD, RECENT, OPEN):
            space.handovers.record(handover_id, "ab" * 32, "ZZTEST00", "7654321", date(2015, 1, 5))
        space.handovers.end(OLD, RETURNED, date(2016, 11, 30))
        space.handovers.end(RECENT, RELEASED, CUTOFF)
        for row in space.handovers.rows.rows():
            deks[row["handover_id"]] = row["dek_id"]
        return deks

    return store.run(ACTOR, work)


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_handover_ended_before_the_cutoff_is_destroyed(db: Database) -> None:
    """Planned and shown by id, then its key and row are gone; the others open still."""
    store, _ = open_store(db)
    deks = _received(store)
    plan = plan_retention(store, ACTOR)
    assert plan.cutoff == CUTOFF
    assert [(h.handover_id, h.state, h.ended_on) for h in plan.handovers] == [
        (OLD, RETURNED, date(2016, 11, 30))
    ]
    result = apply_retention(store, ACTOR)
    assert result.handovers == (OLD,)

    def check(space: Workspace) -> list[str]:
        with pytest.raises(ShreddedError):
            space.keys.data_key(deks[OLD])
        return sorted(h.handover_id for h in space.handovers.listed())

    assert store.run(ACTOR, check) == [RECENT, OPEN]
    [entry] = store.read(lambda space: list(space.audit.rows.entries(action="retention.handover")))
    assert OLD in repr(entry) and "ZZTEST00" not in repr(entry)


def test_a_dry_run_and_an_unconfirmed_handover_destroy_nothing(db: Database) -> None:
    """Dry run: named, kept; confirmed without its id (not shown): kept (twin)."""
    store, _ = open_store(db)
    _received(store)
    assert apply_retention(store, ACTOR, dry_run=True).handovers == (OLD,)
    assert apply_retention(store, ACTOR, confirmed=frozenset()).handovers == ()
    listed = store.run(ACTOR, lambda space: space.handovers.listed())
    assert len(listed) == 3


def test_the_plan_and_the_result_name_the_handover_by_id_only(db: Database) -> None:
    """What `retention apply` shows before it asks and after: id, state, day; no code."""
    store, _ = open_store(db)
    _received(store)
    shown = retention_plan_text(plan_retention(store, ACTOR))
    assert f"handover {OLD}  returned on 2016-11-30" in shown
    assert RECENT not in shown and OPEN not in shown and "ZZTEST00" not in shown
    done = retention_text(apply_retention(store, ACTOR))
    assert f"Handover records destroyed: 1 ({OLD})." in done
