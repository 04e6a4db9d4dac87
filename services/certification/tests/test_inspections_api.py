"""Internal inspections by the cooperative, their sanctions, and what they mean for a member's coverage."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx


async def inspect(certification, group, path: str, **body) -> httpx.Response:
    return await certification.post(f"{path}/inspections", json=body, headers=group.manager)


async def status(flows, group, member: str, on=None) -> dict:
    params = {"cooperative_id": group.cooperative["id"], "member_id": member}
    if on is not None:
        params["on"] = on.isoformat()
    return await flows.status(**params)


async def test_a_manager_records_an_inspection_with_member_and_site_results(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Inspección", members=4, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    member, site = group.members[0]["id"], group.near_site["id"]
    results = [
        {"indicator": "P2.2.1", "outcome": "met", "note": "helmet and boots"},
        {"indicator": "P3.1.2", "outcome": "met"},
        {"indicator": "P4.1.1", "outcome": "not_met", "site_id": site, "note": "no retort on site"},
        {"indicator": "FS1.1.1", "outcome": "met", "site_id": site},
    ]

    recorded = ok(await inspect(certification, group, path, member_id=member, results=results,
                                sanction="warning", note="first yearly round"), 201)
    assert (recorded["member_id"], recorded["sanction"], recorded["lifts_sanction"]) == (member, "warning", False)
    assert [(r["indicator"], r["outcome"], r["site_id"]) for r in recorded["results"]] == [
        ("P2.2.1", "met", None), ("P3.1.2", "met", None), ("P4.1.1", "not_met", site), ("FS1.1.1", "met", site)]
    listed = ok(await certification.get(f"{path}/inspections", params={"member_id": member}, headers=group.certifier))
    assert [i["id"] for i in listed] == [recorded["id"]]
    assert (await status(flows, group, member))["covered"] is True  # a warning keeps the member in


async def test_an_inspection_result_on_a_group_indicator_is_refused(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Grupo", members=2, near_forest_members=1)
    _, path, _ = await flows.certify(group)

    body = problem(await inspect(certification, group, path, member_id=group.members[0]["id"], results=[
        {"indicator": "P2.2.1", "outcome": "met"},
        {"indicator": "P1.1.1", "outcome": "met"},
    ]), 422)
    assert [e["field"] for e in body["errors"]] == ["results[1].indicator"]
    assert ok(await certification.get(f"{path}/inspections", headers=group.manager)) == []


async def test_an_inspection_lists_every_bad_result(certification, flows, problem, example_standards, make_group):
    group = await make_group("Cooperativa Resultados Malos", members=2, near_forest_members=1)
    stranger = await make_group("Cooperativa Ajena", members=0)
    _, path, _ = await flows.certify(group)

    body = problem(await inspect(certification, group, path, member_id=group.members[0]["id"], results=[
        {"indicator": "P9.9.9", "outcome": "met"},
        {"indicator": "P4.1.1", "outcome": "met"},
        {"indicator": "P4.1.1", "outcome": "met", "site_id": stranger.near_site["id"]},
    ]), 422)
    assert [e["field"] for e in body["errors"]] == ["results[0].indicator", "results[1].site_id", "results[2].site_id"]


async def test_an_inspection_of_someone_who_is_not_a_member_is_refused(
    certification, flows, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Miembros", members=2, near_forest_members=1)
    other = await make_group("Cooperativa Otra", members=1, near_forest_members=1)
    _, path, _ = await flows.certify(group)

    for outsider in (other.members[0]["id"], str(uuid.uuid4())):
        body = problem(await inspect(certification, group, path, member_id=outsider), 422)
        assert [e["field"] for e in body["errors"]] == ["member_id"]


async def test_an_inspection_dated_in_the_future_is_refused(
    certification, flows, problem, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Futuro", members=2, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    tomorrow = clock().date() + timedelta(days=1)

    body = problem(await inspect(certification, group, path, member_id=group.members[0]["id"],
                                 inspected_on=tomorrow.isoformat()), 422)
    assert "inspected_on" in [e["field"] for e in body["errors"]]


async def test_malformed_inspections_are_refused_with_422(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Formato", members=2, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    member = group.members[0]["id"]

    for body in (
        {},
        {"member_id": "nobody"},
        {"member_id": member, "sanction": "fine"},
        {"member_id": member, "sanction": "warning", "sanction_until": "2030-01-01"},
        {"member_id": member, "sanction": "suspension", "lifts_sanction": True},
        {"member_id": member, "results": [{"indicator": "P2.2.1", "outcome": "so-so"}]},
        {"member_id": member, "inspected_on": "yesterday"},
        {"member_id": member, "sanction": "suspension", "sanction_until": "2000-01-01"},
        {"member_id": member, "note": "nul\x00"},
        {"member_id": member, "results": [{"indicator": "P2.2.1", "outcome": "met", "note": "\x00"}]},
    ):
        problem(await inspect(certification, group, path, **body), 422)
    assert ok(await certification.get(f"{path}/inspections", headers=group.manager)) == []


async def test_a_certifier_cannot_record_an_internal_inspection(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Control Interno", members=2, near_forest_members=1)
    _, path, _ = await flows.certify(group)

    problem(await certification.post(f"{path}/inspections", json={"member_id": group.members[0]["id"]},
                                     headers=group.certifier), 403)
    assert ok(await certification.get(f"{path}/inspections", headers=group.certifier)) == []


async def test_a_suspended_member_is_not_covered_while_the_others_are(
    certification, flows, ok, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Sanción", members=3, near_forest_members=1)
    certified, path, _ = await flows.certify(group)
    certified_on = clock().date()
    clock.advance(days=20)
    sanctioned, other = group.members[1]["id"], group.members[2]["id"]
    ok(await inspect(certification, group, path, member_id=sanctioned, sanction="suspension",
                     results=[{"indicator": "P3.1.2", "outcome": "not_met", "note": "minor at work"}]), 201)

    now = await status(flows, group, sanctioned)
    assert (now["covered"], now["tier"], now["forest_smart"]) == (False, None, False)
    assert "suspension" in now["reason"]
    assert (await status(flows, group, other))["covered"] is True
    group_status = ok(await certification.get("/v1/status", params={"cooperative_id": group.cooperative["id"]}))
    assert group_status["covered"] is True
    before = await status(flows, group, sanctioned, on=certified_on + timedelta(days=5))
    assert (before["covered"], before["tier"], before["certificate_number"]) == (
        True, "good", certified["certificate_number"])


async def test_a_suspension_ends_on_its_last_day_or_when_lifted(
    certification, flows, ok, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Levantada", members=3, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    until_member, lifted_member = group.members[1]["id"], group.members[2]["id"]
    start = clock().date()
    ok(await inspect(certification, group, path, member_id=until_member, sanction="suspension",
                     sanction_until=(start + timedelta(days=10)).isoformat()), 201)
    ok(await inspect(certification, group, path, member_id=lifted_member, sanction="suspension"), 201)
    clock.advance(days=5)
    ok(await inspect(certification, group, path, member_id=lifted_member, lifts_sanction=True), 201)
    clock.advance(days=10)

    assert (await status(flows, group, until_member, on=start + timedelta(days=10)))["covered"] is False
    assert (await status(flows, group, until_member, on=start + timedelta(days=11)))["covered"] is True
    assert (await status(flows, group, lifted_member, on=start + timedelta(days=4)))["covered"] is False
    assert (await status(flows, group, lifted_member))["covered"] is True


async def test_an_exclusion_is_final(certification, flows, ok, example_standards, make_group, clock):
    group = await make_group("Cooperativa Exclusión", members=2, near_forest_members=1)
    _, path, _ = await flows.certify(group)
    excluded = group.members[1]["id"]
    ok(await inspect(certification, group, path, member_id=excluded, sanction="exclusion",
                     note="mercury sold to neighbours"), 201)
    clock.advance(days=30)
    ok(await inspect(certification, group, path, member_id=excluded, lifts_sanction=True), 201)
    clock.advance(days=30)

    later = await status(flows, group, excluded)
    assert later["covered"] is False and "exclusion" in later["reason"]
    assert (await status(flows, group, group.members[0]["id"]))["covered"] is True


async def test_a_member_who_left_is_covered_only_before_leaving(
    certification, flows, ok, registry, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Salida", members=2, near_forest_members=1)
    await flows.certify(group)
    leaver = group.members[1]["id"]
    left_on = clock().date() + timedelta(days=5)
    ok(await registry.post(f"/v1/miners/{leaver}/leave", json={"left_on": left_on.isoformat()}, headers=group.manager))
    clock.advance(days=10)

    after = await status(flows, group, leaver)
    assert after["covered"] is False and "not a member" in after["reason"]
    assert (await status(flows, group, leaver, on=left_on))["covered"] is False
    before = await status(flows, group, leaver, on=left_on - timedelta(days=1))
    assert (before["covered"], before["tier"]) == (True, "good")
    assert (await status(flows, group, group.members[0]["id"]))["covered"] is True
