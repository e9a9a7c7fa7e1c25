"""Named references: from the user's ``@alice`` to the provider's ``Character2``, and back.

The user names each reference and writes ``@name`` in the prompt. Native tokens are accepted as well and
count in the *user's* order: ``character2`` is the user's second reference, ``@Video1`` the user's first
video, ``@Image1`` the first image. Rendering renumbers everything by the endpoint's ordering rule
(fal flash numbers videos before images; Vtrix and DashScope keep the order given) and writes the
endpoint's token syntax. ``@@`` is a literal ``@``; so is an ``@`` glued to a word (``bob@example.com``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wan26core._contract import Contract
from wan26core._errors import Violation
from wan26core._rules.request import NAME_PATTERN, RESERVED_NAME, GenerationRequest, Reference

__all__ = ["Binding", "Token", "bind_references", "parse_prompt", "read_back", "token_pattern"]

_WORD = r"(?<![A-Za-z0-9_])"
_TOKENS = re.compile(
    r"(?P<escape>@@)"
    rf"|{_WORD}@(?P<native_kind>(?i:video|image|character))(?P<native_n>[0-9]+)(?![A-Za-z0-9_])"
    rf"|{_WORD}@(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    rf"|{_WORD}(?i:character)(?P<bare_n>[0-9]+)(?![0-9])"
)


@dataclass(frozen=True)
class Token:
    """A reference token found in the user's prompt."""

    start: int
    end: int
    text: str
    kind: str  # "name", "character", "video", "image"
    value: str | int  # the name, or the 1-based number in the user's order


def parse_prompt(prompt: str, *, bare_tokens: bool = True) -> list[str | Token]:
    """Split a prompt into literal text and reference tokens (``@@`` already turned into ``@``)."""
    out: list[str | Token] = []
    text: list[str] = []
    pos = 0
    for match in _TOKENS.finditer(prompt):
        if match.group("bare_n") is not None and not bare_tokens:
            continue
        text.append(prompt[pos : match.start()])
        pos = match.end()
        if match.group("escape"):
            text.append("@")
            continue
        if text:
            out.append("".join(text))
            text = []
        if match.group("name") is not None:
            token = Token(match.start(), match.end(), match.group(0), "name", match.group("name"))
        elif match.group("native_kind") is not None:
            kind = match.group("native_kind").lower()
            token = Token(match.start(), match.end(), match.group(0), kind, int(match.group("native_n")))
        else:
            token = Token(match.start(), match.end(), match.group(0), "character", int(match.group("bare_n")))
        out.append(token)
    text.append(prompt[pos:])
    if any(text):
        out.append("".join(text))
    return [part for part in out if part != ""]


def token_pattern(template: str) -> re.Pattern[str]:
    """A regex that finds a provider token such as ``Character{n}`` or ``@Video{n}``; group 1 is n."""
    before, _, after = template.partition("{n}")
    return re.compile(rf"{_WORD}{re.escape(before)}([0-9]+){re.escape(after)}(?![0-9])", re.IGNORECASE)


@dataclass
class Binding:
    """The result of binding a request's references for one endpoint."""

    prompt: str  # the rendered prompt, in the endpoint's token syntax
    wire: dict[str, list[str]] = field(default_factory=dict)  # wire path -> sources in wire order
    numbered: list[Reference] = field(default_factory=list)  # the references in the endpoint's numbering
    violations: list[Violation] = field(default_factory=list)


