"""One redaction for the whole project: what counts as a secret, how it is hidden, and the mask.

Every writer — the job journal, recordings, ``contracts record`` captures, error messages, reprs, the mock's
request journal — goes through these functions, so a signed-URL form is hidden everywhere or nowhere
(``tests/client/test_redaction.py`` feeds each known form through each writer).

- :data:`MASK` replaces a secret value: ``?token=REDACTED``, ``Authorization: Key REDACTED``, ``https://REDACTED@host``.
- :func:`secret_name` is the vocabulary: API keys, tokens, signatures (``sig``, ``signature``, ``X-Goog-Signature``,
  ``X-Amz-Signature``), credentials (``X-Goog-Credential``, ``OSSAccessKeyId``, ``Key-Pair-Id``), signed-URL
  parameters (``Expires``, ``Policy``, ``X-Amz-Security-Token`` …), passwords and cookies.
- :func:`redact_url` hides a URL's userinfo and secret query values (also inside a URL given as a parameter,
  such as fal's ``?fal_webhook=``); :func:`redact_text` does that for every URL in free text, percent-encoded
  ones included; :func:`redact` walks JSON-like data (secret-named keys, then every string);
  :func:`redact_headers` hides credential headers but keeps the scheme word (``Key REDACTED``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

__all__ = ["MASK", "add_secret_names", "redact", "redact_headers", "redact_text", "redact_url", "secret_name"]

MASK = "REDACTED"

#: names (lower case, letters and digits only) that always carry a secret
_EXACT = frozenset(
    {
        "key",
        "apikey",
        "auth",
        "authorization",
        "token",
        "sig",
        "signature",
        "secret",
        "password",
        "passwd",
        "pwd",
        "cookie",
        "credential",
        "credentials",
        "expires",
        "policy",
        "keypairid",
        "ossaccesskeyid",
        "accesskeyid",
        "googleaccessid",
        "securitytoken",
        "sessiontoken",
    }
)
#: name endings that carry a secret (``access_token``, ``client_secret``, ``x_api_key`` …)
_SUFFIXES = (
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "authkey",
    "token",
    "secret",
    "password",
    "signature",
    "credential",
    "credentials",
)
#: cloud signed-URL parameter families: every ``X-Amz-*``, ``X-Goog-*``, ``X-Oss-*`` parameter
_PREFIXES = ("xamz", "xgoog", "xoss")
#: header names holding a credential when they contain any of these
_HEADER_WORDS = ("key", "token", "secret", "password", "cookie", "signature", "credential", "authorization")
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s\"'<>`]+")
_ENCODED_URL = re.compile(r"(?i)\bhttps?%3A%2F%2F[^\s\"'<>`&]+")
_URL_PARTS = re.compile(r"(?is)^([a-z][a-z0-9+.-]*)://([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?\Z")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


#: names the loaded contracts declare as credentials (their ``transport.auth`` header and key variables, such as a
#: provider's ``*_KEY`` that its client also takes as a parameter), normalized as in :data:`_EXACT`
_DECLARED: frozenset[str] = frozenset()


def add_secret_names(names: Iterable[str]) -> None:
    """Count ``names`` as secrets from now on (each contract adds its auth header and key variables when loaded)."""
    global _DECLARED
    new = {_NON_ALNUM.sub("", name.lower()) for name in names} - _DECLARED - {""}
    if new:
        _DECLARED = _DECLARED | new
        secret_name.cache_clear()
        _secret_header.cache_clear()


@lru_cache(maxsize=4096)
def secret_name(name: str) -> bool:
    """Whether a query parameter, body field or header named ``name`` carries a secret."""
    norm = _NON_ALNUM.sub("", name.lower())
    return norm in _EXACT or norm in _DECLARED or norm.endswith(_SUFFIXES) or norm.startswith(_PREFIXES)


@lru_cache(maxsize=1024)
def _secret_header(lower: str) -> bool:
    return any(word in lower for word in _HEADER_WORDS) or secret_name(lower)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and every secret query value replaced by :data:`MASK`; other URLs unchanged."""
    match = _URL_PARTS.match(url)
    if match is None:
        return url
    scheme, authority, path, query, fragment = match.groups(default="")
    if "@" in authority:  # user:password@host or token@host
        authority = MASK + "@" + authority.rsplit("@", 1)[1]
    if query:
        query = "?" + "&".join(_redact_param(item) for item in query[1:].split("&"))
    if fragment and "=" in fragment:  # implicit-flow tokens travel in the fragment: #access_token=...
        fragment = "#" + "&".join(_redact_param(item) for item in fragment[1:].split("&"))
    return f"{scheme}://{authority}{path}{query}{fragment}"


