"""The rules (internal): the request model, reference binding, validation against a contract, rendering to the
wire, and the wire-schema check the mock applies. Pure functions of a request and a contract; no I/O.

Users reach them through ``wan26core`` (``GenerationRequest``, ``validate``, ``render_body`` …), plugins through
``wan26core.plugin``.
"""
