"""The register simulator (issue 12, docs/SUBMISSION.md): a separate app that plays the
Substitutionsregister for development, demos and tests. It has its own key and certificate,
opens envelopes, validates each report, keeps only a keyed cryptogram of each code
(R-CH-3), notices a code registered by two doctors at once (004 §10), answers with a signed
receipt, is idempotent on the idempotency key, and misbehaves on request (fault switches).

    app.py       create_app(state_dir, faults=…, clock=…): the routes
    office.py    POST /submissions: open, check, take, sign, keep (one transaction)
    intake.py    each report accepted or rejected against the register's holdings
    state.py     the SQLite state (SQLAlchemy Core), tables.py its tables
    identity.py  key, certificate and code secret in the state folder, made on first start
    faults.py    delay, 500, 503 + Retry-After, dropped connection, 422; before or after
    server.py    uvicorn

It imports the domain and adapter.crypto, never the practice's store, services or CLI: it
stands for the other side of the wire. `substreg register-sim` starts it.
"""

from __future__ import annotations

from adapter.registersim.app import create_app
from adapter.registersim.faults import Fault, Faults

__all__ = ["Fault", "Faults", "create_app"]
