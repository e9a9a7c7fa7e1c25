"""One redaction for every writer: each known signed-URL form goes through each writer and no secret survives."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from wan26_mock.journal import redact_headers as mock_redact_headers
from wan26_mock.journal import redact_query as mock_redact_query
from wan26core._contract import Contract, builtin_contract
from wan26core._errors import DownloadError, TransportError, ValidationError, Violation, Wan26Error
from wan26core._journal import Journal
from wan26core._protocol import HttpCall
from wan26core._redaction import MASK, redact, redact_headers, redact_text, redact_url, secret_name
from wan26core.drift._capture import scrub_exchange
from wan26core.drift._recordings import scrub, scrub_headers

S = "CANARYs3cr3t"  # every secret below contains it

#: every signed or credential-carrying URL form the project has met or documents
SIGNED_URLS = [
    # S3 presigned (SigV4), with a session token
    f"https://b.s3.amazonaws.com/o.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA{S}%2F20261201%2Fus-east-1"
    f"&X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok{S}"
    f"&X-Amz-Signature=sig{S}",
    # GCS V4 and V2
    f"https://storage.googleapis.com/b/o.mp4?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa{S}%2F20261201"
    f"&X-Goog-Date=20261201T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=ab{S}",
    f"https://storage.googleapis.com/b/o.mp4?GoogleAccessId=sa{S}&Expires=1767225600&Signature=x{S}",
    # Alibaba OSS (DashScope's video_url), with an STS token
    f"https://dashscope-result.oss-cn-beijing.aliyuncs.com/v.mp4?OSSAccessKeyId=LTAI{S}&Expires=1767225600"
    f"&Signature=q{S}&security-token=sts{S}",
    # Azure SAS, CloudFront
    f"https://a.blob.core.windows.net/c/v.mp4?sv=2024-11-04&se=2026-12-01&sp=r&sig={S}",
    f"https://d111.cloudfront.net/v.mp4?Policy=eyJ{S}&Signature=c{S}&Key-Pair-Id=K{S}",
    # keys and tokens passed in URLs
    f"https://queue.fal.run/x?fal_key={S}",
    f"https://api.example.com/v?key={S}&alt=json",
    f"https://api.example.com/v?api_key={S}",
    f"https://api.example.com/v?access_token={S}",
    f"https://hooks.example.com/h?token={S}",
    f"https://cdn.example.com/v.mp4?auth_token={S}",
    # userinfo, a token in the fragment, a webhook URL inside a submit URL (fal's ?fal_webhook=)
    f"https://user:{S}@example.com/v.mp4",
    f"https://example.com/cb#access_token={S}&state=1",
    f"https://queue.fal.run/wan/v2.6?fal_webhook={quote(f'http://me.example/h?token={S}', safe='')}",
]


@pytest.mark.parametrize("url", SIGNED_URLS)
def test_redact_url_hides_every_known_form(url: str) -> None:
    cleaned = redact_url(url)
    assert S not in cleaned and MASK in cleaned
    assert cleaned.split("?")[0].split("#")[0].replace(f"user:{S}", MASK).split("@")[-1] in cleaned  # host and path kept


@pytest.mark.parametrize("url", SIGNED_URLS)
def test_every_writer_hides_every_form(url: str, tmp_path: Path) -> None:
    text = f"job failed: could not fetch {url}, giving up"
    # the job journal, on disk
    with Journal(tmp_path / "j.sqlite3") as journal:
        rec = journal.record_intent(
            "fal/r2v-flash", {"references": [{"source": url}]}, {"video_urls": [url]}, base_url=url, label=text
        )
        journal.record_submitted(rec.id, "r1", {"status": url})
        journal.record_status(rec.id, "failed", last_log=text, error={"message": text}, result={"url": url})
        other = journal.record_intent("fal/r2v-flash", {}, {})
        journal.record_unknown(other.id, text)
    db = sqlite3.connect(tmp_path / "j.sqlite3")
    stored = [db.execute(f"SELECT * FROM {table}").fetchall() for table in ("jobs", "events")]
    db.close()
    assert S not in repr(stored)
    # recordings and record captures
    assert S not in repr(scrub({"video": {"url": url}, "note": text}))
    assert S not in repr(scrub_headers({"Location": url, "Authorization": f"Bearer {S}"}))
    exchange = {"request": {"headers": {"referer": url}, "body": {"u": url}}, "response": {"headers": {}, "body": text}}
    assert S not in repr(scrub_exchange(exchange, "some-other-key"))
    # error texts and reprs
    for error in (
        Wan26Error(text),
        TransportError(text),
        DownloadError(text),
        Wan26Error("m", native_message=text),
        ValidationError([Violation("references[0].source", "references.source", text, value=url)]),
    ):
        assert S not in str(error) and S not in repr(error.args) and S not in str(error.native_message)
    assert S not in repr(HttpCall("GET", url, {"Authorization": f"Key {S}"}))
    # the mock's request journal
    assert S not in repr(mock_redact_query({"fal_webhook": url, "token": S, "u": url}))
    assert S not in repr(mock_redact_headers({"Authorization": f"Key {S}", "Referer": url}))
    assert S not in redact_text(text) and S not in repr(redact({"x": [text]}))


def test_the_vocabulary_and_the_mask() -> None:
    builtin_contract("fal/r2v")  # declares FAL_KEY, which fal-client also takes as a parameter
    for name in ("key", "api_key", "X-Api-Key", "token", "sig", "signature", "X-Goog-Credential", "fal_key", "Expires", "Policy"):
        assert secret_name(name), name
    for name in ("logs", "prompt", "seed", "storage_type", "alt", "state", "sv", "request_id", "token_type"):
        assert not secret_name(name), name
    assert redact_headers({"Authorization": f"Key {S}", "X-Fal-Request-Id": "r1"}) == {
        "Authorization": f"Key {MASK}",
        "X-Fal-Request-Id": "r1",
    }
    assert redact_url("https://x/v.mp4?logs=1") == "https://x/v.mp4?logs=1"
    assert redact_text("see https://x/y?token=abc.") == f"see https://x/y?token={MASK}."


def test_a_contract_s_auth_section_adds_its_names_to_the_vocabulary() -> None:
    """The core knows no provider's key names: a contract declares them (``transport.auth``) and they are secret once
    it is loaded, in the client's writers and the mock's journal alike."""
    assert not secret_name("acme_pass") and not secret_name("X-Acme-Pass")
    data = copy.deepcopy(builtin_contract("vtrix/r2v").data)
    data["transport"]["auth"] = {**data["transport"]["auth"], "header": "X-Acme-Pass", "env": ["ACME_PASS"]}
    Contract(data)
    assert secret_name("acme_pass") and secret_name("ACME-PASS")
    assert mock_redact_headers({"X-Acme-Pass": S}) == {"X-Acme-Pass": MASK}
    assert S not in repr(mock_redact_query({"acme_pass": S}))
