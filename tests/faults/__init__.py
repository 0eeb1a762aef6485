"""The fault-injection suite of issue 9: what an operator really meets must not destroy
data, block the practice, end every treatment, or alter the legal record unnoticed.

- test_clock_skew: a clock ahead or behind; a run taken back with `runs undo`
- test_runs_undo: what an undo takes back (the run's own changes only), and what stops it
- test_retention_clock: retention under a wrong clock or `--as-of`; the retention mark
- test_extreme_values: every date and quantity field through extreme values (hypothesis)
- test_stale_exports: empty and stale exports and the mass-end threshold
- test_ledger_tampering: ledger rows edited, deleted, inserted, set back; a wiped log
- test_ledger_chain: such rows never sealed over (init, reject) nor built on (sync); a
  wiped log stops every command
- test_damaged_rows: damaged ciphertexts in every kind of row; a damaged index; `inspect`
- test_broken_input: unreadable folders (a real permission error too), nesting past the
  limit and past the parser
The commands (the `cli` fixture) and the tampered and damaged rows run on SQLite and on
PostgreSQL; the tests that call the services run on the in-memory twin, with one
end-to-end run per file on both databases (D-119).
"""
