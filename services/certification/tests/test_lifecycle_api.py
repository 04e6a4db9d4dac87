"""The certification lifecycle through the API: decisions, transitions the clock brings about, and history."""

from __future__ import annotations

import asyncio
import calendar
import uuid
from datetime import date, datetime, timedelta

BASE = {"code": "MINKA-ASM", "version": "1.0"}


def plus_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_certify_needs_a_closed_audit(certification, flows, ok, example_standards, make_group):
    group = await make_group("Cooperativa Sin Auditoría", members=4, near_forest_members=1)
    _, path = await flows.open(group)

    await flows.refused(group, path, "certify")  # applied: no audit at all
    audit = await flows.new_audit(group, path)
    body = await flows.refused(group, path, "certify")  # the audit is still open
    assert "closed audit" in body["detail"]
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "audit_scheduled"
    await flows.record_results(group, audit)
    await flows.close(group, audit)
    assert (await flows.decide(group, path, "certify"))["status"] == "certified"


async def test_reinstate_while_certified_is_refused(certification, flows, ok, example_standards, make_group):
    group = await make_group("Cooperativa Reinstate", members=4, near_forest_members=1)
    _, path, _ = await flows.certify(group)

    body = await flows.refused(group, path, "reinstate")
    assert "certified" in body["detail"]
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "certified"


async def test_suspend_before_certification_is_refused(certification, flows, example_standards, make_group):
    group = await make_group("Cooperativa Solicitante", members=3, near_forest_members=1)
    _, path = await flows.open(group)

    body = await flows.refused(group, path, "suspend")
    assert "applied" in body["detail"]
    assert [e["to_status"] for e in await flows.history(group, path)] == ["applied"]


async def test_nothing_is_decided_after_a_withdrawal(certification, flows, problem, example_standards, make_group):
    group = await make_group("Cooperativa Retirada", members=4, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    withdrawn = await flows.decide(group, path, "withdraw", "fraud in the member list")
    assert withdrawn["status"] == "withdrawn"

    for decision in ("certify", "suspend", "reinstate", "withdraw"):
        await flows.refused(group, path, decision)
    problem(await certification.post(f"{path}/audits", json={"kind": "recertification"}, headers=group.certifier), 409)
    problem(await certification.post(f"{path}/findings", json={"indicator": "P1.1.1", "severity": "minor"},
                                     headers=group.certifier), 409)
    problem(await certification.patch(path, json={"risk_factor": 3}, headers=group.certifier), 409)
    events = await flows.history(group, path)
    assert [e["to_status"] for e in events] == ["applied", "audit_scheduled", "certified", "withdrawn"]
    assert events[-1]["reason"] == "fraud in the member list"


async def test_a_manual_suspension_and_reinstatement_are_recorded_with_actor_and_reason(
    certification, flows, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Historia", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)
    clock.advance(days=3)
    suspended = await flows.decide(group, path, "suspend", "refused access to the processing plant")
    assert (suspended["status"], suspended["tier"]) == ("suspended", "good")
    clock.advance(days=5)
    reinstated = await flows.decide(group, path, "reinstate", "access granted, plant inspected")
    assert (reinstated["status"], reinstated["certificate_number"]) == ("certified", certified["certificate_number"])

    events = await flows.history(group, path)
    certifier = events[0]["actor"]
    assert certifier and certifier != "system"
    assert [(e["from_status"], e["to_status"], e["actor"], e["reason"]) for e in events[-2:]] == [
        ("certified", "suspended", certifier, "refused access to the processing plant"),
        ("suspended", "certified", certifier, "access granted, plant inspected"),
    ]
    assert timedelta(days=5) <= at(events[-1]["at"]) - at(events[-2]["at"]) < timedelta(days=5, minutes=1)
    assert at(events[-2]["at"]) == at(suspended["status_since"])


async def test_a_critical_finding_suspends_at_once(certification, flows, ok, example_standards, make_group):
    group = await make_group("Cooperativa Crítica", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)

    finding = ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P3.1.2", "severity": "critical", "description": "a 15-year-old found working underground"}), 201)
    assert finding["due_on"] == date.fromisoformat(finding["opened_at"][:10]).isoformat()
    now = ok(await certification.get(path, headers=group.manager))
    assert now["status"] == "suspended"
    last = (await flows.history(group, path))[-1]
    assert (last["to_status"], last["actor"]) == ("suspended", "system")
    assert "critical" in last["reason"] and "P3.1.2" in last["reason"]
    public = ok(await certification.get(f"/v1/certificates/{certified['certificate_number']}"))
    assert public["status"] == "suspended"


async def test_reinstatement_waits_for_an_overdue_major_finding_to_be_closed(
    certification, flows, ok, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Mercurio", members=4, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    major = ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P4.1.1", "severity": "major", "description": "open burning of amalgam"}), 201)
    clock.advance(days=91)
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "suspended"

    body = await flows.refused(group, path, "reinstate")
    assert "P4.1.1" in body["detail"]
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "suspended"
    closed = ok(await certification.post(f"{path}/findings/{major['id']}/close", headers=group.certifier,
                                         json={"note": "retorts in use, verified on site"}))
    assert closed["status"] == "closed"
    assert (await flows.decide(group, path, "reinstate", "corrective action verified"))["status"] == "certified"


