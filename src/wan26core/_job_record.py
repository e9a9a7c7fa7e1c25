"""A journaled job's record (:class:`JobRecord`), its phases, and what is scrubbed from it before it is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from wan26core._redaction import MASK, redact
from wan26core._redaction import secret_name as _secret_name

__all__ = ["FINISHED_PHASES", "PHASES", "SCRUBBED", "JobPhase", "JobRecord", "scrub"]


JobPhase = Literal["intent", "submitted", "queued", "running", "succeeded", "failed", "cancelled", "rejected", "unknown"]


PHASES: frozenset[str] = frozenset(get_args(JobPhase))


FINISHED_PHASES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "rejected"})


SCRUBBED = MASK


@dataclass(frozen=True)
class JobRecord:
    """One journaled job as last recorded. Mappings are fresh copies; changing them changes nothing stored."""

    id: str
    provider: str
    fingerprint: str
    phase: JobPhase
    created_at: float
    updated_at: float
    remote_id: str | None = None
    urls: Mapping[str, str] = field(default_factory=dict)
    base_url: str | None = None
    request: Mapping[str, Any] = field(default_factory=dict)
    wire: Mapping[str, Any] = field(default_factory=dict)
    queue_position: int | None = None
    progress: float | None = None
    last_log: str | None = None
    error: Mapping[str, Any] | None = None
    result: Mapping[str, Any] | None = None
    output_path: str | None = None
    label: str | None = None
    #: where the video should be saved (an absolute path), and whether that may replace an existing file;
    #: ``wan26 jobs resume`` downloads a succeeded job there when ``output_path`` is still unset
    wanted_output: str | None = None
    wanted_overwrite: bool = False
    #: the job ran on the embedded mock (``wan26 generate`` without a key): followed on a mock, never on the provider
    mock: bool = False

    @property
    def finished(self) -> bool:
        """True once the job can change no more: succeeded, failed, cancelled or rejected."""
        return self.phase in FINISHED_PHASES

    @property
    def download_pending(self) -> bool:
        """True when the job succeeded, a download was asked for, and none is recorded (a crash, a kill, an error)."""
        return self.phase == "succeeded" and self.wanted_output is not None and self.output_path is None

    @property
    def short_id(self) -> str:
        """The first 8 characters of the local id, enough for :meth:`Journal.get` in practice."""
        return self.id[:8]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


def scrub(value: Any, *, urls: bool = True) -> Any:
    """A copy of JSON-like ``value`` through :func:`wan26core._redaction.redact` (``urls=False``: keys only)."""
    if urls:
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): SCRUBBED if _secret_name(str(k)) and v is not None else scrub(v, urls=False) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, urls=False) for v in value]
    return value