def bind_references(request: GenerationRequest, contract: Contract) -> Binding:
    """Resolve every token of the prompt to a reference and renumber them for the endpoint."""
    spec = contract.references
    violations: list[Violation] = []

    def violation(path: str, rule: str, message: str, value: Any = None, limit: Any = None) -> None:
        violations.append(
            Violation(
                path,
                rule,
                message,
                limit=limit,
                value=value,
                native=contract.native_error(rule, field=path, limit=limit, value=value),
            )
        )

    refs = list(request.references)
    by_name: dict[str, int] = {}
    for i, ref in enumerate(refs):
        path = f"references[{i}].name"
        if not NAME_PATTERN.match(ref.name):
            violation(path, "references.name", "a reference name is letters, digits and _ , not starting with a digit", ref.name)
        elif RESERVED_NAME.match(ref.name):
            violation(path, "references.name", f"{ref.name!r} reads as a native token; choose another name", ref.name)
        elif ref.name in by_name:
            violation(path, "references.name", f"the name {ref.name!r} is used twice", ref.name)
        else:
            by_name[ref.name] = i
        if ref.resolved_kind is None:
            violation(
                f"references[{i}].kind",
                "references.kind",
                "cannot tell whether this reference is a video or an image; set kind",
                ref.source[:80],
            )

    videos = [i for i, r in enumerate(refs) if r.resolved_kind == "video"]
    images = [i for i, r in enumerate(refs) if r.resolved_kind == "image"]
    if spec is None:
        order: list[int] = []
    elif spec["ordering"] == "videos_first":
        order = videos + images
    else:
        order = [i for i, r in enumerate(refs) if r.resolved_kind is not None]
    wire_kinds = spec["wire"] if spec else {}
    # references of a kind the endpoint has no wire field for are reported by the count rules, not bound
    order = [i for i in order if "mixed" in wire_kinds or refs[i].resolved_kind in wire_kinds]
    number_of = {user_index: n for n, user_index in enumerate(order, start=1)}
    template = spec["token"] if spec else None

    used: set[int] = set()
    rendered: list[str] = []
    for part in parse_prompt(request.prompt, bare_tokens=spec is not None):
        if isinstance(part, str):
            rendered.append(part)
            continue
        target = _resolve(part, refs, by_name, videos, images)
        if target is None:
            what = f"@{part.value}" if part.kind == "name" else part.text
            hint = (
                "this endpoint takes no references" if spec is None else f"known: {', '.join('@' + n for n in by_name) or 'none'}"
            )
            violation("prompt", "references.unknown", f"{what} names no reference ({hint}; write @@ for a literal @)", part.text)
            rendered.append(part.text)
            continue
        used.add(target)
        if template is None or target not in number_of:
            rendered.append(part.text)  # the count/kind violation explains why it cannot be bound
        else:
            rendered.append(template.replace("{n}", str(number_of[target])))
    for i, ref in enumerate(refs):
        if i not in used and spec is not None:
            violation(f"references[{i}]", "references.unused", f"reference @{ref.name} is never named in the prompt", ref.name)

    prompt = "".join(rendered)
    if spec is not None:
        expected = sum(1 for part in parse_prompt(request.prompt) if isinstance(part, Token))
        found = sum(len(token_pattern(t).findall(prompt)) for t in _distinct_tokens(spec))
        if found > expected:
            violation(
                "prompt",
                "prompt.literal_token",
                "the prompt's own text would read as a reference token on this endpoint; rephrase it",
                prompt[:80],
            )
    wire: dict[str, list[str]] = {}
    if spec is not None:
        for path in wire_kinds.values():
            wire.setdefault(path, [])
        for user_index in order:
            kind = refs[user_index].resolved_kind
            path = wire_kinds["mixed"] if "mixed" in wire_kinds else wire_kinds[str(kind)]
            wire[path].append(refs[user_index].source)
    return Binding(prompt=prompt, wire=wire, numbered=[refs[i] for i in order], violations=violations)


def _distinct_tokens(spec: dict[str, Any]) -> list[str]:
    """Accepted token templates, dropping ones another already matches case-insensitively."""
    seen: dict[str, str] = {}
    for template in [spec["token"], *spec["accepted_tokens"]]:
        seen.setdefault(template.lower(), template)
    return list(seen.values())


def _resolve(token: Token, refs: list[Reference], by_name: dict[str, int], videos: list[int], images: list[int]) -> int | None:
    if token.kind == "name":
        return by_name.get(str(token.value))
    n = int(token.value)
    pool = {"character": list(range(len(refs))), "video": videos, "image": images}[token.kind]
    return pool[n - 1] if 1 <= n <= len(pool) else None


def read_back(body: dict[str, Any], contract: Contract) -> list[str]:
    """The sources the rendered prompt names, in the order it names them, read from a wire body alone."""
    spec = contract.references
    prompt = get_path(body, contract.wire_fields["prompt"])
    if spec is None or not isinstance(prompt, str):
        return []
    wire = spec["wire"]
    if "mixed" in wire:
        numbered = list(get_path(body, wire["mixed"]) or [])
    else:
        # one list per kind: videos are numbered first (the contract schema check insists on it)
        numbered = [*(get_path(body, wire.get("video", "")) or []), *(get_path(body, wire.get("image", "")) or [])]
    pattern = token_pattern(spec["token"])
    return [numbered[int(m.group(1)) - 1] for m in pattern.finditer(prompt)]


def get_path(body: Any, path: str) -> Any:
    """Read a dotted wire path; None when any part is missing."""
    node = body
    for part in path.split(".") if path else []:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    """Write a dotted wire path, creating the objects on the way."""
    parts = path.split(".")
    node = body
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
