"""Named references: binding, renumbering per ordering rule, native tokens, escapes and read-back."""

from __future__ import annotations

import pytest

from support import CONTRACTS, PROVIDERS
from wan26core import GenerationRequest, Reference, bind_references, parse_prompt, read_back
from wan26core._rules.references import Token

ALICE = Reference("alice", "https://media.example/alice.png", "image")
BOB = Reference("bob", "https://media.example/bob.mp4", "video")


def rules(request: GenerationRequest, provider_id: str) -> set[str]:
    return {v.rule for v in bind_references(request, CONTRACTS[provider_id]).violations}


def test_fal_flash_numbers_videos_before_images() -> None:
    request = GenerationRequest("@alice waves at @bob", (ALICE, BOB))
    body = PROVIDERS["fal/r2v-flash"].render(request).body
    assert body["video_urls"] == [BOB.source]
    assert body["image_urls"] == [ALICE.source]
    assert body["prompt"] == "Character2 waves at Character1"


@pytest.mark.parametrize("provider_id", ["vtrix/r2v", "dashscope/r2v", "dashscope/r2v-flash"])
def test_vtrix_and_dashscope_keep_the_order_given(provider_id: str) -> None:
    request = GenerationRequest("@alice waves at @bob", (ALICE, BOB))
    contract = CONTRACTS[provider_id]
    body = PROVIDERS[provider_id].render(request).body
    assert body["input"]["reference_urls"] == [ALICE.source, BOB.source]
    assert body["input"]["prompt"] == contract.references["token"].replace("{n}", "1") + " waves at " + contract.references[
        "token"
    ].replace("{n}", "2")  # type: ignore[index]


def test_native_tokens_count_in_the_users_order() -> None:
    # character1 is the user's first reference (alice, an image) even though fal flash numbers bob first
    request = GenerationRequest("character1 and @Video1 and @Image1", (ALICE, BOB))
    body = PROVIDERS["fal/r2v-flash"].render(request).body
    assert body["prompt"] == "Character2 and Character1 and Character2"


def test_escapes_and_glued_at_signs_are_literal() -> None:
    request = GenerationRequest("@bob mails bob@example.com about @@home", (BOB,))
    body = PROVIDERS["fal/r2v-flash"].render(request).body
    assert body["prompt"] == "Character1 mails bob@example.com about @home"


def test_parse_prompt_splits_text_and_tokens() -> None:
    parts = parse_prompt("@a, character2 @Video1 @IMAGE3 x@y @@z")
    tokens = [p for p in parts if isinstance(p, Token)]
    assert [(t.kind, t.value) for t in tokens] == [("name", "a"), ("character", 2), ("video", 1), ("image", 3)]
    assert "".join(p if isinstance(p, str) else "" for p in parts) == ",    x@y @z"


def test_unknown_names_and_unused_references_are_violations() -> None:
    assert rules(GenerationRequest("@alice meets @carol", (ALICE, BOB)), "vtrix/r2v") == {
        "references.unknown",
        "references.unused",
    }


def test_token_numbers_past_the_references_are_unknown() -> None:
    assert "references.unknown" in rules(GenerationRequest("@alice and character3", (ALICE, BOB)), "vtrix/r2v")
    assert "references.unknown" in rules(GenerationRequest("@alice and @Video2", (ALICE, BOB)), "vtrix/r2v")


@pytest.mark.parametrize("name", ["video1", "Image2", "CHARACTER3", "1abc", "has space", "a-b"])
def test_names_that_are_not_identifiers_or_read_as_tokens_are_refused(name: str) -> None:
    request = GenerationRequest(f"@{name}", (Reference(name, BOB.source, "video"),))
    assert "references.name" in rules(request, "vtrix/r2v")


def test_duplicate_names_are_refused() -> None:
    request = GenerationRequest("@bob", (BOB, Reference("bob", "https://m.example/b2.mp4", "video")))
    assert "references.name" in rules(request, "vtrix/r2v")


def test_kind_is_inferred_or_must_be_given() -> None:
    inferred = Reference("x", "https://m.example/x.MOV")
    assert inferred.resolved_kind == "video"
    assert Reference("y", "data:image/webp;base64,AAAA").resolved_kind == "image"
    unknown = GenerationRequest("@z", (Reference("z", "https://m.example/z"),))
    assert "references.kind" in rules(unknown, "vtrix/r2v")


def test_literal_text_that_would_read_as_a_provider_token_is_refused() -> None:
    # fal's standard R2V reads @Video1 itself; an escaped @@Video1 would silently become a reference
    request = GenerationRequest("@bob next to @@Video1", (BOB,))
    assert "prompt.literal_token" in rules(request, "fal/r2v")


def test_endpoints_without_references_refuse_at_names() -> None:
    request = GenerationRequest("@bob waves", image="https://m.example/f.png")
    assert "references.unknown" in rules(request, "fal/i2v")
    assert bind_references(GenerationRequest("a character1 waves", image="x.png"), CONTRACTS["fal/i2v"]).violations == []


def test_read_back_recovers_names_from_the_wire_alone() -> None:
    request = GenerationRequest("@bob then @alice then @bob", (ALICE, BOB))
    for provider_id in ("fal/r2v-flash", "vtrix/r2v", "dashscope/r2v"):
        body = PROVIDERS[provider_id].render(request).body
        assert read_back(body, CONTRACTS[provider_id]) == [BOB.source, ALICE.source, BOB.source]
