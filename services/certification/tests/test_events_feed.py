"""Certification's event feed: every change of a certificate is one event, whether a certifier decided it or the
clock brought it about (on read or by the periodic job); seen by the cooperative and the certification body only."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

from event_support import before, events, feed

from minka_certification.app import TIME_RULES
from minka_certification.certifications.lifecycle import CertificationStatus
from minka_certification.certifications.service import history
from minka_certification.events import certificate_event_type
from minka_common.ids import today


def of(certification_id: str, seen: list[dict]) -> list[dict]:
    return [event for event in seen if event["subject"] == f"certification:{certification_id}"]


async def test_issuing_a_certificate_is_an_event_for_its_cooperative_and_body(
    certification, flows, example_standards, make_group, actors, admin_headers
):
    group = await make_group("Cooperativa Eventos", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)

    [issued] = await events(certification, group.certifier)
    assert (issued["type"], issued["subject"]) == ("certificate.issued", f"certification:{certified['id']}")
    assert issued["data"] == {
        "certification_id": certified["id"], "cooperative_id": group.cooperative["id"],
        "certification_body_id": group.body["id"], "certificate_number": certified["certificate_number"],
        "tier": certified["tier"], "standard": {"code": "MINKA-ASM", "version": "1.0"},
        "effective_on": certified["first_certified_on"], "reason": issued["data"]["reason"],
        "valid_from": certified["first_certified_on"], "valid_to": certified["certificate_valid_to"],
    }
    assert await events(certification, group.manager) == [issued]
    assert issued["id"] in {e["id"] for e in await events(certification, admin_headers, after=before(issued))}

    other_body = await actors.organization("certification_body", "Otros Certificadores")
    _, other_manager = await actors.cooperative_manager("Cooperativa Ajena")
    buyer = await actors.organization("buyer", "Comprador Eventos")
    for headers in (await actors.headers("certifier", other_body["id"]), other_manager,
                    await actors.headers("buyer", buyer["id"])):
        assert issued["id"] not in {e["id"] for e in await events(certification, headers, after=before(issued))}


async def test_each_decision_is_one_event_and_a_refused_one_none_and_the_feed_pages(
    certification, flows, example_standards, make_group
):
    group = await make_group("Cooperativa Decisiones", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)
    await flows.decide(group, path, "suspend", "no access for the surveillance audit")
    await flows.refused(group, path, "suspend")
    await flows.decide(group, path, "reinstate", "access granted")
    await flows.refused(group, path, "reinstate")
    await flows.decide(group, path, "withdraw", "fraud in the member list")
    await flows.refused(group, path, "certify")

    seen = await events(certification, group.manager)
    assert [e["type"] for e in seen] == ["certificate.issued", "certificate.suspended", "certificate.reinstated",
                                         "certificate.withdrawn"]
    assert [e["data"]["reason"] for e in seen[1:]] == ["no access for the surveillance audit", "access granted",
                                                       "fraud in the member list"]
    assert {e["data"]["certificate_number"] for e in seen} == {certified["certificate_number"]}
    assert all(e["data"]["effective_on"] == today().isoformat() for e in seen)

    first = await feed(certification, group.certifier, limit=1)
    assert first["items"] == seen[:1] and first["has_more"]
    rest = await feed(certification, group.certifier, after=first["next_cursor"])
    assert rest["items"] == seen[1:] and not rest["has_more"]
    assert await feed(certification, group.certifier, after=rest["next_cursor"]) == {
        "items": [], "next_cursor": rest["next_cursor"], "has_more": False}
    only = await feed(certification, group.certifier, type=["certificate.suspended", "certificate.withdrawn"])
    assert [e["type"] for e in only["items"]] == ["certificate.suspended", "certificate.withdrawn"]


async def test_bad_cursors_and_unknown_types_are_problems(certification, admin_headers):
    for params in ({"after": "x1"}, {"after": "1.5"}, {"type": "certificate.renamed"}):
        response = await certification.get("/v1/events", params=params, headers=admin_headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_application_withdrawn_before_any_certificate_has_no_event(
    certification, flows, example_standards, make_group
):
    group = await make_group("Cooperativa Sin Certificado", members=4, near_forest_members=1)
    _, path = await flows.open(group)
    await flows.new_audit(group, path)
    await flows.decide(group, path, "withdraw", "the group gave up")
    assert await events(certification, group.certifier) == []


async def test_the_clock_suspends_and_withdraws_with_one_event_each_by_the_periodic_job_or_on_read(
    certification, flows, ok, certification_app, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Reloj", members=4, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    ok(await certification.post(f"{path}/findings", headers=group.certifier,
                                json={"indicator": "P4.1.1", "severity": "major"}), 201)
    clock.advance(days=91)
    await TIME_RULES.job(certification_app)  # nobody reads it: the periodic job applies the deadline
    await TIME_RULES.job(certification_app)
    for _ in range(2):  # and the reads that follow find nothing more due
        assert ok(await certification.get(path, headers=group.manager))["status"] == "suspended"
    clock.advance(days=200)
    for _ in range(2):  # applied on the first read
        assert ok(await certification.get(path, headers=group.certifier))["status"] == "withdrawn"
    await TIME_RULES.job(certification_app)

    issued, suspended, withdrawn = await events(certification, group.certifier)
    assert (suspended["type"], withdrawn["type"]) == ("certificate.suspended", "certificate.withdrawn")
    assert "P4.1.1" in suspended["data"]["reason"] and "6 months" in withdrawn["data"]["reason"]
    due_on = date.fromisoformat(issued["data"]["effective_on"]) + timedelta(days=90)
    assert suspended["data"]["effective_on"] == (due_on + timedelta(days=1)).isoformat()
    assert suspended["occurred_at"].startswith(suspended["data"]["effective_on"])


async def test_every_recorded_transition_of_a_certificate_has_exactly_one_event(
    certification, flows, ok, certification_app, example_standards, make_group, clock
):
    """The feed and the certification's history agree, through a renewal, a critical finding applied on read,
    its reinstatement and an expiry."""
    group = await make_group("Cooperativa Historia", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)
    renewal = await flows.new_audit(group, path, kind="recertification")
    await flows.record_results(group, renewal)
    await flows.close(group, renewal)
    renewed = await flows.decide(group, path, "certify")
    assert renewed["certificate_number"] != certified["certificate_number"]
    critical = ok(await certification.post(f"{path}/findings", headers=group.certifier,
                                           json={"indicator": "P3.1.2", "severity": "critical"}), 201)
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "suspended"
    ok(await certification.post(f"{path}/findings/{critical['id']}/close", headers=group.certifier,
                                json={"note": "verified"}))
    await flows.decide(group, path, "reinstate")
    clock.advance(days=3 * 366)
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "expired"

    async with certification_app.state.database.session() as session:
        transitions = await history(session, uuid.UUID(certified["id"]))
    expected = []
    for previous, entry in itertools.pairwise(transitions):
        event_type = certificate_event_type(CertificationStatus(previous.to_status), CertificationStatus(entry.to_status),
                                            entry.certificate_id != previous.certificate_id)
        if event_type:
            expected.append(event_type)
    seen = of(certified["id"], await events(certification, group.certifier))
    assert [e["type"] for e in seen] == expected == [
        "certificate.issued", "certificate.issued", "certificate.suspended", "certificate.reinstated",
        "certificate.expired"]
    assert [e["data"]["certificate_number"] for e in seen[1:]] == [renewed["certificate_number"]] * 4
