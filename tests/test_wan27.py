"""Wan 2.7: per-kind reference numbering, the media array, the new media slots and the conditional limits.

The same canonical request renders to Wan 2.6's one numbering (``character1``…) and to Wan 2.7's per-kind tokens
(``Image 1``, ``Video 1``…); options an endpoint lacks stay violations; the conditional limits are contract data,
checked alike by the client and by the mock (which reads the wire body back and validates it the same way).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from support import CONTRACTS, PROVIDERS, valid_requests
from wan26core import GenerationRequest, Reference, ValidationError, read_back, validate
from wan26core._rules.references import get_path
from wan26core._rules.wire import check_wire, parse_wire

ALICE = Reference("alice", "https://media.example/alice.png", "image")
BOB = Reference("bob", "https://media.example/bob.mp4", "video")
CAROL = Reference("carol", "https://media.example/carol.jpg", "image")
MEETING = GenerationRequest("@alice meets @bob near @carol", (ALICE, BOB, CAROL), duration=8)

#: endpoints whose contract caps the duration when a reference video is present (a conditional limit)
CAPPED = sorted(
    pid
    for pid, c in CONTRACTS.items()
    if any("references.video" in r["when"] and "duration" in r["then"] for r in c.conditional_limits)
)


def _errors(request: GenerationRequest, pid: str) -> dict[str, Any]:
    return {v.rule: v for v in validate(request, CONTRACTS[pid]) if v.severity == "error"}


def test_dashscope_27_sends_one_media_array_with_types_and_names_references_per_kind() -> None:
    body = PROVIDERS["dashscope/r2v-2.7"].render(MEETING).body
    assert body["input"]["prompt"] == "Image 1 meets Video 1 near Image 2"
    assert body["input"]["media"] == [
        {"type": "reference_image", "url": ALICE.source},
        {"type": "reference_video", "url": BOB.source},
        {"type": "reference_image", "url": CAROL.source},
    ]
    assert read_back(body, CONTRACTS["dashscope/r2v-2.7"]) == [ALICE.source, BOB.source, CAROL.source]


def test_the_same_request_renders_to_each_generations_tokens() -> None:
    dashscope_26 = PROVIDERS["dashscope/r2v"].render(MEETING).body
    assert dashscope_26["input"]["prompt"] == "character1 meets character2 near character3"
    assert dashscope_26["input"]["reference_urls"] == [ALICE.source, BOB.source, CAROL.source]
    fal_27 = PROVIDERS["fal/r2v-2.7"].render(MEETING).body
    assert fal_27["prompt"] == "Image 1 meets Video 1 near Image 2"
    assert (fal_27["reference_image_urls"], fal_27["reference_video_urls"]) == ([ALICE.source, CAROL.source], [BOB.source])
    aimlapi_27 = PROVIDERS["aimlapi/r2v-2.7"].render(MEETING.replace(duration=10)).body  # AI/ML API: 5, 10 or 15
    assert (aimlapi_27["prompt"], aimlapi_27["image_urls"], aimlapi_27["video_urls"]) == (
        "Image 1 meets Video 1 near Image 2",
        [ALICE.source, CAROL.source],
        [BOB.source],
    )


@pytest.mark.parametrize("pid", ["dashscope/r2v-2.7", "fal/r2v-2.7", "aimlapi/r2v-2.7"])
def test_native_27_tokens_count_in_the_users_order(pid: str) -> None:
    request = GenerationRequest("Image 2 waves at Video 1, then Image1 nods", (ALICE, BOB, CAROL))
    body = PROVIDERS[pid].render(request).body
    assert read_back(body, CONTRACTS[pid]) == [CAROL.source, BOB.source, ALICE.source]
    assert get_path(body, CONTRACTS[pid].wire_fields["prompt"]) == "Image 2 waves at Video 1, then Image 1 nods"


@pytest.mark.parametrize("prose", ["video 1 of 3", "Image 1a", "Image 1.5", "myImage 1"])
def test_only_the_documented_spelling_of_a_27_token_binds(prose: str) -> None:
    """Lower-case words, a token glued to more letters or a decimal are text; where the text still reads like a
    token to the model, it is refused (rephrase), never silently rewritten."""
    request = GenerationRequest(f"@alice @bob @carol and {prose}", (ALICE, BOB, CAROL))
    found = _errors(request, "dashscope/r2v-2.7")
    assert "references.unknown" not in found
    prompt = get_path(PROVIDERS["dashscope/r2v-2.7"].render(request).body, "input.prompt") if not found else None
    assert prompt is None or prompt.endswith(prose)


def test_ten_thousand_references_are_refused_by_their_count() -> None:
    refs = tuple(Reference(f"r{i}", f"https://media.example/r{i}.png", "image") for i in range(10_000))
    found = _errors(GenerationRequest(" ".join(f"@r{i}" for i in range(10_000)), refs), "dashscope/r2v-2.7")
    assert found["references.total.max"].value == 10_000


def test_a_27_token_past_the_references_names_nothing() -> None:
    found = _errors(GenerationRequest("Image 3 and @alice @bob @carol", (ALICE, BOB, CAROL)), "dashscope/r2v-2.7")
    assert "references.unknown" in found and "Image 3" in found["references.unknown"].message


def test_27_tokens_on_a_26_endpoint_say_which_spelling_it_reads() -> None:
    found = _errors(GenerationRequest("Image 1 waves", (ALICE,)), "dashscope/r2v")
    assert "Wan 2.7's spelling; dashscope/r2v reads @alice or character{n}" in found["references.unused"].message


def test_prose_that_reads_as_a_27_token_on_a_26_endpoint_is_plain_text() -> None:
    request = GenerationRequest("@alice shows Image 4 of the album", (ALICE,))
    assert not _errors(request, "dashscope/r2v")
    assert "references.unknown" in _errors(request, "dashscope/r2v-2.7")


def test_a_voice_sample_per_reference_goes_into_its_media_item_and_back() -> None:
    voiced = MEETING.replace(
        references=(ALICE.__class__("alice", ALICE.source, "image", "https://media.example/a.mp3"), BOB, CAROL)
    )
    body = PROVIDERS["dashscope/r2v-2.7"].render(voiced).body
    assert body["input"]["media"][0] == {
        "type": "reference_image",
        "url": ALICE.source,
        "reference_voice": "https://media.example/a.mp3",
    }
    read = parse_wire(body, CONTRACTS["dashscope/r2v-2.7"])
    assert [r.voice for r in read.references] == ["https://media.example/a.mp3", None, None]


@pytest.mark.parametrize(
    ("pid", "change", "field"),
    [
        (
            "dashscope/r2v",
            {"references": (Reference("alice", ALICE.source, "image", "https://m.example/v.mp3"),)},
            "references[0].voice",
        ),
        (
            "fal/r2v-2.7",
            {"references": (Reference("alice", ALICE.source, "image", "https://m.example/v.mp3"),)},
            "references[0].voice",
        ),
        ("fal/i2v", {"last_frame": "https://media.example/end.png"}, "last_frame"),
        ("dashscope/i2v", {"clip": "https://media.example/start.mp4"}, "clip"),
        ("fal/r2v", {"image": "https://media.example/first.png"}, "image"),
    ],
)
def test_a_27_option_on_an_endpoint_without_it_is_a_violation_not_a_drop(pid: str, change: dict[str, Any], field: str) -> None:
    base = (
        GenerationRequest("@alice waves", (ALICE,))
        if CONTRACTS[pid].task == "r2v"
        else GenerationRequest("it waves", image="https://media.example/first.png")
    )
    if pid == "fal/r2v":
        base = GenerationRequest("@bob waves", (BOB,))
    found = _errors(base.replace(**change), pid)
    assert "option.unsupported" in found and found["option.unsupported"].field == field


def test_dashscope_27_r2v_takes_a_first_frame_outside_the_five_references() -> None:
    five = tuple(Reference(f"r{i}", f"https://media.example/r{i}.png", "image") for i in range(5))
    request = GenerationRequest(" ".join(f"@r{i}" for i in range(5)), five, image="https://media.example/first.png")
    body = PROVIDERS["dashscope/r2v-2.7"].render(request).body
    assert body["input"]["media"][0] == {"type": "first_frame", "url": "https://media.example/first.png"}
    assert len(body["input"]["media"]) == 6
    six = (*five, Reference("r5", "https://media.example/r5.png", "image"))
    assert "references.total.max" in _errors(request.replace(references=six, prompt=request.prompt + " @r5"), "dashscope/r2v-2.7")


@pytest.mark.parametrize("pid", ["dashscope/i2v-2.7", "fal/i2v-2.7"])
def test_27_image_to_video_media_combinations(pid: str) -> None:
    frame, end, clip = "https://media.example/f.png", "https://media.example/e.png", "https://media.example/c.mp4"
    assert not _errors(GenerationRequest("go", image=frame, last_frame=end), pid)
    assert not _errors(GenerationRequest("go", clip=clip, last_frame=end), pid)
    assert "clip.not_with_image" in _errors(GenerationRequest("go", image=frame, clip=clip), pid)
    assert "last_frame.needs_start" in _errors(GenerationRequest("go", last_frame=end), pid)
    assert "source.first_frame_or_clip" in _errors(GenerationRequest("go"), pid)
    assert "audio.not_with_clip" in _errors(GenerationRequest("go", clip=clip, audio="https://media.example/a.mp3"), pid)


def test_dashscope_27_i2v_media_lead_with_the_start_then_the_end() -> None:
    request = GenerationRequest("go", clip="https://media.example/c.mp4", last_frame="https://media.example/e.png")
    body = PROVIDERS["dashscope/i2v-2.7"].render(request).body
    assert [item["type"] for item in body["input"]["media"]] == ["first_clip", "last_frame"]
    back = parse_wire(body, CONTRACTS["dashscope/i2v-2.7"])
    assert (back.clip, back.last_frame, back.image) == (request.clip, request.last_frame, None)


def test_wan26_image_to_video_still_requires_its_first_frame() -> None:
    assert "first_frame.required" in _errors(GenerationRequest("go"), "fal/i2v")


# --- the conditional limits, as a property ------------------------------------------------------------


@pytest.mark.parametrize("pid", CAPPED)
@settings(max_examples=30)
@given(data=st.data())
def test_a_reference_video_caps_the_duration_with_the_providers_native_error(pid: str, data: st.DataObject) -> None:
    contract = CONTRACTS[pid]
    rule = next(r for r in contract.conditional_limits if "references.video" in r["when"])
    cap = rule["then"]["duration"]["max"]
    base = data.draw(valid_requests(contract))
    videos = [r for r in base.references if r.resolved_kind == "video"]
    over = [d for d in contract.options["duration"]["values"] if d > cap]
    duration = data.draw(st.sampled_from(over))
    if videos:  # every request with a reference video and a duration past the cap is refused, natively
        found = _errors(base.replace(duration=duration), pid)
        assert rule["rule"] in found, sorted(found)
        native = found[rule["rule"]].native
        expected = contract.native_error(rule["rule"])
        assert (
            native is not None
            and expected is not None
            and (native.http_status, native.code) == (expected.http_status, expected.code)
        )
        with pytest.raises(ValidationError):
            PROVIDERS[pid].render(base.replace(duration=duration))
    else:  # without one, the longer durations are accepted
        assume(base.references)
        assert rule["rule"] not in _errors(base.replace(duration=duration), pid)
        PROVIDERS[pid].render(base.replace(duration=duration))


@pytest.mark.parametrize("pid", CAPPED)
def test_without_a_reference_video_every_longer_duration_is_accepted(pid: str) -> None:
    contract = CONTRACTS[pid]
    for duration in [d for d in contract.options["duration"]["values"] if d > 10]:
        assert not _errors(GenerationRequest("@alice waves", (ALICE,), duration=duration), pid)
        assert "duration.with_reference_video" in _errors(GenerationRequest("@bob waves", (BOB,), duration=duration), pid)


def test_the_mock_refuses_the_capped_duration_with_dashscopes_own_answer() -> None:
    from starlette.testclient import TestClient

    from support import builtin_registry
    from wan26_mock import Engine, create_app

    contract = CONTRACTS["dashscope/r2v-2.7"]
    body = PROVIDERS["dashscope/r2v-2.7"].render(MEETING).body
    body["parameters"]["duration"] = 12
    request, refused = check_wire(body, contract)
    assert request is None and [v.rule for v in refused] == ["duration.with_reference_video"]
    engine = Engine(builtin_registry(), seed=1, frozen_clock=True)
    with TestClient(create_app(engine=engine)) as http:
        route = contract.transport["routes"]["submit"]["path"]
        headers = {"Authorization": "Bearer k", "X-DashScope-Async": "enable"}
        answer = http.post(route, json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["code"] == "InvalidParameter"
        # the documented xxx placeholder names the wire parameter
        assert answer.json()["message"].startswith("Required parameter(parameters.duration)")
        body["parameters"]["duration"] = 10
        assert http.post(route, json=body, headers=headers).status_code == 200
    assert not engine.jobs.jobs or len(engine.jobs.jobs) == 1


def test_providers_lists_the_generation_and_the_26_aliases() -> None:
    from support import builtin_registry

    registry = builtin_registry()
    assert registry.get("dashscope/r2v-2.6") is registry.get("dashscope/r2v")
    assert registry.get("fal/i2v-2.6").contract.generation == "2.6"
    assert registry.get("dashscope/r2v-2.7").contract.generation == "2.7"
    assert "dashscope/r2v-2.7-2.6" not in registry.aliases()


def test_a_contract_whose_conditions_name_no_canonical_field_is_refused_at_load() -> None:
    import copy

    from wan26core import contract_problems

    data = copy.deepcopy(CONTRACTS["dashscope/r2v-2.7"].data)
    assert contract_problems(data) == []
    data["conditional_limits"][0]["then"] = {"durration": {"max": 10}}
    assert [p for p in contract_problems(data) if "durration" in p]
    media_less = copy.deepcopy(CONTRACTS["dashscope/r2v-2.7"].data)
    del media_less["request"]["media"]
    assert "references: wire.media needs request.media (its wire path and item types)" in contract_problems(media_less)
