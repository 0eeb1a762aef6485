"""What substreg writes for people and other programs: the derive document (REPORTS.md,
JSON and table) and the ledger export (CSV, PDF) a doctor keeps as the record (R-CH-2)."""
