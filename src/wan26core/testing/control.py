"""The handle tests hold on a mock: scenarios, the virtual clock, jobs, the journal and assertions on it.

:class:`MockControl` speaks only the mock's admin API (``/__wan26__/...``) through one method, :meth:`MockControl.admin`,
which the live server (HTTP over loopback) and the in-process routes (the engine called directly) each implement;
both fixtures therefore behave alike. Stdlib only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ACTIONS", "AdminError", "JournalEntry", "MockControl", "ScenarioSpec", "field_value", "scenario_specs"]

#: the engine's names for what a request does (``wan26core._dialect.Action`` and fal's storage uploads)
ACTIONS = ("submit", "status", "stream", "result", "cancel", "upload")
_MISSING = object()
_PAGE = 1000  # items per admin listing page (the mock's largest)


class AdminError(RuntimeError):
    """The mock's admin API refused a call; the message is its ``detail``."""


@dataclass(frozen=True)
class JournalEntry:
    """One request the mock answered, as its journal keeps it (secrets redacted).

    ``provider`` is the provider/model id (None before one was known, e.g. a refused key); ``action`` is one of
    :data:`ACTIONS` (None for unknown routes); ``body`` and ``response`` are decoded JSON where they were JSON.
    """

    seq: int
    time: float
    provider: str | None
    action: str | None
    job_id: str | None
    scenario: str | None
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    status: int
    response: Any

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JournalEntry:
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**values)

    def summary(self) -> str:
        return f"#{self.seq} {self.method} {self.path} -> {self.status} ({self.provider or '-'}, {self.action or '-'})"


@dataclass(frozen=True)
class ScenarioSpec:
    """What one ``@pytest.mark.wan26(...)`` asks for."""

    scenario: str | None = None
    count: int = 1
    provider: str | None = None
    action: str | None = None
    providers: tuple[str, ...] = ()


_MARK_KEYS = {"scenario", "count", "provider", "action", "providers"}


def scenario_specs(marks: Iterable[Any]) -> list[ScenarioSpec]:
    """``@pytest.mark.wan26`` marks (closest first, as pytest lists them) -> specs, outermost first.

    ``@pytest.mark.wan26("rate_limited")`` is ``scenario="rate_limited"``; unknown keywords are errors.
    """
    specs = []
    for mark in marks:
        args, kwargs = tuple(mark.args), dict(mark.kwargs)
        if len(args) > 1 or (args and "scenario" in kwargs):
            raise TypeError("@pytest.mark.wan26 takes at most one positional argument, the scenario")
        if args:
            kwargs["scenario"] = args[0]
        unknown = sorted(set(kwargs) - _MARK_KEYS)
        if unknown:
            raise TypeError(f"@pytest.mark.wan26: unknown argument(s) {unknown}; known: {sorted(_MARK_KEYS)}")
        providers = kwargs.get("providers") or ()
        if isinstance(providers, str):
            providers = (providers,)
        spec = ScenarioSpec(
            scenario=kwargs.get("scenario"),
            count=kwargs.get("count", 1),
            provider=kwargs.get("provider"),
            action=kwargs.get("action"),
            providers=tuple(providers),
        )
        if spec.scenario is None and (spec.provider or spec.action or "count" in kwargs):
            raise TypeError("@pytest.mark.wan26: provider=, action= and count= need a scenario=")
        specs.append(spec)
    return specs[::-1]


def field_value(body: Any, name: str) -> Any:
    """``body[name]``, where ``name`` may be a path: ``input.prompt`` or ``input__prompt`` (list items by index)."""
    value = body
    for part in name.replace("__", ".").split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