def redact_dsn(url: str) -> str:
    """A database URL with everything between ``://`` and its last ``@`` masked, and secret query values too.

    Stricter than :func:`redact_url`, for URLs a user types with a password in them: an unescaped ``#``, ``/``, ``?``
    or ``@`` in the password would end :func:`redact_url`'s userinfo early and show the rest."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if "@" in rest:
        rest = MASK + "@" + rest.rsplit("@", 1)[1]
    return redact_url(f"{scheme}://{rest}")


def dsn_secrets(url: str) -> list[str]:
    """The texts of ``url`` a message must not repeat: its password as typed, its pieces (a driver may split it at
    ``@``, ``#``, ``/`` or ``?``) and its decoded form, and ``password=`` query values. Longest first."""
    _, sep, rest = url.partition("://")
    found: set[str] = set()
    if sep and "@" in rest:
        userinfo = rest.rsplit("@", 1)[0]
        secret = userinfo.partition(":")[2] if ":" in userinfo else userinfo
        found |= {secret, unquote_plus(secret), *re.split(r"[@#/?]", secret)}
    for name, value in re.findall(r"(?i)[?&]([^=&#]+)=([^&#]*)", url):
        if secret_name(unquote_plus(name)):
            found |= {value, unquote_plus(value)}
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` replaced by :data:`MASK`."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _redact_param(item: str) -> str:
    name, eq, value = item.partition("=")
    if not eq:
        return item
    if secret_name(unquote_plus(name)):
        return f"{name}={MASK}" if value else item
    inner = unquote_plus(value)
    if "://" in inner:  # a URL inside a URL (fal's ?fal_webhook=...)
        cleaned = redact_url(inner)
        return item if cleaned == inner else f"{name}={quote(cleaned, safe='')}"
    return item


def redact_text(text: str) -> str:
    """``text`` with every URL in it (plain or percent-encoded) passed through :func:`redact_url`."""
    if "://" in text:
        text = _URL.sub(lambda m: _redact_in_text(m.group(0)), text)
    if "%" in text and _ENCODED_URL.search(text):
        text = _ENCODED_URL.sub(_redact_encoded, text)
    return text


def _redact_in_text(url: str) -> str:
    trail = ""
    while url and url[-1] in ".,;:)]}":  # sentence punctuation after a URL is not part of it
        trail = url[-1] + trail
        url = url[:-1]
    return redact_url(url) + trail


def _redact_encoded(match: re.Match[str]) -> str:
    inner = unquote(match.group(0))
    cleaned = redact_url(inner)
    return match.group(0) if cleaned == inner else quote(cleaned, safe="")


def redact(value: Any) -> Any:
    """A copy of JSON-like ``value``: values under secret-named keys become :data:`MASK`, strings go through
    :func:`redact_text`; tuples become lists."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): MASK if v is not None and v != "" and secret_name(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Credential headers hidden (``Authorization`` keeps its scheme word: ``Key REDACTED``); URLs in others redacted."""
    clean: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in ("authorization", "proxy-authorization"):
            word, sep, rest = value.partition(" ")
            clean[name] = f"{word} {MASK}" if sep and rest else MASK
        elif _secret_header(lower):
            clean[name] = MASK
        else:
            clean[name] = redact_text(value) if "://" in value or "%" in value else value
    return clean
