"""The standards catalogue through the API: publishing, validation (every problem at once), reading, access."""

from __future__ import annotations

import copy
import functools
import json
import uuid

import httpx
import pytest


@pytest.fixture
def problem(problem):
    """Every refusal here must also be a whole problem body: its status, title and type."""
    return functools.partial(problem, complete=True)


def fields(body: dict) -> list[str]:
    return [error["field"] for error in body.get("errors") or []]


def unique_code(prefix: str = "STD") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def indicator(code: str, level: str = "foundational", scope: str = "group", **extra) -> dict:
    return {"code": code, "text": f"Indicator {code}", "level": level, "scope": scope, **extra}


def standard(code: str, version: str = "1.0", **extra) -> dict:
    """A small, well-formed base standard: one principle, two criteria, three indicators."""
    return {
        "code": code, "version": version, "kind": "base", "title": f"Standard {code}",
        "principles": [{"code": "P1", "title": "Legality", "criteria": [
            {"code": "P1.1", "title": "Registration", "indicators": [
                indicator("P1.1.1"), indicator("P1.1.2", "good", "site"), indicator("P1.1.3", "leading", "member")]},
            {"code": "P1.2", "title": "Records", "indicators": [indicator("P1.2.1", due_year=1)]},
        ]}],
        **extra,
    }


def bolt_on(code: str, base: dict, indicator_code: str = "B1.1.1") -> dict:
    return {
        "code": code, "version": "1.0", "kind": "bolt_on", "title": f"Bolt-on {code}", "base": base,
        "principles": [{"code": "B1", "title": "Forest", "criteria": [
            {"code": "B1.1", "title": "No deforestation", "indicators": [
                indicator(indicator_code, applies_if={"forest_distance_km_lte": 5})]}]}],
    }


async def publish(certification, admin_headers, document: dict) -> httpx.Response:
    return await certification.post("/v1/standards", json=document, headers=admin_headers)


async def test_a_well_formed_base_standard_is_published_and_returned(certification, ok, admin_headers):
    code = unique_code()
    created = ok(await publish(certification, admin_headers, standard(code)), 201)
    assert (created["code"], created["version"], created["kind"], created["base"]) == (code, "1.0", "base", None)
    assert created["indicator_count"] == 4
    assert created["document"]["principles"][0]["criteria"][1]["indicators"][0]["due_year"] == 1


async def test_a_malformed_document_lists_every_problem_at_once(certification, problem, admin_headers):
    document = standard(unique_code(), claim_rule={"level": "good", "min_share": 0.8, "floor": "good"})
    indicators = document["principles"][0]["criteria"][0]["indicators"]
    indicators[1]["due_year"] = 3  # a progress requirement on a good indicator
    indicators[2]["applies_if"] = {"mercury_used": 1}  # not a condition the service knows
    document["principles"][0]["criteria"][1]["indicators"].append(indicator("P1.1.1"))  # a code used twice

    body = problem(await publish(certification, admin_headers, document), 422)
    assert set(fields(body)) == {
        "principles",
        "principles[0].criteria[0].indicators[1].due_year",
        "principles[0].criteria[0].indicators[2].applies_if.mercury_used",
        "claim_rule.floor",
    }
    duplicate = next(e for e in body["errors"] if e["field"] == "principles")
    assert "P1.1.1" in duplicate["reason"]
    assert all(error["reason"] for error in body["errors"])
    missing = await certification.get(f"/v1/standards/{document['code']}/1.0", headers=admin_headers)
    assert missing.status_code == 404


async def test_an_unknown_level_is_refused_with_the_field_path(certification, problem, admin_headers):
    document = standard(unique_code())
    document["principles"][0]["criteria"][0]["indicators"][1]["level"] = "excellent"

    body = problem(await publish(certification, admin_headers, document), 422)
    assert "principles.0.criteria.0.indicators.1.level" in fields(body)


