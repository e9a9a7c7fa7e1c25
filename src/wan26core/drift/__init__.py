"""Contract tooling (internal): recording exchanges with a provider, checking recordings and the mock against the
contracts (drift), verifying a live provider, and the OpenAPI export.

Its public face is the ``wan26 contracts`` command (``wan26core.cli``) and docs/contract-drift.md; the modules here
are private and may change in any release.
"""
