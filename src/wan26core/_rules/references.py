"""Named references: from the user's ``@alice`` to the provider's ``Character2``, and back.

The user names each reference and writes ``@name`` in the prompt. Native tokens are accepted as well and
count in the *user's* order: ``character2`` is the user's second reference, ``@Video1`` the user's first
video, ``@Image1`` the first image (and, on endpoints that number per kind, ``Image 2`` / ``Video 1``).
Rendering renumbers everything by the endpoint's rule and writes its token syntax: one numbering over all
references (Wan 2.6: fal flash numbers videos before images, Vtrix and DashScope keep the order given), or one
numbering per kind when the contract's ``token`` is an object (Wan 2.7: ``Image 1``, ``Image 2``, ``Video 1`` in
the order given). ``@@`` is a literal ``@``; so is an ``@`` glued to a word (``bob@example.com``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wan26core._contract import Contract
from wan26core._errors import Violation
from wan26core._rules.request import NAME_PATTERN, RESERVED_NAME, GenerationRequest, Reference

__all__ = [
    "Binding",
    "Token",
    "bind_references",
    "one_list_path",
    "parse_prompt",
    "per_kind",
    "read_back",
    "token_pattern",
    "wire_lists",
]

_WORD = r"(?<![A-Za-z0-9_])"
_TOKENS = re.compile(
    r"(?P<escape>@@)"
    rf"|{_WORD}@(?P<native_kind>(?i:video|image|character))(?P<native_n>[0-9]+)(?![A-Za-z0-9_])"
    rf"|{_WORD}@(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    rf"|{_WORD}(?P<bare_kind>Video|Image) ?(?P<bare_kind_n>[0-9]+)(?![A-Za-z0-9_]|\.[0-9])"
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


def parse_prompt(prompt: str, *, bare_tokens: bool = True, kind_words: bool = False) -> list[str | Token]:
    """Split a prompt into literal text and reference tokens (``@@`` already turned into ``@``).

    ``bare_tokens``: ``character2`` is a token; ``kind_words``: so are ``Image 2`` and ``Video 1`` (the native
    tokens of endpoints that number per kind)."""
    out: list[str | Token] = []
    text: list[str] = []
    pos = 0
    for match in _TOKENS.finditer(prompt):
        if (match.group("bare_n") is not None and not bare_tokens) or (match.group("bare_kind") is not None and not kind_words):
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
        elif match.group("bare_kind") is not None:
            kind = match.group("bare_kind").lower()
            token = Token(match.start(), match.end(), match.group(0), kind, int(match.group("bare_kind_n")))
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
    one_list = one_list_path(spec)
    # references of a kind the endpoint has no wire field for are reported by the count rules, not bound
    order = [i for i in order if one_list or refs[i].resolved_kind in wire_kinds]
    if spec is not None and per_kind(spec):  # Image 1, Image 2, Video 1: each kind counted on its own
        seen: Counter[str | None] = Counter()
        number_of = {}
        for i in order:  # one pass: a body of 10,000 references is refused by its count, not after a quadratic wait
            seen[refs[i].resolved_kind] += 1
            number_of[i] = seen[refs[i].resolved_kind]
    else:
        number_of = {user_index: n for n, user_index in enumerate(order, start=1)}

    def token_for(index: int) -> str | None:
        if spec is None or index not in number_of:
            return None
        token = spec["token"]
        template = token if isinstance(token, str) else token.get(str(refs[index].resolved_kind))
        return None if template is None else str(template).replace("{n}", str(number_of[index]))

    used: set[int] = set()
    rendered: list[str] = []
    for part in parse_prompt(request.prompt, bare_tokens=spec is not None, kind_words=spec is not None and per_kind(spec)):
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
        # without a token the count/kind violation explains why it cannot be bound
        rendered.append(token_for(target) or part.text)
    for i, ref in enumerate(refs):
        if i not in used and spec is not None:
            text = f"reference @{ref.name} is never named in the prompt"
            if spec is not None and not per_kind(spec) and _KIND_WORDS.search(request.prompt):
                text += f" ('Image 1'/'Video 1' is Wan 2.7's spelling; {contract.id} reads @{ref.name} or {spec['token']})"
            violation(f"references[{i}]", "references.unused", text, ref.name)

    prompt = "".join(rendered)
    if spec is not None:
        parts = parse_prompt(request.prompt, kind_words=per_kind(spec))
        expected = sum(1 for part in parts if isinstance(part, Token))
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
            wire[one_list or wire_kinds[str(kind)]].append(refs[user_index].source)
    return Binding(prompt=prompt, wire=wire, numbered=[refs[i] for i in order], violations=violations)


#: Wan 2.7's per-kind spelling, for a hint where an endpoint numbers references another way
_KIND_WORDS = re.compile(r"(?<![A-Za-z0-9_@])(Image|Video) ?[0-9]+(?![A-Za-z0-9_])")


def per_kind(spec: dict[str, Any]) -> bool:
    """Whether the endpoint numbers each kind on its own (its ``token`` names a template per kind)."""
    return isinstance(spec["token"], dict)


def one_list_path(spec: dict[str, Any] | None) -> str | None:
    """The wire path of the one list that holds every reference (``mixed`` URLs, or a ``media`` array of items)."""
    wire = spec["wire"] if spec else {}
    path = wire.get("mixed") or wire.get("media")
    return str(path) if path else None


def _distinct_tokens(spec: dict[str, Any]) -> list[str]:
    """Accepted token templates, dropping ones another already matches case-insensitively."""
    token = spec["token"]
    seen: dict[str, str] = {}
    for template in [*([token] if isinstance(token, str) else token.values()), *spec["accepted_tokens"]]:
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
    lists = wire_lists(body, contract)
    if not per_kind(spec):
        # one numbering: one list, or one list per kind with videos numbered first (the contract check insists on it)
        numbered = lists.get("mixed") or [*lists.get("video", []), *lists.get("image", [])]
        return [numbered[int(m.group(1)) - 1] for m in token_pattern(spec["token"]).finditer(prompt)]
    found = [
        (m.start(), lists.get(kind, []), int(m.group(1)))
        for kind, template in spec["token"].items()
        for m in token_pattern(template).finditer(prompt)
    ]
    return [numbered[n - 1] for _, numbered, n in sorted(found, key=lambda f: f[0])]


def wire_lists(body: Any, contract: Contract) -> dict[str, list[str]]:
    """A wire body's reference sources in wire order: ``{"mixed": [...]}`` for one plain list, else by kind
    (``"video"``, ``"image"``), also when the references are items of a ``media`` array."""
    spec = contract.references or {"wire": {}}
    wire = spec["wire"]
    if "mixed" in wire:
        return {"mixed": list(get_path(body, wire["mixed"]) or [])}
    if "media" in wire:
        kind_of = {v: k for k, v in contract.media["types"].items() if k in ("video", "image")}
        lists: dict[str, list[str]] = {"video": [], "image": []}
        for item in get_path(body, wire["media"]) or []:
            if isinstance(item, dict) and item.get("type") in kind_of:
                lists[kind_of[item["type"]]].append(str(item.get("url")))
        return lists
    return {kind: list(get_path(body, path) or []) for kind, path in wire.items()}


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
