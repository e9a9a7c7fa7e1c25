"""Validation against the contracts: every violation at once, each with field, rule, limit and native error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import CONTRACTS, PROVIDERS
from wan26core import GenerationRequest, Reference, UnsupportedOptionError, ValidationError, check, validate


def videos(n: int) -> tuple[Reference, ...]:
    return tuple(Reference(f"v{i}", f"https://media.example/v{i}.mp4", "video") for i in range(n))


def images(n: int) -> tuple[Reference, ...]:
    return tuple(Reference(f"i{i}", f"https://media.example/i{i}.png", "image") for i in range(n))


def prompt_for(refs: tuple[Reference, ...]) -> str:
    return " and ".join(f"@{r.name}" for r in refs) + " dance"


def by_rule(request: GenerationRequest, provider_id: str) -> dict[str, object]:
    return {v.rule: v for v in validate(request, CONTRACTS[provider_id])}


def test_four_videos_on_fal_flash_name_field_limit_and_native_error() -> None:
    refs = videos(4)
    violation = by_rule(GenerationRequest(prompt_for(refs), refs), "fal/r2v-flash")["references.video.max"]
    assert violation.field == "references"  # type: ignore[attr-defined]
    assert violation.limit == 3 and violation.value == 4  # type: ignore[attr-defined]
    assert violation.native.http_status == 422  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("refs", "rule", "code"),
    [
        (videos(4), "references.video.max", "001028003"),
        (images(6), "references.image.max", "001028002"),
        (videos(3) + images(3), "references.total.max", "001028001"),
        ((), "references.total.min", "001028001"),
    ],
)
def test_vtrix_reference_limits_carry_its_native_codes(refs: tuple[Reference, ...], rule: str, code: str) -> None:
    violation = by_rule(GenerationRequest(prompt_for(refs), refs), "vtrix/r2v")[rule]
    assert violation.native.code == code  # type: ignore[attr-defined]


def test_vtrix_invalid_reference_url_is_001028004() -> None:
    refs = (Reference("a", "ftp://media.example/a.mp4", "video"),)
    violation = by_rule(GenerationRequest("@a", refs), "vtrix/r2v")["references.source"]
    assert violation.native.code == "001028004"  # type: ignore[attr-defined]


def test_all_violations_are_raised_together() -> None:
    refs = videos(4)
    request = GenerationRequest(prompt_for(refs) + " @ghost", refs, watermark=True, duration=7, seed=-3)
    with pytest.raises(ValidationError) as caught:
        check(request, CONTRACTS["fal/r2v-flash"])
    found = {v.rule for v in caught.value.violations}
    assert {"references.video.max", "references.unknown", "option.unsupported", "option.values", "seed.range"} <= found
    assert "references.video.max" in str(caught.value)


def test_only_unsupported_options_raise_unsupported_option_error() -> None:
    refs = videos(1)
    with pytest.raises(UnsupportedOptionError, match="watermark"):
        check(GenerationRequest(prompt_for(refs), refs, watermark=True), CONTRACTS["fal/r2v-flash"])


@pytest.mark.parametrize(
    ("provider_id", "changes", "field"),
    [
        ("fal/r2v-flash", {"watermark": False}, "watermark"),
        ("fal/r2v", {"audio": "https://media.example/a.mp3"}, "audio"),
        ("fal/r2v", {"references": images(1)}, "references"),
    ],
)
def test_options_the_endpoint_lacks_are_not_dropped(provider_id: str, changes: dict[str, object], field: str) -> None:
    base = GenerationRequest(prompt_for(videos(1)), videos(1))
    request = base.replace(**changes)
    if field == "references":
        request = GenerationRequest(prompt_for(images(1)), images(1))
    errors = [v for v in validate(request, CONTRACTS[provider_id]) if v.severity == "error"]
    assert errors and all(v.field.startswith(field) for v in errors)


def test_image_to_video_needs_a_first_frame() -> None:
    assert "first_frame.required" in by_rule(GenerationRequest("waves"), "fal/i2v")
    assert "first_frame.required" not in by_rule(GenerationRequest("waves", image="https://m.example/f.png"), "fal/i2v")


def test_a_prompt_is_needed_only_where_the_contract_says_so() -> None:
    # DashScope's image-to-video takes no prompt (limits.prompt.required: false); the mock refused such a submit
    # with InvalidParameter(input.prompt) until Schemathesis sent one
    for provider_id, contract in CONTRACTS.items():
        image = "https://media.example/cat.png" if contract.task == "i2v" else None
        refs = () if image else videos(1)
        required = contract.limits["prompt"].get("required", True)
        for prompt in ("", "  "):
            assert ("prompt.required" in by_rule(GenerationRequest(prompt, refs, image=image), provider_id)) is required
    assert not CONTRACTS["dashscope/i2v"].limits["prompt"]["required"]


def test_declared_formats_are_checked_without_probing() -> None:
    refs = (Reference("a", "https://media.example/a.gif", "image"),)
    assert "reference_image.format" in by_rule(GenerationRequest("@a", refs), "fal/r2v-flash")


def test_data_uris_are_checked_for_syntax_and_size() -> None:
    contract = CONTRACTS["fal/r2v-flash"]
    max_bytes = contract.limits["reference_image"]["max_bytes"]
    ok = (Reference("a", "data:image/png;base64,iVBORw0KGgo=", "image"),)
    assert by_rule(GenerationRequest("@a", ok), "fal/r2v-flash") == {}
    junk = (Reference("a", "data:image/png;base64,***", "image"),)
    assert "references.source" in by_rule(GenerationRequest("@a", junk), "fal/r2v-flash")
    huge = (Reference("a", "data:image/png;base64," + "A" * (max_bytes // 3 * 4 + 8), "image"),)
    assert "reference_image.max_bytes" in by_rule(GenerationRequest("@a", huge), "fal/r2v-flash")


def test_local_files_must_exist_and_fit(tmp_path: Path) -> None:
    contract = CONTRACTS["fal/r2v-flash"]
    limit = contract.limits["reference_video"]["max_bytes"]
    big = tmp_path / "big.mp4"
    with open(big, "wb") as handle:  # a sparse file: large on paper, nothing written
        handle.truncate(limit + 1)
    exact = tmp_path / "exact.mp4"
    with open(exact, "wb") as handle:
        handle.write(b"\x00\x00\x00\x18ftypisom")  # the first bytes of an MP4: the built-in sniff reads them
        handle.truncate(limit)
    assert "reference_video.max_bytes" in by_rule(GenerationRequest("@a", (Reference("a", str(big)),)), "fal/r2v-flash")
    assert by_rule(GenerationRequest("@a", (Reference("a", str(exact)),)), "fal/r2v-flash") == {}
    missing = by_rule(GenerationRequest("@a", (Reference("a", os.path.join(tmp_path, "nope.mp4")),)), "fal/r2v-flash")
    assert "references.source" in missing


def test_rendered_prompt_length_is_what_counts() -> None:
    # "@a" (2 chars) renders to "Character1" (10 chars): the provider counts the rendered prompt
    contract = CONTRACTS["fal/r2v-flash"]
    limit = contract.limits["prompt"]["max_length"]
    refs = videos(1)
    request = GenerationRequest("@v0 " + "x" * (limit - 6), refs)
    assert len(request.prompt) < limit
    violation = by_rule(request, "fal/r2v-flash")["prompt.max_length"]
    assert "after references are rendered" in violation.message  # type: ignore[attr-defined]


def test_vtrix_would_truncate_silently_so_wan26_refuses() -> None:
    contract = CONTRACTS["vtrix/r2v"]
    limit = contract.limits["prompt"]["max_length"]
    refs = videos(1)
    violation = by_rule(GenerationRequest("@v0 " + "x" * limit, refs), "vtrix/r2v")["prompt.max_length"]
    assert "truncate" in violation.message  # type: ignore[attr-defined]


def test_shot_type_without_prompt_expansion_is_a_warning_not_an_error() -> None:
    refs = videos(1)
    request = GenerationRequest(prompt_for(refs), refs, shot_type="multi", prompt_expansion=False)
    found = validate(request, CONTRACTS["vtrix/r2v"])
    assert [v.severity for v in found if v.rule == "shot_type.needs_prompt_expansion"] == ["warning"]
    check(request, CONTRACTS["vtrix/r2v"])  # warnings do not block


def test_from_dict_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        GenerationRequest.from_dict(
            {"prompt": 3, "duration": "long", "watermark": "yes", "colour": "red", "references": [{"name": "a"}, "b"]}
        )
    fields = {v.field for v in caught.value.violations}
    assert {"prompt", "duration", "watermark", "colour", "references[0].source", "references[1]"} <= fields


def test_valid_requests_render_for_every_endpoint() -> None:
    for provider in PROVIDERS.values():
        contract = provider.contract
        refs = videos(1) if contract.task == "r2v" else ()
        image = "https://media.example/f.png" if contract.task == "i2v" else None
        wire = provider.render(GenerationRequest("@v0 runs" if refs else "it runs", refs, image=image))
        assert wire.url.startswith("https://")
