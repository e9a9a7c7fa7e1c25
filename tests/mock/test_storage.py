"""fal's storage routes as fal-client and @fal-ai/client call them: token, CDN upload, multipart, initiate + PUT."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from starlette.testclient import TestClient

import wan26_fal
from mockkit import CANARY, SCENARIO, mock_client
from wan26_mock.engine import Engine
from wan26core import Registry

KEY = {"Authorization": f"Key {CANARY}"}
DATA = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture
def client() -> Iterator[TestClient]:
    with mock_client(wan26_fal) as test_client:
        yield test_client


def cdn_token(client: TestClient) -> dict[str, str]:
    response = client.post("/storage/auth/token?storage_type=fal-cdn-v3", json={}, headers=KEY)
    assert response.status_code == 200, response.text
    token: dict[str, str] = response.json()
    return token


def bearer(token: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"{token['token_type']} {token['token']}"}


def test_the_token_is_what_fal_clients_cdn_token_manager_reads(client: TestClient) -> None:
    token = cdn_token(client)
    assert set(token) == {"token", "token_type", "base_url", "expires_at"}
    assert token["token_type"] == "Bearer"
    assert token["base_url"] == "http://mock.test"  # where multipart uploads go
    expires = datetime.fromisoformat(token["expires_at"])
    assert expires.tzinfo is not None and expires > datetime.now(timezone.utc)
    denied = client.post("/storage/auth/token?storage_type=fal-cdn-v3", json={})
    assert denied.status_code == 401
    assert denied.json() == {"detail": "No user found for Key ID and Secret"}


def test_a_cdn_upload_is_served_back_byte_for_byte(client: TestClient) -> None:
    headers = {**bearer(cdn_token(client)), "Content-Type": "video/mp4", "X-Fal-File-Name": "my clip.mp4"}
    response = client.post("/files/upload", content=DATA, headers=headers)
    assert response.status_code == 200, response.text
    url = response.json()["access_url"]
    assert url.startswith("http://mock.test/files/") and url.endswith("/my_clip.mp4")
    download = client.get(url)  # no key needed, as on fal's CDN
    assert download.status_code == 200
    assert download.content == DATA
    assert download.headers["content-type"] == "video/mp4"
    assert client.head(url).headers["content-length"] == str(len(DATA))


def test_cdn_uploads_need_a_token_the_mock_issued(client: TestClient) -> None:
    assert client.post("/files/upload", content=DATA, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.post("/files/upload", content=DATA, headers=KEY).status_code == 401


def test_a_multipart_upload_joins_its_parts_in_order(client: TestClient) -> None:
    auth = bearer(cdn_token(client))
    started = client.post(
        "/files/upload/multipart", headers={**auth, "Content-Type": "application/zip", "X-Fal-File-Name": "big.zip"}
    )
    assert started.status_code == 200, started.text
    access_url, upload_id = started.json()["access_url"], started.json()["uploadId"]
    chunks = [DATA[:6000], DATA[6000:12000], DATA[12000:]]
    parts = []
    for number in (3, 1, 2):  # fal-client sends parts concurrently, in any order
        put = client.put(f"{access_url}/multipart/{upload_id}/{number}", content=chunks[number - 1], headers=auth)
        assert put.status_code == 200
        assert put.json() == {"partNumber": number, "etag": put.headers["etag"]}
        parts.append({"partNumber": number, "etag": put.headers["etag"]})
    assert client.get(access_url).status_code == 404  # not complete yet
    wrong = client.post(f"{access_url}/multipart/{upload_id}/complete", json={"parts": [{"partNumber": 1, "etag": '"x"'}]})
    assert wrong.status_code == 400
    done = client.post(f"{access_url}/multipart/{upload_id}/complete", json={"parts": parts}, headers=auth)
    assert done.status_code == 200
    download = client.get(access_url)
    assert download.content == DATA
    assert download.headers["content-type"] == "application/zip"


@pytest.mark.parametrize("storage_type", ["gcs", "fal-cdn-v3"])
def test_initiate_then_put_as_the_fallback_and_the_javascript_client_do(client: TestClient, storage_type: str) -> None:
    initiated = client.post(
        f"/storage/upload/initiate?storage_type={storage_type}",
        json={"file_name": "face.png", "content_type": "image/png"},
        headers=KEY,
    )
    assert initiated.status_code == 200, initiated.text
    urls = initiated.json()
    assert client.get(urls["file_url"]).status_code == 404
    assert client.put(urls["upload_url"], content=DATA, headers={"Content-Type": "image/png"}).status_code == 200
    download = client.get(urls["file_url"])
    assert (download.content, download.headers["content-type"]) == (DATA, "image/png")
    assert client.put(urls["upload_url"], content=b"again").status_code == 404  # one PUT per initiated upload
    assert client.post("/storage/upload/initiate", json={"file_name": "x"}).status_code == 401


def test_the_javascript_multipart_flow(client: TestClient) -> None:
    initiated = client.post(
        "/storage/upload/initiate-multipart?storage_type=fal-cdn-v3",
        json={"file_name": "long.mp4", "content_type": "video/mp4"},
        headers=KEY,
    ).json()
    parts = [client.put(f"{initiated['upload_url']}/{n}", content=DATA[(n - 1) * 8192 : n * 8192]).json() for n in (1, 2)]
    assert client.post(f"{initiated['upload_url']}/complete", json={"parts": parts}).status_code == 200
    assert client.get(initiated["file_url"]).content == DATA


def test_uploads_over_the_cap_are_refused() -> None:
    engine = Engine(Registry(plugins=[wan26_fal], entry_points=False), seed=1, frozen_clock=True, upload_cap_bytes=20_000)
    from wan26_mock import create_app

    with TestClient(create_app(engine=engine), base_url="http://mock.test") as client:
        auth = bearer(cdn_token(client))
        assert client.post("/files/upload", content=DATA, headers=auth).status_code == 200
        refused = client.post("/files/upload", content=DATA, headers=auth)
        assert refused.status_code == 413
        assert "20000" in refused.json()["detail"]
        assert client.post("/__wan26__/reset", json={}).status_code == 200
        assert engine.storage is not None and engine.storage.used_bytes() == 0
        assert client.post("/files/upload", content=DATA, headers=auth).status_code == 401  # tokens went too


def test_storage_requests_take_faults_and_are_journaled(client: TestClient) -> None:
    limited = client.post("/storage/auth/token", json={}, headers={**KEY, SCENARIO: "rate_limited:3"})
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    client.post("/files/upload", content=DATA, headers=bearer(cdn_token(client)))
    entries = client.get("/__wan26__/journal", params={"action": "upload"}).json()["entries"]
    assert len(entries) == 3
    assert CANARY not in json.dumps(entries)
    assert entries[-1]["body"] is None  # uploaded bytes are not journaled
    assert entries[-1]["response"]["access_url"].startswith("http://mock.test/files/")
