"""The client side of a provider's wire protocol, without I/O.

A :class:`ClientProtocol` turns intentions (submit this wire request, ask for that job's status) into
:class:`HttpCall` values and turns :class:`HttpReply` values back into canonical results
(:class:`JobRef`, :class:`JobStatus`, :class:`VideoResult`) or wan26 exceptions that keep the
provider's native code. It never opens a socket, so one implementation serves the sync and async
clients (``wan26core._runtime`` performs the calls) and is tested on recorded bodies alone.

:class:`ContractClientProtocol` does everything the contract can say (routes, auth, status words,
error catalogue); provider plugins subclass it for what only code can say (where the job id is).
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlencode

from wan26core._classify import error_for
from wan26core._contract import Contract
from wan26core._errors import (
    AuthenticationError,
    MalformedResponseError,
    NativeError,
    UnsupportedOptionError,
    ValidationError,
    Violation,
    Wan26Error,
)
from wan26core._redaction import redact_url
from wan26core._rules.references import get_path
from wan26core._rules.render import WireRequest
from wan26core._types import HttpCall, HttpReply, JobRef, JobState, JobStatus, VideoResult

if TYPE_CHECKING:
    from wan26core._policies import RetryPolicy

__all__ = [
    "ClientProtocol",
    "ContractClientProtocol",
    "HttpCall",
    "HttpReply",
    "JobRef",
    "JobState",
    "JobStatus",
    "VideoResult",
    "error_for",
    "redact_url",
]


@runtime_checkable
class ClientProtocol(Protocol):
    """What the runtime needs from a provider plugin to run jobs (see :class:`ContractClientProtocol`)."""

    provider_id: str

    def base_url(self, explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str: ...
    def api_key(self, explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str: ...
    def submit_call(self, wire: WireRequest, *, key: str, base_url: str, webhook_url: str | None = None) -> HttpCall: ...
    def parse_submitted(self, reply: HttpReply) -> JobRef: ...
    def status_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall: ...
    def parse_status(self, reply: HttpReply, ref: JobRef) -> JobStatus: ...
    def stream_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall | None: ...
    def parse_event(self, data: str, ref: JobRef) -> JobStatus: ...
    def result_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall: ...
    def parse_result(self, reply: HttpReply, ref: JobRef) -> VideoResult: ...
    def cancel_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall | None: ...
    def parse_cancel(self, reply: HttpReply, ref: JobRef) -> bool: ...
    def error_from(self, reply: HttpReply, *, job_id: str | None = None, generation: bool = False) -> Wan26Error: ...
    def upload_op(
        self, data: bytes, content_type: str, file_name: str, *, key: str, base_url: str, policy: RetryPolicy
    ) -> Generator[Any, Any, str]:
        """Upload a local file and return its URL: sans-IO steps (``yield from send_op(call, policy)``) that the
        client's driver runs under the client's own retry ``policy``."""
        ...


class ContractClientProtocol:
    """Everything the contract says about talking to the provider; subclass for the rest.

    Subclasses usually override :meth:`job_id_of`, :meth:`video_of`, :meth:`native_error_of` and
    :meth:`failure_of` (where a body keeps the job id, the video and the errors).
    """

    #: dotted path of the status word in a status body (default: the contract's ``statuses.field``)
    status_field: str | None = None

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.provider_id = contract.id
        self.provider = contract.data["provider"]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider_id}>"

    # --- where and who --------------------------------------------------------------------------
    def base_url(self, explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
        """Argument, then ``WAN26_<PROVIDER>_BASE_URL``, then the official client's own variable, then the contract."""
        env = os.environ if environ is None else environ
        if explicit:
            return explicit.rstrip("/")
        ours = env.get(f"WAN26_{self.provider.upper()}_BASE_URL")
        if ours:
            return ours.rstrip("/")
        for name, form in self.contract.transport.get("base_url_env", {}).items():
            value = env.get(name)
            if value:
                return _invert_form(form, value.rstrip("/"))
        return str(self.contract.transport["base_url"]).rstrip("/")

    def api_key(self, explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        if explicit:
            return explicit
        names = self.contract.transport["auth"]["env"]
        for name in names:
            if env.get(name):
                return str(env[name])
        raise AuthenticationError(
            f"no API key for {self.provider_id}: set {' or '.join(names)} or pass api_key=", provider=self.provider_id
        )

    def auth_headers(self, key: str) -> dict[str, str]:
        auth = self.contract.transport["auth"]
        scheme = auth.get("scheme")
        return {auth["header"]: f"{scheme} {key}" if scheme else key}

    def route_url(self, action: str, base_url: str, **params: str) -> str:
        route = self.contract.transport["routes"][action]
        path = route["path"]
        query = ""
        if "?" in path:
            path, _, query = path.partition("?")
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
            query = query.replace("{" + name + "}", value)
        return f"{base_url}{path}" + (f"?{query}" if query else "")

    def has_route(self, action: str) -> bool:
        return action in self.contract.transport["routes"]

    # --- submit ---------------------------------------------------------------------------------
    def submit_call(self, wire: WireRequest, *, key: str, base_url: str, webhook_url: str | None = None) -> HttpCall:
        url = self.route_url("submit", base_url)
        if webhook_url is not None:
            url = self.with_webhook(url, webhook_url)
        headers = {**wire.headers, **self.auth_headers(key), "Content-Type": "application/json", "Accept": "application/json"}
        return HttpCall(wire.method, url, headers, json=wire.body, idempotent=False)

    def with_webhook(self, url: str, webhook_url: str) -> str:
        mechanism = (self.contract.transport.get("webhook") or {}).get("mechanism", "")
        if not mechanism.startswith("query:"):
            raise UnsupportedOptionError(
                [Violation("webhook_url", "option.unsupported", f"{self.provider_id} documents no webhook delivery")],
                provider=self.provider_id,
            )
        sep = "&" if "?" in url else "?"
        return url + sep + urlencode({mechanism.partition(":")[2]: webhook_url})

    def parse_submitted(self, reply: HttpReply) -> JobRef:
        body = self._success_body(reply)
        job_id = self.job_id_of(body)
        if not isinstance(job_id, str) or not job_id:
            raise MalformedResponseError(
                f"{self.provider_id} accepted the job but its answer names no job id", http_status=reply.status
            )
        return JobRef(self.provider_id, job_id, self.urls_of(body))

    def job_id_of(self, body: Any) -> Any:
        return body.get("id") if isinstance(body, dict) else None

    def urls_of(self, body: Any) -> dict[str, str]:
        return {}

    # --- status ---------------------------------------------------------------------------------
    def status_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall:
        url = ref.urls.get("status") or self.route_url("status", base_url, **self._params(ref))
        return HttpCall("GET", url, {**self.auth_headers(key), "Accept": "application/json"})

    def parse_status(self, reply: HttpReply, ref: JobRef) -> JobStatus:
        return self.status_from_body(self._success_body(reply, job_id=ref.job_id), ref)

    def status_from_body(self, body: Any, ref: JobRef) -> JobStatus:
        field_path = self.status_field or self.contract.data["statuses"]["field"]
        native = get_path(body, field_path) if isinstance(body, dict) else None
        if not isinstance(native, str):
            raise MalformedResponseError(f"{self.provider_id} status answer has no {field_path!r} word")
        state: Any = self.contract.canonical_state(native)
        error = self.failure_of(body, ref) if state == "failed" else None
        video = self.video_of(body) if state == "succeeded" else None
        return JobStatus(
            state=state,
            native=native,
            queue_position=self.queue_position_of(body),
            progress=self.progress_of(body),
            logs=self.logs_of(body),
            error=error,
            video=video,
            raw=body,
        )

    def queue_position_of(self, body: Any) -> int | None:
        value = body.get("queue_position") if isinstance(body, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def progress_of(self, body: Any) -> float | None:
        value = body.get("progress") if isinstance(body, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) / 100 if value > 1 else float(value)
        return None

    def logs_of(self, body: Any) -> tuple[str, ...]:
        return ()

    def failure_of(self, body: Any, ref: JobRef) -> Wan26Error:
        """The error of a job whose status is failed (the catalogue decides its class)."""
        native = self.native_error_of(body, None) or NativeError(None, "failed", "the generation failed")
        return error_for(self.contract, native, job_id=ref.job_id, generation=True)

    # --- streaming (only providers with a status stream) ----------------------------------------
    def stream_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall | None:
        return None

    def parse_event(self, data: str, ref: JobRef) -> JobStatus:
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedResponseError(f"{self.provider_id} sent a status event that is not JSON: {data[:80]!r}") from None
        return self.status_from_body(body, ref)

    # --- result ---------------------------------------------------------------------------------
    def result_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall:
        url = ref.urls.get("result") or self.route_url("result", base_url, **self._params(ref))
        return HttpCall("GET", url, {**self.auth_headers(key), "Accept": "application/json"})

    def parse_result(self, reply: HttpReply, ref: JobRef) -> VideoResult:
        body = self._success_body(reply, job_id=ref.job_id)
        status = self.status_from_body(body, ref) if self._has_status(body) else None
        if status is not None and status.error is not None:
            raise status.error
        video = status.video if status is not None else self.video_of(body)
        if video is None:
            raise MalformedResponseError(f"{self.provider_id} result for job {ref.job_id} has no video URL")
        return video

    def video_of(self, body: Any) -> VideoResult | None:
        return None

    # --- cancel ---------------------------------------------------------------------------------
    def cancel_call(self, ref: JobRef, *, key: str, base_url: str) -> HttpCall | None:
        if not self.has_route("cancel"):
            return None
        route = self.contract.transport["routes"]["cancel"]
        url = ref.urls.get("cancel") or self.route_url("cancel", base_url, **self._params(ref))
        return HttpCall(route["method"], url, {**self.auth_headers(key), "Accept": "application/json"})

    def parse_cancel(self, reply: HttpReply, ref: JobRef) -> bool:
        """True when the provider accepted the cancel, False when the job was past cancelling."""
        if reply.ok:
            return True
        error = self.error_from(reply, job_id=ref.job_id)
        if error.native_code in self.too_late_codes() or reply.status == 409:
            return False
        raise error

    def too_late_codes(self) -> set[str]:
        return {e["code"] for e in self.contract.data["errors"] if e["kind"] == "conflict"}

    # --- uploads --------------------------------------------------------------------------------
    def upload_op(
        self, data: bytes, content_type: str, file_name: str, *, key: str, base_url: str, policy: RetryPolicy
    ) -> Generator[Any, Any, str]:
        """Upload a local file and return its URL (a generator of runtime effects); by default: not possible."""
        raise ValidationError(
            [
                Violation(
                    "references",
                    "source.local_file",
                    f"{file_name!r} is a local file and {self.provider_id} documents no upload: put it where the provider"
                    " can download it (your storage bucket, a CDN) and pass its https URL",
                    value=file_name,
                )
            ],
            provider=self.provider_id,
        )

    # --- errors ---------------------------------------------------------------------------------
    def error_from(self, reply: HttpReply, *, job_id: str | None = None, generation: bool = False) -> Wan26Error:
        """The wan26 exception for an error answer, keeping the provider's code and message.

        ``generation``: the answer is about an accepted job's outcome, so a refusal means the job failed.
        """
        try:
            body = json.loads(reply.body) if reply.body else None
        except (ValueError, RecursionError):
            body = None
        native = self.native_error_of(body, reply.status) if body is not None else None
        if native is None:
            text = reply.body[:200].decode("utf-8", "replace").strip() or f"HTTP {reply.status}"
            native = NativeError(reply.status, str(reply.status), text)
        return error_for(self.contract, native, job_id=job_id, retry_after=reply.retry_after, generation=generation)

    def native_error_of(self, body: Any, http_status: int | None) -> NativeError | None:
        """The provider's code and message in an error body (override per provider)."""
        if not isinstance(body, dict):
            return None
        inner = body.get("error")
        error: dict[str, Any] = inner if isinstance(inner, dict) else body
        code = error.get("code")
        message = error.get("message")
        if code is None and message is None:
            return None
        return NativeError(http_status, str(code if code is not None else http_status), str(message or ""))

    # --- helpers --------------------------------------------------------------------------------
    def _params(self, ref: JobRef) -> dict[str, str]:
        names = {"request_id", "task_id", "generation_id", "id", "job_id"}
        return {name: ref.job_id for name in names}

    def _has_status(self, body: Any) -> bool:
        field_path = self.status_field or self.contract.data["statuses"]["field"]
        return isinstance(body, dict) and isinstance(get_path(body, field_path), str)

    def _success_body(self, reply: HttpReply, *, job_id: str | None = None) -> Any:
        """The JSON body of a successful answer, or raise the error it carries."""
        if not reply.ok:
            raise self.error_from(reply, job_id=job_id)
        body = reply.json()
        envelope = self.error_in_success(body)
        if envelope is not None:
            raise error_for(self.contract, envelope, job_id=job_id)
        return body

    def error_in_success(self, body: Any) -> NativeError | None:
        """An error a provider reports inside an HTTP 200 body (Vtrix does); None when there is none."""
        return None


def _invert_form(form: str, value: str) -> str:
    """The base URL a client variable of ``form`` encodes: ``{host}`` -> ``https://host``, ``{base_url}/v1`` -> strip."""
    if form == "{host}":
        return value if "://" in value else f"https://{value}"
    if form.startswith("{base_url}"):
        suffix = form[len("{base_url}") :]
        return value[: -len(suffix)] if suffix and value.endswith(suffix) else value
    return value


# --- exception classes from the catalogue ----------------------------------------------------------
