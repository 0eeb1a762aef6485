"""`substreg inventory` and `substreg blanket-deregistration` as a person runs them on the
synced demo (R-INV-1, R-PAU-1), on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.cli_helpers import ROOT, Cli

FALKNER = "3990101"


def _kinds(cli: Cli) -> list[str]:
    return [r["kind"] for r in cli.json("reports", "list", "--format", "json")["reports"]]


def test_the_inventory_is_recorded_pending_once_per_key_date(cli: Cli) -> None:
    """Made twice for one key date and doctor: the second run records nothing."""
    cli.synced()
    before = _kinds(cli)
    out = cli.ok("inventory", "--key-date", "2025-12-31", "--doctor", FALKNER)
    assert "Inventur-Meldung zum Stichtag 31.12.2025" in out
    made = _kinds(cli).count("inventur")
    assert made > 0 and f"doctor {FALKNER}: {made} report(s) recorded as pending" in out
    again = cli.ok("inventory", "--key-date", "2025-12-31", "--doctor", FALKNER)
    assert f"{made} were in the ledger already" in again
    assert len(_kinds(cli)) == len(before) + made
    pending = cli.json("reports", "list", "--state", "pending", "--format", "json")["reports"]
    ids = [r["ledger_id"] for r in pending if r["kind"] == "inventur"]
    cli.ok("reports", "approve", *ids)
    payload = cli.json("reports", "show", ids[0])["payload"]
    assert payload["kind"] == "inventur" and payload["made_on"] == "2025-12-31"


def test_the_blanket_deregistration_says_what_it_ends_and_is_made_once(cli: Cli) -> None:
    """With --yes: the plan (how many registrations it ends) and one pending report; asked
    without a terminal and without --yes, it refuses and writes nothing."""
    cli.synced()
    refusal = cli.refused("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31")
    assert "run it at a terminal to be asked, or give --yes" in refusal
    assert "pauschalabmeldung" not in _kinds(cli)
    out = cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    assert "open registration(s) on 2025-12-31" in out and "Recorded as pending" in out
    assert _kinds(cli).count("pauschalabmeldung") == 1
    again = cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31")
    assert "the ledger holds this blanket deregistration already" in again
    assert "It ends" not in again and "mapping " not in again  # N8: no "It ends 0 …" first
    assert again.count("already") == 1
    assert _kinds(cli).count("pauschalabmeldung") == 1


def test_bad_input_is_one_line_and_exit_2(cli: Cli) -> None:
    """A BtM number that is not one, a day to come, a doctor the ledger does not know."""
    cli.synced()
    assert (
        "not a BtM number" in cli.run("inventory", "--key-date", "2025-12-31", "--doctor", "12").err
    )
    assert "still to come" in cli.refused("inventory", "--key-date", "2999-01-01")
    unknown = cli.refused("inventory", "--key-date", "2025-12-31", "--doctor", "1234567")
    assert "no report of the doctor" in unknown
    for command in (("--yes",), ()):  # named so before any question is asked
        blanket = ("blanket-deregistration", "--doctor", "1234567", "--date", "2025-12-31")
        assert "no report of the doctor" in cli.refused(*blanket, *command)


def test_a_blanket_that_ends_nothing_or_comes_second_is_one_line_exit_2(cli: Cli) -> None:
    """D-211, D-212: Falkner's treatments are open on 2025-12-31; a blanket of a day before
    any began ends nothing; a second one names the first; neither is recorded."""
    cli.synced()
    nothing = cli.refused("blanket-deregistration", "--doctor", FALKNER, "--date", "2000-01-01")
    assert "nothing to deregister" in nothing and "\n" not in nothing.strip()
    cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    reports = cli.json("reports", "list", "--format", "json")["reports"]
    [first] = [r for r in reports if r["kind"] == "pauschalabmeldung"]
    second = cli.refused("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-30")
    assert f"({first['ledger_id']}, 2025-12-31, pending)" in second
    assert _kinds(cli).count("pauschalabmeldung") == 1


def test_a_deceased_doctor_s_blanket_is_declared_by_the_successor(cli: Cli) -> None:
    """D-197: --died-on with --declared-by records the blanket deregistration whose
    statement gives the date of death and whose second remark names who signs it."""
    cli.synced()
    out = cli.ok(
        "blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-30",
        "--died-on", "2025-12-30", "--declared-by", "Dr. Lea Winter",
        "--successor-btm", "3990303", "--yes",
    )  # fmt: skip
    assert "Recorded as pending" in out
    pending = cli.json("reports", "list", "--state", "pending", "--format", "json")["reports"]
    [made] = [r["ledger_id"] for r in pending if r["kind"] == "pauschalabmeldung"]
    remarks = cli.json("reports", "show", made)["payload"]["remarks"]
    assert "Sterbedatum 30.12.2025: Am 30.12.2025 wurden alle" in remarks[0]
    assert remarks[1].startswith("Erklärt und unterschrieben von Dr. Lea Winter")


def test_a_deceased_doctor_s_blanket_refuses_what_the_manual_does_not_allow(cli: Cli) -> None:
    """A declarant without --died-on, an employee without a reason, a date after the
    death: one line, exit 2, nothing recorded."""
    cli.synced()
    base = ("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-30", "--yes")
    assert "go with --died-on" in cli.refused(*base, "--declared-by", "Petra Lang")
    staff = ("--died-on", "2025-12-30", "--declared-by", "Petra Lang", "--declarant", "staff")
    assert "give the reason" in cli.refused(*base, *staff)
    later = ("--died-on", "2025-12-29", "--declared-by", "Dr. Lea Winter")
    assert "the day the doctor died" in cli.refused(*base, *later)
    assert "pauschalabmeldung" not in _kinds(cli)


def test_a_rebuild_after_a_blanket_on_a_change_pair_s_day_finds_nothing(cli: Cli) -> None:
    """N5, D-225: case 51's new consultant gives Krause's (3800303) pair, Abmeldung 04-14 and
    Anmeldung 04-15 (R-CHG-3). A blanket of 04-14 takes the unsent Abmeldung back and ends
    the registration; `sync --rebuild` derives the Abmeldung afresh and finds it covered
    (R-PAU-1): nothing recorded and no R-EP-4 finding, on either database."""
    data = str(ROOT / "tests" / "cases" / "51-chg-new-consultant" / "input.json")
    sync = ("sync", data, "--as-of", "2025-04-28", "--format", "json")
    cli.ok("init")
    assert len(cli.json(*sync)["recorded"]) == 3
    out = cli.ok("blanket-deregistration", "--doctor", "3800303", "--date", "2025-04-14", "--yes")
    assert "It ends 1 open registration(s) on 2025-04-14" in out
    assert "1 single Abmeldung(en) not yet sent are taken back" in out
    for argv in (sync, (*sync, "--rebuild")):
        result = cli.json(*argv)
        assert (result["recorded"], result["findings"]) == ([], []), argv


def _blanket_ids(cli: Cli, state: str | None = None) -> list[str]:
    reports = cli.json("reports", "list", "--format", "json")["reports"]
    return [
        r["ledger_id"]
        for r in reports
        if r["kind"] == "pauschalabmeldung" and state in (None, r["state"])
    ]


DEAD = ("--died-on", "2025-12-31", "--declared-by", "Dr. Jonas Brandt")


def test_a_rejected_blanket_does_not_block_a_new_one_for_the_same_day(cli: Cli) -> None:
    """D-248 (review r1 item 2): the successor's number was wrong; the person rejects the
    blanket and makes it again with the right one: a new pending report, not "held
    already"; the rejected one stays as the record."""
    cli.synced()
    base = ("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    cli.ok(*base, *DEAD, "--successor-btm", "3990303")
    [first] = _blanket_ids(cli)
    cli.ok("reports", "reject", first, "--reason", "wrong successor")
    out = cli.ok(*base, *DEAD, "--successor-btm", "3990202")
    assert "Recorded as pending" in out and "already" not in out
    [second] = _blanket_ids(cli, "pending")
    assert second != first and _blanket_ids(cli, "rejected") == [first]
    remarks = cli.json("reports", "show", second)["payload"]["remarks"]
    assert "BtM-Nr. 3990202" in remarks[1]
    again = cli.ok(*base, *DEAD, "--successor-btm", "3990202")
    assert "the ledger holds this blanket deregistration already" in again
    assert len(_blanket_ids(cli)) == 2


def test_a_pending_blanket_with_another_declaration_is_named_not_held_made(cli: Cli) -> None:
    """D-248: while one is pending, the same doctor and day with another successor, another
    declarant, another date of death, or as a living doctor's is refused in one line that
    names the pending one and says to reject it first; nothing is recorded."""
    cli.synced()
    base = ("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    cli.ok(*base, *DEAD, "--successor-btm", "3990303")
    [first] = _blanket_ids(cli)
    variants = (
        (*DEAD, "--successor-btm", "3990202"),
        (
            "--died-on",
            "2025-12-31",
            "--declared-by",
            "Dr. Lea Winter",
            "--successor-btm",
            "3990303",
        ),
        (*DEAD, "--declarant", "staff", "--reason", "kein Nachfolger erreichbar"),
        (),
    )
    for variant in variants:
        refusal = cli.refused(*base, *variant)
        assert f"({first}, pending)" in refusal and "reject it first" in refusal, variant
        assert "\n" not in refusal.strip()
    assert _blanket_ids(cli) == [first]


def test_the_confirmation_shows_the_deceased_doctor_s_remarks_as_stored(cli: Cli) -> None:
    """D-249 (review r1 item 9): for a doctor who died the plan shows the statement with
    the date of death and the declaration, as recorded, not "habe ich … beendet"."""
    cli.synced()
    out = cli.ok(
        "blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", *DEAD,
        "--successor-btm", "3990202", "--yes",
    )  # fmt: skip
    [made] = _blanket_ids(cli)
    remarks = cli.json("reports", "show", made)["payload"]["remarks"]
    assert "habe ich alle" not in out
    assert all(f'"{remark}"' in out for remark in remarks)


def test_the_successor_is_not_the_deceased_doctor(cli: Cli) -> None:
    """D-249: --successor-btm equal to --doctor is refused in one line, nothing recorded."""
    cli.synced()
    refusal = cli.refused(
        "blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", *DEAD,
        "--successor-btm", FALKNER, "--yes",
    )  # fmt: skip
    assert "the deceased doctor's own" in refusal and "\n" not in refusal.strip()
    assert "pauschalabmeldung" not in _kinds(cli)


def test_a_date_before_the_doctor_s_last_doses_is_warned_of_not_refused(cli: Cli) -> None:
    """D-249: the demo's patients of Falkner had doses on 2025-12-31; a blanket of 12-30
    is recorded, with a warning naming how many and the last day; one of 12-31 has none."""
    cli.synced()
    out = cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-30", "--yes")
    assert "Warning: the synced data shows doses after 2025-12-30" in out
    assert "the last on 2025-12-31" in out and "Recorded as pending" in out
    [made] = _blanket_ids(cli)
    cli.ok("reports", "reject", made, "--reason", "wrong day")
    right = cli.ok("blanket-deregistration", "--doctor", FALKNER, "--date", "2025-12-31", "--yes")
    assert "Warning" not in right and "Recorded as pending" in right