class MockControl(ABC):
    """Scenarios, clock, jobs and journal of one mock, through its admin API."""

    _providers: list[str] | None = None
    declared: tuple[str, ...] = ()

    @abstractmethod
    def admin(self, method: str, path: str, body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None) -> Any:
        """Call ``/__wan26__/<path>``; the JSON answer, or :class:`AdminError` with the mock's ``detail``."""

    def _every(self, path: str, key: str, cursor: str, query: Mapping[str, str] | None = None) -> list[Any]:
        """Every item of an admin listing, page after page (``next_offset`` / ``next_after`` name the next one)."""
        wanted = {**(query or {}), "limit": str(_PAGE)}
        items: list[Any] = []
        while True:
            page = self.admin("GET", path, query=wanted)
            items += page[key]
            following = page.get(f"next_{cursor}")
            if following is None:
                return items
            wanted[cursor] = str(following)

    # --- state ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget jobs, journal, pending scenarios, webhooks and uploads (the clock keeps its time)."""
        self.admin("POST", "reset")

    def providers(self) -> list[str]:
        """The provider/model ids the mock serves."""
        if self._providers is None:
            self._providers = list(self.admin("GET", "health")["providers"])
        return list(self._providers)

    def scenario(self, name: str, count: int = 1, provider: str | None = None, action: str | None = None) -> None:
        """Apply scenario ``name`` (``"rate_limited:2"``, ``"generation_failed:<code>"``, …) to the next ``count``
        requests, optionally only those of ``provider`` (a provider/model id) and/or ``action`` (:data:`ACTIONS`)."""
        if provider is not None and provider not in self.providers():
            hint = " (give a provider/model id)" if "/" not in provider else ""
            raise ValueError(f"provider: {provider!r} is not served by the mock{hint}; served: {self.providers()}")
        if action is not None and action not in ACTIONS:
            raise ValueError(f"action: {action!r} is not one of {list(ACTIONS)}")
        try:
            self.admin("POST", "scenarios", {"scenario": name, "count": count, "provider": provider, "action": action})
        except AdminError as exc:
            raise ValueError(f"scenario {name!r}: {exc}") from None

    def pending_scenarios(self) -> list[dict[str, Any]]:
        """Scenarios queued and not yet used up."""
        return list(self.admin("GET", "scenarios")["pending"])

    def apply(self, specs: Iterable[ScenarioSpec]) -> None:
        """Queue the scenarios of ``@pytest.mark.wan26`` marks and declare their ``providers``."""
        specs = list(specs)
        self.declare(*(p for spec in specs for p in spec.providers))
        for spec in specs:
            if spec.scenario is not None:
                self.scenario(spec.scenario, spec.count, spec.provider, spec.action)

    def declare(self, *providers: str) -> None:
        """Providers the test must reach: names (``"fal"``) or provider/model ids (``"fal/r2v-flash"``)."""
        ids = self.providers()
        names = {pid.split("/")[0] for pid in ids}
        unknown = [p for p in providers if p not in ids and p not in names]
        if unknown:
            raise ValueError(f"providers: {unknown} not served; served: {sorted(names)} and {ids}")
        self.declared = tuple(dict.fromkeys((*self.declared, *providers)))

    def unreached(self) -> list[str]:
        """The declared providers no journaled request reached yet (a name: any of its endpoints)."""
        seen = {e.provider for e in self.journal() if e.provider}
        seen |= {p.split("/")[0] for p in seen}
        return [p for p in self.declared if p not in seen]

    def now(self) -> float:
        """The mock's virtual time (unix seconds)."""
        return float(self.admin("GET", "clock")["now"])

    def advance(self, seconds: float) -> float:
        """Move the virtual clock forward (queued and running jobs progress accordingly); the new time."""
        return float(self.admin("POST", "clock/advance", {"seconds": seconds})["now"])

    def jobs(self) -> list[dict[str, Any]]:
        """Every job the mock holds, as the admin API shows it (id, provider, state, request, wire, error, video…)."""
        return self._every("jobs", "jobs", "offset")

    def job(self, job_id: str) -> dict[str, Any]:
        """One job by the provider's id for it."""
        view: dict[str, Any] = self.admin("GET", f"jobs/{job_id}")
        return view

    # --- journal -------------------------------------------------------------------------------------
    def journal(self, provider: str | None = None, action: str | None = None, job_id: str | None = None) -> list[JournalEntry]:
        """The requests the mock answered since the last reset, oldest first, optionally filtered."""
        query = {k: v for k, v in (("provider", provider), ("action", action), ("job_id", job_id)) if v is not None}
        return [JournalEntry.from_dict(e) for e in self._every("journal", "entries", "after", query)]

    def submits(self, provider: str | None = None, *, include_refused: bool = False) -> list[JournalEntry]:
        """Submits (to ``provider``, a provider/model id), by default only those the mock accepted: those that created
        a job (``job_id`` set), whatever the status (Vtrix refuses a body with HTTP 200 and ``"status": "failed"``)."""
        entries = self.journal(provider=provider, action="submit")
        return entries if include_refused else [e for e in entries if e.job_id is not None]

    def assert_submitted(
        self,
        provider: str,
        /,
        count: int = 1,
        *,
        include_refused: bool = False,
        where: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> list[JournalEntry]:
        """Assert that exactly ``count`` submits to ``provider`` (a provider/model id) were accepted whose wire body
        has each of ``fields`` (``prompt="…"``; nested as ``input__prompt="…"``, list items as ``video_urls__0=``) and
        of ``where`` (the same as a mapping, e.g. ``where={"input.prompt": "…"}``, for paths with dots or names that
        clash with these parameters).

        ``include_refused``: count refused submits too (429, 422, …: those that created no job). Returns the matching
        entries."""
        fields = {**(where or {}), **fields}
        if provider not in self.providers():
            raise ValueError(f"provider: {provider!r} is not served by the mock; served: {self.providers()}")
        seen = self.submits(provider, include_refused=include_refused)
        matching = [e for e in seen if all(field_value(e.body, k) == v for k, v in fields.items())]
        if len(matching) != count:
            kind = "submits" if include_refused else "accepted submits"
            wanted = f" with {fields}" if fields else ""
            lines = [f"expected {count} {kind} to {provider}{wanted}, found {len(matching)}"]
            for entry in seen:
                lines.append(f"  {entry.summary()}: {_differences(entry.body, fields) or 'matches'}")
            others = [e for e in self.journal(action="submit") if e.provider != provider]
            if others:
                lines.append("  submits to other providers: " + ", ".join(sorted({str(e.provider) for e in others})))
            raise AssertionError("\n".join(lines))
        return matching

    def assert_not_submitted(self, provider: str | None = None) -> None:
        """Assert that no submit (accepted or not) reached the mock, for ``provider`` or at all."""
        seen = self.submits(provider, include_refused=True)
        if seen:
            where = f" to {provider}" if provider else ""
            raise AssertionError(f"expected no submit{where}, found {len(seen)}: " + "; ".join(e.summary() for e in seen))


def _differences(body: Any, fields: Mapping[str, Any]) -> str:
    out = []
    for name, wanted in fields.items():
        value = field_value(body, name)
        if value is _MISSING:
            out.append(f"{name} missing")
        elif value != wanted:
            out.append(f"{name}={value!r}")
    return ", ".join(out)
