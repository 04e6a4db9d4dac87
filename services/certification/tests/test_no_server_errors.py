"""Malformed input never gets a 500: every write of the certification API is sent junk, as admin and anonymously."""

from __future__ import annotations

import uuid

import pytest

JUNK_BODIES = [
    b"",
    b"not json",
    b"{",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"12",
    b'{"kind": 5, "standard": [], "indicator": {"x": 1}, "severity": "fatal", "member_id": "not-a-uuid"}',
    b'[{"indicator": null, "outcome": "maybe"}, 3, "x"]',
    b'{"code": "' + b"A" * 10_000 + b'", "version": "1", "kind": "base", "title": "t", "principles": []}',
    b'{"decision": "certify", "reason": "' + b"\xff\xfe" + b'"}',
]


@pytest.fixture(scope="module")
async def write_paths(certification) -> list[tuple[str, str]]:
    spec = (await certification.get("/openapi.json")).json()
    return [(method.upper(), path) for path, operations in spec["paths"].items()
            for method in operations if method in ("post", "patch")]


def concrete(path: str) -> str:
    return path.replace("{code}", "X").replace("{version}", "1").replace("{number}", "N") \
        .replace("{certification_id}", str(uuid.uuid4())).replace("{audit_id}", str(uuid.uuid4())) \
        .replace("{finding_id}", str(uuid.uuid4()))


async def test_junk_bodies_get_4xx_problems(certification, admin_headers, write_paths):
    assert len(write_paths) >= 8
    for method, path in write_paths:
        for body in JUNK_BODIES:
            for headers in ({**admin_headers, "Content-Type": "application/json"}, {"Content-Type": "application/json"}):
                response = await certification.request(method, concrete(path), content=body, headers=headers)
                assert 400 <= response.status_code < 500, (method, path, body[:60], response.status_code, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("query", [
    {"cooperative_id": "nope"},
    {"cooperative_id": str(uuid.uuid4()), "on": "2026-02-30"},
    {"cooperative_id": str(uuid.uuid4()), "member_id": "1"},
    {},
])
async def test_junk_status_queries_get_422(certification, query):
    response = await certification.get("/v1/status", params=query)
    assert response.status_code == 422, response.text
