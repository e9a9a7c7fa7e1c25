"""The recording format, scrubbing, and the committed seed recordings (fresh, valid, shipped in the wheel)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from driftkit import RECORDINGS

from support import CONTRACTS, EXPECTED_IDS
from wan26core.drift._recordings import (
    SEED_NAMES,
    dump_recording,
    load_recordings,
    recording_problems,
    scrub,
    scrub_headers,
    seed_recordings,
)

FILES = sorted(RECORDINGS.glob("*/*/*.json"))


def test_every_contract_has_its_seed_recordings() -> None:
    found = {f"{p.parent.parent.name}/{p.parent.name}/{p.stem}" for p in FILES}
    assert {f"{cid}/{name}" for cid in EXPECTED_IDS for name in SEED_NAMES} <= found


@pytest.mark.parametrize("contract_id", EXPECTED_IDS)
def test_committed_seeds_are_what_the_contract_generates(contract_id: str) -> None:
    for name, data in seed_recordings(CONTRACTS[contract_id]).items():
        path = RECORDINGS / contract_id / f"{name}.json"
        assert path.read_text(encoding="utf-8") == dump_recording(data), f"{path} is stale: run `wan26 contracts seed`"


@pytest.mark.parametrize("contract_id", EXPECTED_IDS)
def test_seeds_hold_every_example_and_every_error_body(contract_id: str) -> None:
    contract = CONTRACTS[contract_id]
    seeds = seed_recordings(contract)
    examples = seeds["seed-examples"]["exchanges"]
    assert [e["example"] for e in examples] == [e["name"] for e in contract.data["examples"]]
    errors = [e for e in contract.data["errors"] if e.get("body") is not None]
    assert len(seeds["seed-errors"]["exchanges"]) == len(errors)
    for exchange in examples + seeds["seed-errors"]["exchanges"]:
        assert exchange["origin"].startswith("seed:") and exchange["origin"] != "seed:"
        assert exchange["source"] and exchange["recorded_at"].startswith(contract.data["retrieved"])


def test_the_committed_recordings_satisfy_the_schema_and_are_shipped() -> None:
    loaded = load_recordings(RECORDINGS)
    assert len(loaded) == len(FILES) >= 18
    assert [(r.path, r.problems) for r in loaded if r.problems] == []
    installed = load_recordings(resources.files("wan26_contracts").joinpath("recordings"))
    assert {r.path: r.data for r in installed} == {r.path: r.data for r in loaded}


def test_the_schema_refuses_a_bad_exchange() -> None:
    data = json.loads(FILES[0].read_text(encoding="utf-8"))
    data["exchanges"][0]["origin"] = "somewhere"
    data["exchanges"].append({"action": "poll", "origin": "live", "source": "x", "recorded_at": "2026-01-01T00:00:00Z"})
    last = len(data["exchanges"]) - 1
    problems = recording_problems(data)
    assert any(p.startswith("exchanges/0/origin") and "somewhere" in p for p in problems)
    assert any(p.startswith(f"exchanges/{last}/action") and "'poll'" in p for p in problems)
    assert any(
        p.startswith(f"exchanges/{last}:") and "any of the given schemas" in p for p in problems
    )  # no request, no response


def test_a_recording_under_the_wrong_contract_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fal" / "r2v" / "live.json"
    path.parent.mkdir(parents=True)
    path.write_text(dump_recording({"recording_version": 1, "contract": "fal/i2v", "exchanges": []}), encoding="utf-8")
    (tmp_path / "fal" / "r2v" / "broken.json").write_text("{not json", encoding="utf-8")
    problems = {r.name: r.problems for r in load_recordings(tmp_path)}
    assert "recorded under fal/r2v/" in problems["live"][0]
    assert "not readable as JSON" in problems["broken"][0]


def test_scrub_removes_signed_url_tokens_and_keys() -> None:
    url = "https://cdn.example/v.mp4?Expires=1767&OSSAccessKeyId=LTAI5t&Signature=kBy%3D&size=720"
    body = {"video": {"url": url}, "token": "secret-token", "token_type": "Bearer", "api_key": "k-123", "n": 3}
    clean = scrub(body)
    assert (
        clean["video"]["url"] == "https://cdn.example/v.mp4?Expires=REDACTED&OSSAccessKeyId=REDACTED&Signature=REDACTED&size=720"
    )
    assert clean["token"] == "REDACTED" and clean["api_key"] == "REDACTED"
    assert clean["token_type"] == "Bearer" and clean["n"] == 3
    assert scrub("https://s3.example/o?X-Amz-Signature=abc&X-Amz-Credential=AKIA&part=1") == (
        "https://s3.example/o?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&part=1"
    )


def test_scrub_headers_keeps_the_auth_scheme_word() -> None:
    clean = scrub_headers({"Authorization": "Key abc:def", "X-Api-Key": "k", "Content-Type": "application/json", "Cookie": "s=1"})
    assert clean == {
        "authorization": "Key REDACTED",
        "x-api-key": "REDACTED",
        "content-type": "application/json",
        "cookie": "REDACTED",
    }
    assert scrub_headers(None) is None


def test_no_committed_recording_holds_a_signed_url_token() -> None:
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for marker in ("OSSAccessKeyId=LTAI", "Signature=WY0", "Signature=kBy", "Expires=176"):
            assert marker not in text, f"{path} holds {marker}"
