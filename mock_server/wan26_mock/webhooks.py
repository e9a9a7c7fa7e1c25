"""Webhooks: signed POSTs to the URL a job was submitted with, retried with backoff, visible in the admin API.

Signing is the provider's: each webhook dialect gives the engine a signer
(:class:`wan26core._dialect.WebhookSigner`, from ``webhook_signer()``), whose public keys the engine serves at the
path of the contract's ``transport.webhook.jwks_url``. Each engine signs with its own keys, made at start.

Delivery: one background task per event loop, started lazily by the engine, sleeps until the next
delivery is due on the virtual clock (or a clock jump, a new webhook or a cancellation wakes it).
A delivery fails on a connection error or a non-2xx answer and is retried on fal's documented
policy ("10 times in the span of 2 hours"), doubling delays that add up to the window.

Bounds: a delivery exists only for a job the store keeps (an evicted job's delivery is forgotten), makes at most
:data:`MAX_RETRIES` retries, sends a payload of at most :data:`MAX_PAYLOAD_BYTES`, spends at most
:data:`ATTEMPT_TIMEOUT_S` per attempt (connect, send, the answer's headers; the answer's body is never read), and at
most :data:`MAX_SENDING` attempts run at once. Never to the mock itself: :func:`refusal` turns down a target on the
mock's own address or under its admin prefix (the delivery is recorded as failed, nothing is sent), and each
webhook carries :data:`USER_AGENT`, which the engine refuses to serve, for the addresses no static check can see
(a DNS name or another interface of the same host).
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import json
import socket
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import httpx

from wan26core import Contract
from wan26core._dialect import MockRequest, WebhookSigner

from .journal import redact_query
from .wakeups import Notifier, WatchedClock

__all__ = ["USER_AGENT", "Delivery", "WebhookDispatcher", "host_port", "refusal", "retry_delays", "webhook_url_of"]

TOPIC = "webhooks"
State = Literal["waiting", "due", "sending", "delivered", "failed"]
USER_AGENT = "wan26-mock-webhooks"
MAX_RETRIES = 10
MAX_PAYLOAD_BYTES = 1024 * 1024
ATTEMPT_TIMEOUT_S = 10.0
MAX_SENDING = 32
MAX_URL = 2048
_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback"}


def refusal(url: str, admin_prefix: str, own: Collection[tuple[str, int]]) -> str | None:
    """Why the mock will not deliver to ``url`` (None: it will): a target under ``admin_prefix`` on any host, or on
    one of the mock's own addresses ``own`` ((host, port) pairs: where it listens, the Host it was reached by). A
    loopback or wildcard host counts as any host of the mock's ports."""
    if len(url) > MAX_URL:
        return f"the webhook URL is over {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the webhook URL is not a valid URL"
    if parts.path.startswith(admin_prefix):
        return f"the webhook URL is under the mock's admin prefix {admin_prefix}"
    host = (parts.hostname or "").lower()
    ports = {p for _, p in own}
    if port in ports and (_local(host) or any(host == h.lower().strip("[]") for h, p in own if p == port)):
        return f"the webhook URL is the mock's own address ({host}:{port})"
    return None


def _local(host: str) -> bool:
    """A name or address of this host: localhost, loopback, the wildcard, in any spelling (``127.1``, ``0x7f.1``)."""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the legacy IPv4 spellings getaddrinfo accepts
            address = ipaddress.ip_address(socket.inet_aton(host))
        except (OSError, ValueError):
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def retry_delays(retries: int, window_s: float) -> list[float]:
    """``retries`` delays, each twice the one before, adding up to ``window_s``."""
    if retries <= 0:
        return []
    base = window_s / (2**retries - 1)
    return [base * 2**i for i in range(retries)]


@dataclass
class Attempt:
    number: int
    time: float  # virtual
    sent_at: float  # wall clock, as in the timestamp header
    status: int | None
    error: str | None


