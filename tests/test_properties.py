"""Hypothesis properties of validation and rendering, over every endpoint they apply to.

Rendering to schema-valid bodies and reference binding through rendering are properties of the conformance kit
(wan26core.testing), which runs them for every built-in endpoint in tests/conformance.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support import CONTRACTS, I2V, PROVIDERS, R2V, SIZE_TABLE, valid_requests
from wan26core import GenerationRequest, Reference, ValidationError, validate
from wan26core._rules.validation import OPTION_FIELDS

ALL = sorted(CONTRACTS)


# 1. (in the conformance kit, tests/conformance) accepted requests render to schema-valid bodies ------


# 2. values at a boundary pass, values just past it are rejected with field, rule and native error --
def _rules(violations: list[Any]) -> dict[str, Any]:
    return {v.rule: v for v in violations if v.severity == "error"}


def _assert_rejected(contract: Any, request: GenerationRequest, rule: str, field: str) -> None:
    found = _rules(validate(request, contract))
    assert rule in found, f"{contract.id}: expected {rule}, got {sorted(found)}"
    violation = found[rule]
    assert violation.field.startswith(field)
    expected = contract.native_error(rule)
    if expected is None:
        assert violation.native is None
    else:
        assert (violation.native.http_status, violation.native.code) == (expected.http_status, expected.code)
        assert "{limit}" not in violation.native.message and "{allowed}" not in violation.native.message


@pytest.mark.parametrize("provider_id", ALL)
@given(data=st.data())
def test_prompt_length_boundary(provider_id: str, data: st.DataObject) -> None:
    contract = CONTRACTS[provider_id]
    base = data.draw(valid_requests(contract))
    limit = contract.limits["prompt"]["max_length"]
    rendered = PROVIDERS[provider_id].render(base).body
    pad = limit - len(_prompt_of(contract, rendered))
    if pad < 1:
        return
    at_limit = base.replace(prompt=base.prompt + "x" * pad)
    assert "prompt.max_length" not in _rules(validate(at_limit, contract))
    _assert_rejected(contract, base.replace(prompt=base.prompt + "x" * (pad + 1)), "prompt.max_length", "prompt")


def _prompt_of(contract: Any, body: dict[str, Any]) -> str:
    node: Any = body
    for part in contract.wire_fields["prompt"].split("."):
        node = node[part]
    return str(node)


@pytest.mark.parametrize("provider_id", [p for p in ALL if CONTRACTS[p].supports("negative_prompt")])
@given(data=st.data())
def test_negative_prompt_length_boundary(provider_id: str, data: st.DataObject) -> None:
    contract = CONTRACTS[provider_id]
    limit = contract.limits["negative_prompt"]["max_length"]
    base = data.draw(valid_requests(contract))
    assert "negative_prompt.max_length" not in _rules(validate(base.replace(negative_prompt="n" * limit), contract))
    _assert_rejected(contract, base.replace(negative_prompt="n" * (limit + 1)), "negative_prompt.max_length", "negative_prompt")


@pytest.mark.parametrize("provider_id", R2V)
@pytest.mark.parametrize("kind", ["video", "image"])
@given(extra=st.integers(0, 2))
def test_reference_count_boundaries(provider_id: str, kind: str, extra: int) -> None:
    contract = CONTRACTS[provider_id]
    counts = contract.limits["references"]
    ext = "mp4" if kind == "video" else "png"
    n = counts[kind]["max"] + 1 + extra
    refs = [Reference(f"r{i}", f"https://media.example/r{i}.{ext}", kind) for i in range(n)]  # type: ignore[arg-type]
    request = GenerationRequest(prompt=" ".join(f"@r{i}" for i in range(n)), references=tuple(refs))
    _assert_rejected(contract, request, f"references.{kind}.max", "references")
    at_max = min(counts[kind]["max"], counts["total"]["max"])
    if at_max >= max(1, counts["total"]["min"]):
        ok = GenerationRequest(prompt=" ".join(f"@r{i}" for i in range(at_max)), references=tuple(refs[:at_max]))
        assert not {f"references.{kind}.max", "references.total.max"} & set(_rules(validate(ok, contract)))


@pytest.mark.parametrize("provider_id", R2V)
def test_reference_total_boundaries(provider_id: str) -> None:
    contract = CONTRACTS[provider_id]
    counts = contract.limits["references"]
    kinds = ["video"] * counts["video"]["max"] + ["image"] * counts["image"]["max"]
    total = counts["total"]["max"]
    if len(kinds) > total:
        refs = [
            Reference(f"r{i}", f"https://m.example/r{i}.{'mp4' if k == 'video' else 'png'}", k)  # type: ignore[arg-type]
            for i, k in enumerate(kinds[: total + 1])
        ]
        prompt = " ".join(f"@r{i}" for i in range(len(refs)))
        _assert_rejected(contract, GenerationRequest(prompt, tuple(refs)), "references.total.max", "references")
        fine = GenerationRequest(" ".join(f"@r{i}" for i in range(total)), tuple(refs[:total]))
        assert "references.total.max" not in _rules(validate(fine, contract))
    if counts["total"]["min"] >= 1:
        _assert_rejected(contract, GenerationRequest("no references at all"), "references.total.min", "references")


@pytest.mark.parametrize("provider_id", [p for p in ALL if CONTRACTS[p].supports("seed")])
@given(data=st.data(), past=st.integers(1, 2**40))
def test_seed_range_boundaries(provider_id: str, data: st.DataObject, past: int) -> None:
    contract = CONTRACTS[provider_id]
    seed = contract.limits["seed"]
    base = data.draw(valid_requests(contract))
    for fine in (seed["min"], seed["max"]):
        assert "seed.range" not in _rules(validate(base.replace(seed=fine), contract))
    _assert_rejected(contract, base.replace(seed=seed["max"] + past), "seed.range", "seed")
    _assert_rejected(contract, base.replace(seed=seed["min"] - past), "seed.range", "seed")


@pytest.mark.parametrize("provider_id", ALL)
@given(data=st.data())
def test_enum_options_outside_their_values_are_rejected(provider_id: str, data: st.DataObject) -> None:
    contract = CONTRACTS[provider_id]
    base = data.draw(valid_requests(contract))
    option = contract.option("duration")
    if option["supported"]:
        bad = data.draw(st.integers(0, 120).filter(lambda d: d not in option["values"]))
        _assert_rejected(contract, base.replace(duration=bad), "option.values", "duration")
    resolution = contract.option("resolution")
    if resolution["supported"] and "480p" not in resolution["values"]:
        _assert_rejected(contract, base.replace(resolution="480p"), "option.values", "resolution")


@pytest.mark.parametrize("provider_id", ALL)
@given(data=st.data())
def test_options_the_endpoint_lacks_are_violations_not_drops(provider_id: str, data: st.DataObject) -> None:
    contract = CONTRACTS[provider_id]
    base = data.draw(valid_requests(contract))
    samples = {
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "duration": 5,
        "shot_type": "single",
        "prompt_expansion": True,
        "generate_audio": True,
        "seed": 1,
        "safety_checker": True,
        "watermark": False,
        "negative_prompt": "blur",
        "audio_url": "https://media.example/a.mp3",
    }
    for name, attr in OPTION_FIELDS.items():
        if not contract.supports(name):
            _assert_rejected(contract, base.replace(**{attr: samples[name]}), "option.unsupported", attr)


# 3. (in the conformance kit, tests/conformance) reference binding survives rendering --------------


# 4. whatever the input, only wan26's own errors ----------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "prompt": st.text(max_size=60) | json_values,
        "references": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=12) | json_values, "source": st.text(max_size=40) | json_values},
                optional={"kind": st.sampled_from(["video", "image", "audio", 3])},
            ),
            max_size=7,
        )
        | json_values,
        "duration": st.integers(-5, 30) | json_values,
        "resolution": st.sampled_from(["480p", "720p", "1080p", "4k"]) | json_values,
        "aspect_ratio": st.sampled_from(["16:9", "9:16", "1:1", "4:3", "3:4", "2:1"]) | json_values,
        "seed": st.integers() | json_values,
        "image": st.text(max_size=40) | json_values,
        "watermark": json_values,
    },
)


def _outcome(provider_id: str, make: Any) -> None:
    """Either a wire body that satisfies the endpoint's schema, or a ValidationError listing violations."""
    contract = CONTRACTS[provider_id]
    try:
        request = make()
        wire = PROVIDERS[provider_id].render(request)
    except ValidationError as exc:
        assert exc.violations, "a ValidationError always lists at least one violation"
        json.dumps([v.as_dict() for v in exc.violations])  # and they serialise for --json
        return
    jsonschema.Draft202012Validator(contract.request_schema).validate(wire.body)


