"""What a drift check reports: per contract (:func:`check_contract` over its exchanges, with the coverage of status
words) and for the whole run (:class:`DriftReport`: the findings by severity, and the text ``wan26 contracts check``
prints)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wan26core._contract import Contract
from wan26core.drift._drift import VOCABULARY_KINDS, ExchangeCheck, Finding, LocatedExchange, Severity, expectations
from wan26core.drift._recordings import exchange_key
from wan26core.drift._shapes import get_value

__all__ = ["ContractReport", "DriftReport", "check_contract"]


@dataclass
class ContractReport:
    """The findings for one contract, deduplicated, with how often and where each was seen."""

    contract: str
    exchanges: int = 0
    origins: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    seen_in: dict[tuple[str, str, str, str, str], list[str]] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        key = finding.key()
        if key not in self.seen_in:
            self.seen_in[key] = []
            self.findings.append(finding)
        if finding.where and finding.where not in self.seen_in[key]:
            self.seen_in[key].append(finding.where)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


def check_contract(contract: Contract, exchanges: Iterable[LocatedExchange], *, coverage: bool = True) -> ContractReport:
    """Every drift the exchanges of one contract show; identical exchanges are checked once.

    With ``coverage`` the status words no exchange shows are listed too (``status_unobserved``, info).
    """
    report = ContractReport(contract.id)
    expected = expectations(contract)
    seen: set[str] = set()
    observed: set[str] = set()
    statuses = contract.data["statuses"]
    for located in exchanges:
        key = exchange_key(located.exchange)
        if key in seen:
            continue
        seen.add(key)
        report.exchanges += 1
        origin = str(located.exchange.get("origin", "?")).split(":", 1)[0]
        report.origins[origin] = report.origins.get(origin, 0) + 1
        for finding in ExchangeCheck(contract, located.exchange, located.where, expected).run():
            report.add(finding)
        response = located.exchange.get("response")
        if located.exchange.get("action") in VOCABULARY_KINDS and isinstance(response, Mapping):
            found, value = get_value(response.get("body"), str(statuses["field"]))
            if found and isinstance(value, str):
                observed.add(value)
    for word in statuses["map"] if coverage else ():
        if word not in observed and report.exchanges:
            report.add(
                Finding(
                    contract.id, "status_unobserved", "vocabulary", "$." + str(statuses["field"]), f"no exchange shows {word!r}"
                )
            )
    return report


@dataclass
class DriftReport:
    """Every contract's report, and whether the run passes."""

    contracts: dict[str, ContractReport]
    strict: bool = False
    extra: list[Finding] = field(default_factory=list)  # about recordings without a contract

    def findings(self) -> list[Finding]:
        return [f for r in self.contracts.values() for f in r.findings] + self.extra

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings() if f.severity == severity)

    @property
    def ok(self) -> bool:
        return self.count("breaking") == 0 and (not self.strict or self.count("warning") == 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "strict": self.strict,
            "summary": {
                "contracts": len(self.contracts),
                "exchanges": sum(r.exchanges for r in self.contracts.values()),
                "breaking": self.count("breaking"),
                "warning": self.count("warning"),
                "info": self.count("info"),
            },
            "contracts": {
                cid: {
                    "exchanges": r.exchanges,
                    "origins": r.origins,
                    "findings": [{**f.as_dict(), "seen_in": r.seen_in.get(f.key(), [])} for f in r.findings],
                }
                for cid, r in sorted(self.contracts.items())
            },
            "other": [f.as_dict() for f in self.extra],
        }

    def render(self, *, verbose: bool = False) -> str:
        """A grouped, diff-like text: per contract, per response kind, ``-`` removed, ``+`` added, ``~`` changed."""
        lines: list[str] = []
        for cid, report in sorted(self.contracts.items()):
            shown = [f for f in report.findings if verbose or f.severity != "info"]
            origins = ", ".join(f"{n} {o}" for o, n in sorted(report.origins.items()))
            head = f"{cid}: {report.exchanges} exchanges ({origins or 'none'})"
            if not shown:
                infos = report.count("info")
                lines.append(f"{head} — no drift" + (f" ({infos} info, --verbose shows them)" if infos and not verbose else ""))
                continue
            lines.append(f"{head} — {report.count('breaking')} breaking, {report.count('warning')} warning(s)")
            by_kind: dict[str, list[Finding]] = {}
            for finding in shown:
                by_kind.setdefault(finding.kind, []).append(finding)
            for kind, group in by_kind.items():
                lines.append(f"  {kind}")
                for finding in sorted(group, key=lambda f: ("breaking", "warning", "info").index(f.severity)):
                    mark = _MARKS.get(finding.drift, "~")
                    where = report.seen_in.get(finding.key(), [])
                    seen = f" — {where[0]}" + (f" (+{len(where) - 1} more)" if len(where) > 1 else "") if where else ""
                    lines.append(f"    {mark} {finding.path or '(exchange)'}: {finding.message}")
                    lines.append(f"        [{finding.drift}, {finding.severity}]{seen}")
        for finding in self.extra:
            lines.append(f"{finding.where}: {finding.message} [{finding.drift}, {finding.severity}]")
        verdict = "OK" if self.ok else "DRIFT"
        rule = " (--strict: warnings fail)" if self.strict else ""
        exchanges = sum(r.exchanges for r in self.contracts.values())
        lines.append(
            f"{verdict}: {len(self.contracts)} contracts, {exchanges} exchanges; {self.count('breaking')} breaking, "
            f"{self.count('warning')} warning(s), {self.count('info')} info{rule}"
        )
        return "\n".join(lines) + "\n"


_MARKS = {
    "field_removed": "-",
    "header_removed": "-",
    "status_unobserved": "?",
    "field_added": "+",
    "error_code_added": "+",
    "http_status_added": "+",
    "status_added": "+",
    "limit_relaxed": "+",
    "request_relaxed": "+",
}
