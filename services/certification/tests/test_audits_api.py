"""External audits through the API: the sample, all-or-nothing results, closing, tiers and findings."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta


async def test_a_batch_with_bad_rows_is_refused_whole_and_lists_each_bad_row(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Lote", members=12, near_forest_members=2)
    stranger = await make_group("Cooperativa Vecina", members=0)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    outside = next(m["id"] for m in group.members if m["id"] not in audit["sample"])
    sampled = audit["sample"][0]
    ok(await flows.record(group, audit, [{"indicator": "P1.1.1", "outcome": "met"}]), 201)
    before = ok(await certification.get(f"/v1/audits/{audit['id']}/results", headers=group.certifier))

    batch = [
        {"indicator": "P1.2.1", "outcome": "met"},
        {"indicator": "P9.9.9", "outcome": "met"},
        {"indicator": "P1.2.2", "member_id": outside, "outcome": "met"},
        {"indicator": "P1.1.2", "site_id": stranger.far_sites[0]["id"], "outcome": "met"},
        {"indicator": "P1.1.1", "member_id": sampled, "outcome": "not_met"},
        {"indicator": "P2.2.1", "member_id": sampled, "outcome": "met"},
    ]
    body = problem(await flows.record(group, audit, batch), 422)
    assert [e["field"] for e in body["errors"]] == ["[1].indicator", "[2].member_id", "[3].site_id", "[4].indicator"]
    assert "nothing was recorded" in body["detail"]

    after = ok(await certification.get(f"/v1/audits/{audit['id']}/results", headers=group.certifier))
    assert after == before
    assert [(r["indicator"], r["outcome"]) for r in after] == [("P1.1.1", "met")]


async def test_malformed_results_are_refused_with_422(certification, flows, ok, problem, example_standards, make_group):
    group = await make_group("Cooperativa Resultados", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    member, site = audit["sample"][0], group.far_sites[0]["id"]

    for results in (
        [],
        {"indicator": "P1.1.1", "outcome": "met"},
        [{"indicator": "P1.1.1", "outcome": "fine"}],
        [{"indicator": "P1.1.1"}],
        [{"indicator": "P1.2.2", "member_id": "someone", "outcome": "met"}],
        [{"indicator": "P1.2.2", "outcome": "met"}],
        [{"indicator": "P1.2.2", "member_id": member, "site_id": site, "outcome": "met"}],
        [{"indicator": "P1.1.2", "outcome": "met"}],
        [{"indicator": "P1.1.1", "outcome": "met", "severity": "critical"}],
        [{"indicator": "P1.1.1", "outcome": "met"}, {"indicator": "P1.1.1", "outcome": "not_met"}],
        [{"indicator": "P1.1.1", "outcome": "met", "note": "seen\x00"}],
        [{"indicator": "P1.1.1\x00", "outcome": "met"}],
    ):
        problem(await flows.record(group, audit, results), 422)
    problem(await certification.post(f"/v1/audits/{audit['id']}/results", content=b"[{",
                                     headers={**group.certifier, "Content-Type": "application/json"}), 422)
    assert ok(await certification.get(f"/v1/audits/{audit['id']}/results", headers=group.certifier)) == []


async def test_a_second_audit_while_one_is_open_is_refused(
    certification, flows, ok, problem, example_standards, make_group
):
    group = await make_group("Cooperativa Dos Auditorías", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    first = await flows.new_audit(group, path)

    problem(await certification.post(f"{path}/audits", json={"kind": "initial"}, headers=group.certifier), 409)
    audits = ok(await certification.get(f"{path}/audits", headers=group.certifier))
    assert [a["id"] for a in audits] == [first["id"]]
    await flows.close(group, first)
    second = await flows.new_audit(group, path)
    assert second["id"] != first["id"]


async def test_an_audit_of_the_wrong_kind_or_date_is_refused(
    certification, flows, ok, problem, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Tipo", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    tomorrow = (clock().date() + timedelta(days=1)).isoformat()

    problem(await certification.post(f"{path}/audits", json={"kind": "surveillance"}, headers=group.certifier), 409)
    problem(await certification.post(f"{path}/audits", json={"kind": "initial", "audit_on": tomorrow},
                                     headers=group.certifier), 422)
    problem(await certification.post(f"{path}/audits", json={"kind": "annual"}, headers=group.certifier), 422)
    problem(await certification.post(f"{path}/audits", json={"kind": "initial", "seed": "no spaces allowed"},
                                     headers=group.certifier), 422)
    assert ok(await certification.get(f"{path}/audits", headers=group.certifier)) == []


async def test_results_on_a_closed_audit_are_refused(certification, flows, ok, problem, example_standards, make_group):
    group = await make_group("Cooperativa Cerrada", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    ok(await flows.record(group, audit, flows.results_for(example_standards, audit, group.sites)), 201)
    await flows.close(group, audit)
    before = ok(await certification.get(f"/v1/audits/{audit['id']}/results", headers=group.certifier))

    problem(await flows.record(group, audit, [{"indicator": "P1.1.1", "outcome": "not_met"}]), 409)
    assert ok(await certification.get(f"/v1/audits/{audit['id']}/results", headers=group.certifier)) == before


async def test_an_audit_is_closed_only_once(certification, flows, ok, problem, example_standards, make_group):
    group = await make_group("Cooperativa Cierre", members=3, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    ok(await flows.record(group, audit, flows.results_for(example_standards, audit, group.sites)), 201)
    closed = await flows.close(group, audit)
    findings = ok(await certification.get(f"{path}/findings", headers=group.certifier))

    problem(await certification.post(f"/v1/audits/{audit['id']}/close", headers=group.certifier), 409)
    again = ok(await certification.get(f"/v1/audits/{audit['id']}", headers=group.certifier))
    assert (again["status"], again["closed_at"], again["tier"]) == ("closed", closed["closed_at"], "good")
    assert ok(await certification.get(f"{path}/findings", headers=group.certifier)) == findings


async def test_risk_factor_two_doubles_the_sample(certification, flows, ok, example_standards, make_group):
    group = await make_group("Cooperativa Riesgo", members=12, near_forest_members=2)
    _, path = await flows.open(group)
    low = await flows.new_audit(group, path, seed="risk-one")
    assert (low["risk_factor"], len(low["sample"])) == (1, math.ceil(math.sqrt(12)))
    await flows.close(group, low)

    patched = ok(await certification.patch(path, json={"risk_factor": 2}, headers=group.certifier))
    assert patched["risk_factor"] == 2
    high = await flows.new_audit(group, path, seed="risk-two")
    assert (high["risk_factor"], high["population"]) == (2, 12)
    assert len(high["sample"]) == math.ceil(math.sqrt(12) * 2) == 7
    assert group.near_forest_members <= set(high["sample"])


async def test_a_group_of_ten_or_fewer_members_is_sampled_whole(certification, flows, example_standards, make_group):
    group = await make_group("Cooperativa Pequeña", members=10, near_forest_members=1)
    _, path = await flows.open(group)

    audit = await flows.new_audit(group, path)
    assert audit["population"] == 10
    assert sorted(audit["sample"]) == sorted(audit["population_members"]) == sorted(m["id"] for m in group.members)


async def test_members_who_joined_since_the_last_audit_are_high_risk(
    certification, flows, add_member, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Nuevos", members=12, near_forest_members=1)
    first_audit_on = clock().date() - timedelta(days=100)
    _, path, initial = await flows.certify(group, audit_on=first_audit_on.isoformat())
    assert initial["audit_on"] == first_audit_on.isoformat() and initial["population"] == 12
    joined = (first_audit_on + timedelta(days=40)).isoformat()
    newcomers = {(await add_member(group, f"Newcomer {i}", group.far_sites[0]["id"], joined, gender="female",
                                   birth_date="1992-03-14"))["id"]
                 for i in range(2)}

    surveillance = await flows.new_audit(group, path, kind="surveillance")
    assert surveillance["population"] == 14
    reasons = {m["member_id"]: m["reasons"] for m in surveillance["high_risk"]}
    assert {m for m, why in reasons.items() if "joined_since_last_audit" in why} == newcomers
    assert all(reasons[m] == ["joined_since_last_audit"] for m in newcomers)
    assert newcomers <= set(surveillance["sample"])


async def test_a_member_with_an_open_finding_is_high_risk_in_the_next_audit(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Hallazgo", members=12, near_forest_members=1)
    _, path, initial = await flows.certify(group, seed="first-draw")
    far = [m["id"] for m in group.members if m["id"] not in group.near_forest_members]
    member = next(m for m in far if m not in initial["sample"])
    ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P3.1.2", "severity": "minor", "member_id": member, "description": "no safety helmet"}), 201)

    surveillance = await flows.new_audit(group, path, kind="surveillance", seed="first-draw")
    reasons = {m["member_id"]: m["reasons"] for m in surveillance["high_risk"]}
    assert reasons[member] == ["open_finding"]
    assert {m for m, why in reasons.items() if "open_finding" in why} == {member}
    assert member in surveillance["sample"]


async def test_good_indicators_unmet_in_two_areas_leave_the_tier_at_foundational(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Fundacional", members=4, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    unmet = {"P1.1.3", "P2.3.2"}  # good, in two of the seven performance areas (the claim rule needs 80 %)
    ok(await flows.record(group, audit, flows.results_for(example_standards, audit, group.sites,
                                                          unmet_levels=(), unmet_codes=unmet)), 201)

    closed = await flows.close(group, audit)
    assert closed["tier"] == "foundational"
    assert (closed["principle_levels"]["P1"], closed["principle_levels"]["P3"]) == ("foundational", "leading")
    assert {(f["indicator"], f["severity"]) for f in closed["findings_opened"]} == {("P1.1.3", "minor"),
                                                                                   ("P2.3.2", "minor")}
    certified = await flows.decide(group, path, "certify")
    assert (certified["status"], certified["tier"]) == ("certified", "foundational")


async def test_one_good_indicator_unmet_still_reaches_good_under_the_claim_rule(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Ochenta", members=4, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    ok(await flows.record(group, audit, flows.results_for(example_standards, audit, group.sites,
                                                          unmet_levels=(), unmet_codes={"P1.1.3"})), 201)

    closed = await flows.close(group, audit)
    assert closed["tier"] == "good"  # six of seven performance areas at good: 86 % ≥ 80 %
    assert closed["principle_levels"]["P1"] == "foundational"
    assert [(f["indicator"], f["severity"]) for f in closed["findings_opened"]] == [("P1.1.3", "minor")]


async def test_an_unmet_foundational_indicator_leaves_no_tier_and_blocks_certification(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Sin Nivel", members=4, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    ok(await flows.record(group, audit, flows.results_for(example_standards, audit, group.sites,
                                                          unmet_codes={"P1.1.1"})), 201)

    closed = await flows.close(group, audit)
    assert closed["tier"] is None and closed["claims"] == []
    assert ("P1.1.1", "major") in {(f["indicator"], f["severity"]) for f in closed["findings_opened"]}
    body = await flows.refused(group, path, "certify")
    assert "foundational" in body["detail"]
    current = ok(await certification.get(path, headers=group.certifier))
    assert (current["status"], current["tier"], current["certificate_number"]) == ("audit_scheduled", None, None)


async def test_a_severity_given_with_a_result_sets_the_finding_opened(
    certification, flows, ok, example_standards, make_group
):
    group = await make_group("Cooperativa Severa", members=4, near_forest_members=1)
    _, path = await flows.open(group)
    audit = await flows.new_audit(group, path)
    results = flows.results_for(example_standards, audit, group.sites)
    for result in results:
        if result["indicator"] == "P2.3.3":
            result["severity"] = "major"
    ok(await flows.record(group, audit, results), 201)

    closed = await flows.close(group, audit)
    severities = {f["indicator"]: f["severity"] for f in closed["findings_opened"]}
    assert severities["P2.3.3"] == "major" and severities["P3.3.3"] == "minor"
    assert uuid.UUID(closed["findings_opened"][0]["audit_id"]) == uuid.UUID(audit["id"])