@pytest.mark.parametrize("provider_id", ALL)
@given(payload=st.one_of(json_values, request_like))
def test_fuzzed_json_only_raises_wan26_errors(provider_id: str, payload: Any) -> None:
    _outcome(provider_id, lambda: GenerationRequest.from_dict(payload))


@pytest.mark.parametrize("provider_id", R2V)
@given(prompt=st.text(max_size=80), sources=st.lists(st.text(max_size=30), max_size=6))
def test_arbitrary_prompts_and_sources_only_raise_wan26_errors(provider_id: str, prompt: str, sources: list[str]) -> None:
    refs = tuple(Reference(f"r{i}", s) for i, s in enumerate(sources))
    _outcome(provider_id, lambda: GenerationRequest(prompt, refs))


# 5. the W*H size table round-trips with (aspect ratio, resolution tier) -----------------------------
_PIXELS = {"480p": 640 * 480, "720p": 1280 * 720, "1080p": 1920 * 1080}


@pytest.mark.parametrize("provider_id", SIZE_TABLE)
def test_size_table_round_trips(provider_id: str) -> None:
    contract = CONTRACTS[provider_id]
    table = contract.size_table
    assert table is not None
    inverse: dict[str, tuple[str, str]] = {}
    for tier, ratios in table.items():
        for ratio, size in ratios.items():
            assert size not in inverse, f"{size} appears twice"
            inverse[size] = (tier, ratio)
            width, height = map(int, size.split("*"))
            rw, rh = map(int, ratio.split(":"))
            assert abs(width / height - rw / rh) < 0.03, f"{size} is not {ratio}"
            assert abs(width * height / _PIXELS[tier] - 1) < 0.05, f"{size} is not a {tier} size"
    size_path = contract.options["size_table"]["wire"]
    prompt = "@a runs" if contract.task == "r2v" else "it runs"
    refs = (Reference("a", "https://m.example/a.mp4", "video"),) if contract.task == "r2v" else ()
    image = "https://m.example/f.png" if contract.task == "i2v" else None
    for size, (tier, ratio) in inverse.items():
        body = (
            PROVIDERS[provider_id]
            .render(
                GenerationRequest(prompt, refs, resolution=tier, aspect_ratio=ratio, image=image)  # type: ignore[arg-type]
            )
            .body
        )
        assert _list_or_value(body, size_path) == size


def _list_or_value(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        node = node[part]
    return node


def test_every_endpoint_is_covered() -> None:
    assert sorted(R2V + I2V) == ALL
    assert SIZE_TABLE, "some provider spells sizes as W*H"