@dataclass
class Delivery:
    request_id: str
    provider: str
    url: str
    delays: list[float]  # before each retry (virtual seconds)
    state: State = "waiting"
    due_at: float | None = None  # virtual time of the next attempt, once the job has ended
    attempts: list[Attempt] = field(default_factory=list)
    body: bytes | None = None

    def view(self) -> dict[str, Any]:
        payload: Any = None
        if self.body is not None:
            payload = json.loads(self.body)
        return {
            "request_id": self.request_id,
            "provider": self.provider,
            "url": _redacted(self.url),
            "state": self.state,
            "next_attempt_at": self.due_at if self.state == "due" else None,
            "attempts": [vars(a) for a in self.attempts],
            "payload": payload,
        }


class WebhookDispatcher:
    """Delivers webhooks when their jobs end, from one background task started by :meth:`ensure_running`."""

    def __init__(
        self,
        *,
        clock: WatchedClock,
        notifier: Notifier,
        signer_for: Callable[[str], WebhookSigner],
        user_id: str,
        ends_at: Callable[[str], float | None],
        build: Callable[[str], Awaitable[bytes]],
        timeout_s: float = 15.0,
    ) -> None:
        self.clock = clock
        self.notifier = notifier
        self._signer_for = signer_for  # provider id -> the signer of its provider
        self.user_id = user_id
        self._ends_at = ends_at  # request id -> when its job ends (virtual), None while it may not
        self._build = build  # request id -> the payload bytes
        self.timeout_s = timeout_s
        self.deliveries: dict[str, Delivery] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None  # MAX_SENDING attempts at once, in the dispatcher's loop

    # --- bookkeeping ------------------------------------------------------------------------------
    def add(self, request_id: str, provider: str, url: str, delays: list[float], refused: str | None = None) -> Delivery:
        """Deliver to ``url`` once the job ends, retrying after each of ``delays`` (virtual seconds, at most
        :data:`MAX_RETRIES`); with ``refused`` (why), record the delivery as failed and never send it."""
        delivery = self.deliveries[request_id] = Delivery(request_id, provider, url, delays[:MAX_RETRIES])
        if refused is not None:
            delivery.attempts.append(Attempt(1, self.clock.now(), time.time(), None, f"refused: {refused}"))
            delivery.state = "failed"
            return delivery
        self._schedule_end(delivery)
        self.notifier.notify(TOPIC)
        return delivery

    def forget(self, request_ids: Collection[str]) -> None:
        """Drop the deliveries of jobs that are gone (evicted); stale heap entries are skipped when due."""
        for request_id in request_ids:
            self.deliveries.pop(request_id, None)

    def job_changed(self, request_id: str) -> None:
        """A job's end moved (it was cancelled): reschedule its delivery."""
        delivery = self.deliveries.get(request_id)
        if delivery is not None and delivery.state == "waiting":
            self._schedule_end(delivery)
            self.notifier.notify(TOPIC)

    def views(self, request_id: str | None = None) -> list[dict[str, Any]]:
        return [d.view() for d in self.deliveries.values() if request_id in (None, d.request_id)]

    def pending(self) -> int:
        return sum(d.state not in ("delivered", "failed") for d in self.deliveries.values())

    def clear(self) -> None:
        self.deliveries.clear()
        self._heap.clear()

    def _schedule_end(self, delivery: Delivery) -> None:
        end = self._ends_at(delivery.request_id)
        if end is not None:
            heapq.heappush(self._heap, (end, next(self._seq), delivery.request_id))

    # --- the background task ----------------------------------------------------------------------
    def ensure_running(self) -> None:
        """Start the dispatcher in the running loop unless one is alive (its previous loop may have ended)."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and (task.get_loop() is loop or task.get_loop().is_running()):
            return
        for delivery in self.deliveries.values():  # attempts that died with an old loop start again
            if delivery.state == "sending":
                delivery.state = "due"
                delivery.due_at = self.clock.now()
                heapq.heappush(self._heap, (delivery.due_at, next(self._seq), delivery.request_id))
        self._slots = None  # made again in the new loop
        self._task = loop.create_task(self._run(), name="wan26-mock-webhooks")

    async def _run(self) -> None:
        while True:
            since = self.notifier.generation
            now = self.clock.now()
            while self._heap and self._heap[0][0] <= now:
                _, _, request_id = heapq.heappop(self._heap)
                self._start_if_due(request_id, now)
            wake = self._heap[0][0] if self._heap else None
            await self.notifier.wait(TOPIC, self.clock.real_until(wake), since)

    def _start_if_due(self, request_id: str, now: float) -> None:
        delivery = self.deliveries.get(request_id)
        if delivery is None or delivery.state in ("sending", "delivered", "failed"):
            return  # a stale heap entry
        if delivery.state == "waiting":
            end = self._ends_at(request_id)
            if end is None or end > now:  # the entry was for an end that moved
                return
        elif delivery.due_at is None or delivery.due_at > now:
            return
        delivery.state = "sending"
        task = asyncio.get_running_loop().create_task(self._attempt(delivery))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _attempt(self, delivery: Delivery) -> None:
        number = len(delivery.attempts) + 1
        status: int | None = None
        error: str | None = None
        try:
            if delivery.body is None:  # built once (the output video may be made now): every retry sends the same bytes
                body = await self._build(delivery.request_id)
                if len(body) > MAX_PAYLOAD_BYTES:
                    raise ValueError(f"the payload is {len(body)} bytes, over {MAX_PAYLOAD_BYTES}")
                delivery.body = body
        except Exception as exc:  # the job vanished (a reset) or its output could not be made
            delivery.attempts.append(Attempt(number, self.clock.now(), time.time(), None, f"no payload: {exc!r}"))
            delivery.state, delivery.due_at = "failed", None
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_SENDING)
        sent_at = time.time()
        timeout = min(self.timeout_s, ATTEMPT_TIMEOUT_S)
        try:
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                **self._signer_for(delivery.provider).sign(delivery.request_id, self.user_id, int(sent_at), delivery.body),
            }
            async with self._slots:
                with anyio.fail_after(timeout):  # all of it: a receiver that drips its answer is cut off too
                    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
                        request = client.build_request("POST", delivery.url, content=delivery.body, headers=headers)
                        response = await client.send(request, stream=True)  # its body is never read
                        await response.aclose()
            status = response.status_code
            if not 200 <= status < 300:
                error = f"the receiver answered HTTP {status}"
        except TimeoutError:
            error = f"no answer within {timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        now = self.clock.now()
        delivery.attempts.append(Attempt(number, now, sent_at, status, error))
        if error is None:
            delivery.state, delivery.due_at = "delivered", None
        elif number <= len(delivery.delays):
            delivery.state, delivery.due_at = "due", now + delivery.delays[number - 1]
            heapq.heappush(self._heap, (delivery.due_at, next(self._seq), delivery.request_id))
        else:
            delivery.state, delivery.due_at = "failed", None
        self.notifier.notify(TOPIC)


def _redacted(url: str) -> str:
    """The URL with secret-looking query values hidden (a receiver may carry a token in its URL)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query: Mapping[str, str] = redact_query(dict(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]")))


def webhook_url_of(request: MockRequest, contract: Contract) -> str | None:
    """The webhook URL a submit names, by the contract's mechanism (``query:<parameter>``)."""
    mechanism = str(contract.transport.get("webhook", {}).get("mechanism", ""))
    kind, _, name = mechanism.partition(":")
    url = request.query.get(name) if kind == "query" and name else None
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def host_port(base_url: str) -> tuple[str, int]:
    """(host, port) of ``scheme://host[:port]``, the port by the scheme when not given."""
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "", port or (443 if parts.scheme == "https" else 80))
