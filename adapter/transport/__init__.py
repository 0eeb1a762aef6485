"""How a sealed batch leaves the practice (docs/SUBMISSION.md "Transports"): `http` to
the register (or its simulator), `folder` for a separate uploader, `paper` as a PDF form.
Each is an edge: it moves bytes and says what came back; the outbox decides what follows."""