async def test_a_bolt_on_naming_an_unpublished_base_is_refused_on_base(certification, problem, admin_headers):
    document = bolt_on(unique_code("BOLT"), {"code": unique_code(), "version": "1.0"})

    body = problem(await publish(certification, admin_headers, document), 422)
    assert fields(body) == ["base"]
    assert "not in the catalogue" in body["errors"][0]["reason"]


async def test_a_bolt_on_may_not_reuse_an_indicator_code_of_its_base(certification, ok, problem, admin_headers):
    base = ok(await publish(certification, admin_headers, standard(unique_code())), 201)
    ref = {"code": base["code"], "version": base["version"]}

    body = problem(await publish(certification, admin_headers, bolt_on(unique_code("BOLT"), ref, "P1.1.2")), 422)
    assert fields(body) == ["principles"]
    assert "P1.1.2" in body["errors"][0]["reason"]
    published = ok(await publish(certification, admin_headers, bolt_on(unique_code("BOLT"), ref, "B1.1.1")), 201)
    assert (published["kind"], published["base"]) == ("bolt_on", ref)


async def test_a_published_version_cannot_be_published_again_even_changed(certification, ok, problem, admin_headers):
    document = standard(unique_code())
    first = ok(await publish(certification, admin_headers, document), 201)

    assert (await publish(certification, admin_headers, document)).status_code == 409
    changed = copy.deepcopy(document)
    changed["title"] = "Quietly rewritten"
    changed["principles"][0]["criteria"][0]["indicators"][0]["level"] = "leading"
    problem(await publish(certification, admin_headers, changed), 409)

    stored = ok(await certification.get(f"/v1/standards/{document['code']}/1.0", headers=admin_headers))
    assert stored["document"] == first["document"]
    assert stored["title"] == document["title"]
    assert stored["document"]["principles"][0]["criteria"][0]["indicators"][0]["level"] == "foundational"


async def test_a_new_version_of_a_published_standard_is_accepted(certification, ok, admin_headers):
    code = unique_code()
    ok(await publish(certification, admin_headers, standard(code, "1.0")), 201)
    second = standard(code, "2.0", title="Second edition")
    second["principles"][0]["criteria"][0]["indicators"].append(indicator("P1.1.4", "good"))

    created = ok(await publish(certification, admin_headers, second), 201)
    assert (created["version"], created["title"], created["indicator_count"]) == ("2.0", "Second edition", 5)
    assert ok(await certification.get(f"/v1/standards/{code}/1.0", headers=admin_headers))["indicator_count"] == 4


async def test_the_catalogue_lists_published_versions_and_returns_one(
    certification, ok, problem, admin_headers, actors
):
    code = unique_code()
    for version in ("1.0", "1.1"):
        ok(await publish(certification, admin_headers, standard(code, version)), 201)
    buyer = await actors.headers("buyer", (await actors.organization("buyer", "Catalogue reader"))["id"])

    listed = ok(await certification.get("/v1/standards", params={"code": code}, headers=buyer))
    assert [(s["code"], s["version"]) for s in listed["items"]] == [(code, "1.0"), (code, "1.1")]
    assert listed["next_cursor"] is None
    assert all("document" not in s and s["indicator_count"] == 4 for s in listed["items"])
    first_page = ok(await certification.get("/v1/standards", params={"code": code, "limit": 1}, headers=buyer))
    assert len(first_page["items"]) == 1 and first_page["next_cursor"]

    one = ok(await certification.get(f"/v1/standards/{code}/1.1", headers=buyer))
    assert (one["code"], one["version"], one["kind"]) == (code, "1.1", "base")
    assert one["document"]["principles"][0]["code"] == "P1"
    problem(await certification.get(f"/v1/standards/{code}/9.9", headers=buyer), 404)


async def test_only_an_admin_publishes_standards(certification, problem, actors, admin_headers):
    body = await actors.organization("certification_body", "Would-be standard setter")
    for headers in (await actors.headers("certifier", body["id"]), await actors.headers("authority")):
        problem(await certification.post("/v1/standards", json=standard(unique_code()), headers=headers), 403)