async def test_a_suspension_not_lifted_within_six_months_becomes_a_withdrawal(
    certification, flows, ok, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Seis Meses", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)
    suspended = await flows.decide(group, path, "suspend", "no access for the surveillance audit")
    since = at(suspended["status_since"])
    limit = datetime.combine(plus_months(since.date(), 6), since.timetz())

    clock.advance(days=(plus_months(since.date(), 6) - since.date()).days - 1)
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "suspended"
    clock.advance(days=2)  # six months and a day after the suspension
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "withdrawn"

    last = (await flows.history(group, path))[-1]
    assert (last["from_status"], last["to_status"], last["actor"]) == ("suspended", "withdrawn", "system")
    assert at(last["at"]) == limit
    assert "6 months" in last["reason"]
    public = ok(await certification.get(f"/v1/certificates/{certified['certificate_number']}"))
    assert public["status"] == "withdrawn"


async def test_a_certificate_expires_by_itself_after_three_years(
    certification, flows, ok, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Tres Años", members=4, near_forest_members=1)
    certified, path, _ = await flows.certify(group)
    issued_on = date.fromisoformat(certified["first_certified_on"])
    valid_to = date.fromisoformat(certified["certificate_valid_to"])
    assert valid_to == plus_months(issued_on, 36) - timedelta(days=1)

    clock.advance(days=(valid_to - issued_on).days)
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "certified"
    clock.advance(days=2)
    expired = ok(await certification.get(path, headers=group.certifier))
    assert expired["status"] == "expired"
    public = ok(await certification.get(f"/v1/certificates/{certified['certificate_number']}"))
    assert public["status"] == "expired"
    last = (await flows.history(group, path))[-1]
    assert (last["to_status"], last["actor"]) == ("expired", "system")
    assert at(last["at"]).date() == valid_to + timedelta(days=1)
    after = await flows.status(cooperative_id=group.cooperative["id"])
    assert after["covered"] is False


async def test_the_status_on_a_past_date_answers_from_history(
    certification, flows, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Pasado", members=4, near_forest_members=1)
    cooperative_id, member = group.cooperative["id"], group.members[0]["id"]
    certified, path, _ = await flows.certify(group)
    certified_on = date.fromisoformat(certified["first_certified_on"])
    clock.advance(days=10)
    await flows.decide(group, path, "suspend", "surveillance audit refused")

    today = await flows.status(cooperative_id=cooperative_id, member_id=member)
    assert (today["covered"], today["certification_status"]) == (False, "suspended")
    then = await flows.status(cooperative_id=cooperative_id, member_id=member,
                              on=(certified_on + timedelta(days=5)).isoformat())
    assert (then["covered"], then["tier"], then["certificate_number"]) == (True, "good", certified["certificate_number"])
    assert then["certification_status"] == "certified" and then["forest_smart"] is True
    before = await flows.status(cooperative_id=cooperative_id, on=(certified_on - timedelta(days=1)).isoformat())
    assert before["covered"] is False and before["certificate_number"] is None


async def test_the_status_of_a_future_date_is_refused(certification, problem, clock):
    tomorrow = (clock().date() + timedelta(days=1)).isoformat()

    body = problem(await certification.get("/v1/status", params={"cooperative_id": str(uuid.uuid4()), "on": tomorrow}),
                   422)
    assert [e["field"] for e in body["errors"]] == ["on"]
    problem(await certification.get("/v1/status", params={"cooperative_id": "not-a-uuid"}), 422)
    problem(await certification.get("/v1/status", params={"cooperative_id": str(uuid.uuid4()), "on": "31/12/2024"}),
            422)
    problem(await certification.get("/v1/status"), 422)


async def test_a_second_running_certification_of_the_same_standard_is_refused(
    certification, flows, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Doble", members=3, near_forest_members=1)
    await flows.open(group)

    problem(await certification.post("/v1/certifications", json=group.certification_body(), headers=group.certifier),
            409)
    without_bolt_on = group.certification_body(bolt_ons=[])
    problem(await certification.post("/v1/certifications", json=without_bolt_on, headers=group.certifier), 409)


async def test_a_new_certification_may_be_opened_once_the_last_one_is_withdrawn(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Segunda Vez", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    await flows.decide(group, path, "withdraw", "application abandoned")

    again = ok(await certification.post("/v1/certifications", json=group.certification_body(),
                                        headers=group.certifier), 201)
    assert again["status"] == "applied"


async def test_opening_lists_every_problem_of_the_request(
    certification, ok, problem, admin_headers, example_standards, make_group
):
    group = await make_group("Cooperativa Errores", members=1, near_forest_members=1)
    other_base = {"code": f"OTHER-{uuid.uuid4().hex[:8].upper()}", "version": "1.0"}
    foreign_bolt_on = {"code": f"{other_base['code']}-FS", "version": "1.0"}
    for document in (
        {**other_base, "kind": "base", "title": "Another base", "principles": [{"code": "O1", "title": "o", "criteria": [
            {"code": "O1.1", "title": "o", "indicators": [
                {"code": "O1.1.1", "text": "o", "level": "foundational", "scope": "group"}]}]}]},
        {**foreign_bolt_on, "kind": "bolt_on", "base": other_base, "title": "Its bolt-on", "principles": [
            {"code": "X1", "title": "x", "criteria": [{"code": "X1.1", "title": "x", "indicators": [
                {"code": "X1.1.1", "text": "x", "level": "foundational", "scope": "group"}]}]}]},
    ):
        ok(await certification.post("/v1/standards", json=document, headers=admin_headers), 201)

    unknown = group.certification_body(standard={"code": "NO-SUCH-STANDARD", "version": "1.0"},
                                       bolt_ons=[foreign_bolt_on], cooperative_id=group.body["id"])
    body = problem(await certification.post("/v1/certifications", json=unknown, headers=group.certifier), 422)
    assert {e["field"] for e in body["errors"]} == {"standard", "bolt_ons[0]", "cooperative_id"}

    mismatched = group.certification_body(bolt_ons=[foreign_bolt_on, BASE], cooperative_id=str(uuid.uuid4()))
    body = problem(await certification.post("/v1/certifications", json=mismatched, headers=group.certifier), 422)
    assert {e["field"] for e in body["errors"]} == {"bolt_ons[0]", "bolt_ons[1]", "cooperative_id"}
    reasons = {e["field"]: e["reason"] for e in body["errors"]}
    assert other_base["code"] in reasons["bolt_ons[0]"] and "not a bolt-on" in reasons["bolt_ons[1]"]
    listed = ok(await certification.get("/v1/certifications", params={"cooperative_id": group.cooperative["id"]},
                                        headers=group.certifier))
    assert listed["items"] == []


async def test_wrongly_typed_requests_are_refused_with_422(
    certification, flows, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Tipos", members=1, near_forest_members=1)
    _, path = await flows.open(group)
    bad_bodies = [
        {**group.certification_body(), "standard": "MINKA-ASM"},
        {**group.certification_body(), "cooperative_id": "twelve"},
        {**group.certification_body(), "risk_factor": 5},
        {**group.certification_body(), "bolt_ons": {"code": "FOREST-SMART"}},
    ]
    for body in bad_bodies:
        problem(await certification.post("/v1/certifications", json=body, headers=group.certifier), 422)
    problem(await certification.post(f"{path}/decision", json={"decision": "pause"}, headers=group.certifier), 422)
    problem(await certification.post(f"{path}/decision", content=b"{", headers={
        **group.certifier, "Content-Type": "application/json"}), 422)
    problem(await certification.patch(path, json={"risk_factor": 0}, headers=group.certifier), 422)
    problem(await certification.get("/v1/certifications/not-a-uuid", headers=group.certifier), 422)
    problem(await certification.get(f"/v1/certifications/{uuid.uuid4()}", headers=group.certifier), 404)


async def test_a_finding_deadline_out_of_range_is_refused_and_the_certification_stays_readable(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Plazo", members=3, near_forest_members=1)
    _, path, _ = await flows.certify(group)

    for due_on in ("9999-12-31", "2000-01-01"):
        body = problem(await certification.post(f"{path}/findings", headers=group.certifier, json={
            "indicator": "P4.1.1", "severity": "major", "due_on": due_on}), 422)
        assert [e["field"] for e in body["errors"]] == ["due_on"]
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "certified"
    assert ok(await certification.get(f"{path}/findings", params={"open": "true"}, headers=group.certifier))
    problem(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "NOPE", "severity": "major"}), 422)


async def test_a_finding_is_closed_only_once(certification, flows, ok, problem, example_standards, make_group):
    group = await make_group("Cooperativa Cierre Hallazgo", members=3, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    finding = ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P2.2.2", "severity": "minor"}), 201)

    ok(await certification.post(f"{path}/findings/{finding['id']}/close", headers=group.certifier))
    problem(await certification.post(f"{path}/findings/{finding['id']}/close", headers=group.certifier), 409)
    problem(await certification.post(f"{path}/findings/{uuid.uuid4()}/close", headers=group.certifier), 404)
    closed = ok(await certification.get(f"{path}/findings", params={"open": "false"}, headers=group.certifier))
    assert [f["id"] for f in closed] == [finding["id"]]


async def test_text_the_database_cannot_store_is_refused(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Texto", members=3, near_forest_members=1)
    certified, path, _ = await flows.certify(group)

    problem(await certification.post(f"{path}/decision", json={"decision": "suspend", "reason": "bad\x00reason"},
                                     headers=group.certifier), 422)
    problem(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P2.2.2", "severity": "minor", "description": "helmets\x00"}), 422)
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "certified"
    problem(await certification.get("/v1/certificates/MNK%00X"), 422)
    problem(await certification.get(f"/v1/certificates/{certified['certificate_number']}%20OR%201=1"), 422)
    problem(await certification.get("/v1/certificates/MNK-2026-00000000"), 404)


async def test_certify_is_refused_while_an_overdue_major_finding_is_open(
    certification, flows, ok, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Atrasada", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    closed = await flows.audit_and_close(group, path)
    assert closed["tier"] == "good"
    major = ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P4.1.1", "severity": "major", "description": "open burning of amalgam"}), 201)
    clock.advance(days=91)

    body = await flows.refused(group, path, "certify")
    assert "P4.1.1" in body["detail"]
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "audit_scheduled"
    ok(await certification.post(f"{path}/findings/{major['id']}/close", headers=group.certifier))
    assert (await flows.decide(group, path, "certify"))["status"] == "certified"
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "certified"


async def test_certify_is_refused_while_a_critical_finding_is_open(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Trabajo Infantil", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    await flows.audit_and_close(group, path)
    critical = ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P3.1.2", "severity": "critical"}), 201)

    assert "P3.1.2" in (await flows.refused(group, path, "certify"))["detail"]
    ok(await certification.post(f"{path}/findings/{critical['id']}/close", headers=group.certifier))
    assert (await flows.decide(group, path, "certify"))["status"] == "certified"


async def test_simultaneous_openings_leave_exactly_one_running_certification(
    certification, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Simultánea", members=2, near_forest_members=1)
    responses = await asyncio.gather(*(
        certification.post("/v1/certifications", json=group.certification_body(), headers=group.certifier)
        for _ in range(6)
    ))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [r.text for r in responses]
    listed = ok(await certification.get("/v1/certifications", params={"cooperative_id": group.cooperative["id"]},
                                        headers=group.certifier))
    assert len(listed["items"]) == 1