async def test_junk_and_wrongly_typed_documents_are_refused_with_422(certification, problem, admin_headers):
    json_headers = {**admin_headers, "Content-Type": "application/json"}
    for raw in (b"{not json", b"", b"null", b"[]", b'"a string"', b"\xff\xfe"):
        problem(await certification.post("/v1/standards", content=raw, headers=json_headers), 422)

    wrong = [
        {**standard(unique_code()), "principles": "all of them"},
        {**standard(unique_code()), "code": 12},
        {**standard(unique_code()), "kind": "add_on"},
        {**standard(unique_code()), "code": "has spaces and / slashes"},
        {**standard(unique_code()), "claim_rule": {"level": "good", "min_share": "most", "floor": "foundational"}},
        {**standard(unique_code()), "unexpected": True},
        {**standard(unique_code()), "base": "MINKA-ASM"},
        {**standard(unique_code()), "principles": []},
    ]
    applies_if = standard(unique_code())
    applies_if["principles"][0]["criteria"][0]["indicators"][0]["applies_if"] = {"forest_distance_km_lte": "near"}
    due_year = standard(unique_code())
    due_year["principles"][0]["criteria"][0]["indicators"][0]["due_year"] = -1
    for document in [*wrong, applies_if, due_year]:
        body = problem(await publish(certification, admin_headers, document), 422)
        assert body["errors"], document


async def test_a_threshold_that_is_not_a_finite_number_is_refused(certification, problem, admin_headers):
    """Python's JSON parser reads NaN and Infinity; PostgreSQL's JSON type cannot store them."""
    json_headers = {**admin_headers, "Content-Type": "application/json"}
    for literal in ("NaN", "Infinity", "-Infinity"):
        document = json.dumps(standard(unique_code())).replace('"level": "foundational", "scope": "group"}',
                                                               f'"level": "foundational", "scope": "group", '
                                                               f'"applies_if": {{"forest_distance_km_lte": {literal}}}}}', 1)
        assert literal in document
        body = problem(await certification.post("/v1/standards", content=document, headers=json_headers), 422)
        assert fields(body) == ["principles.0.criteria.0.indicators.0.applies_if.forest_distance_km_lte"]


async def test_reading_the_catalogue_needs_a_token(certification, problem):
    problem(await certification.get("/v1/standards"), 401)
    problem(await certification.get("/v1/standards", headers={"Authorization": "Bearer not-a-jwt"}), 401)
    problem(await certification.get("/v1/standards/MINKA-ASM/1.0"), 401)


async def test_text_the_database_cannot_store_is_refused(certification, ok, problem, admin_headers):
    """PostgreSQL cannot store NUL in text; a control character is never part of a title or an indicator."""
    title = standard(unique_code(), title="Standard\x00")
    text = standard(unique_code())
    text["principles"][0]["criteria"][0]["indicators"][0]["text"] = "Indicator\x07 P1.1.1"
    principle = standard(unique_code())
    principle["principles"][0]["title"] = "Lega\x00lity"
    claims = standard(unique_code(), claims=["forest\x00smart"])
    for document, field in ((title, "title"), (text, "principles.0.criteria.0.indicators.0.text"),
                            (principle, "principles.0.title"), (claims, "claims.0")):
        body = problem(await publish(certification, admin_headers, document), 422)
        assert fields(body) == [field]
    multiline = standard(unique_code(), description="Line one.\n\tLine two.")
    assert ok(await publish(certification, admin_headers, multiline), 201)["document"]["description"].count("\n") == 1


async def test_looking_up_a_malformed_code_is_refused_not_a_server_error(certification, problem, admin_headers):
    problem(await certification.get("/v1/standards/A%00B/1.0", headers=admin_headers), 422)
    problem(await certification.get("/v1/standards/MINKA-ASM/1.0%00", headers=admin_headers), 422)
    problem(await certification.get("/v1/standards", params={"code": "A\x00B"}, headers=admin_headers), 422)
    problem(await certification.get("/v1/standards", params={"cursor": "not a cursor"}, headers=admin_headers), 422)
