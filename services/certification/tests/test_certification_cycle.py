"""A whole certification cycle through the API, as a certification body and a cooperative live it."""

from __future__ import annotations

import math
import uuid
from datetime import date, timedelta

import httpx

from minka_certification.audits.sampling import draw_sample


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def indicators(document: dict) -> list[dict]:
    return [i for p in document["principles"] for c in p["criteria"] for i in c["indicators"]]


def results_for(documents: list[dict], audit: dict, sites: list[dict], unmet_levels=("leading",)) -> list[dict]:
    """One result per indicator and subject: met, except the levels named, which are not met."""
    results = []
    for document in documents:
        for indicator in indicators(document):
            outcome = "not_met" if indicator["level"] in unmet_levels else "met"
            base = {"indicator": indicator["code"], "outcome": outcome}
            if indicator["scope"] == "group":
                results.append(base)
            elif indicator["scope"] == "member":
                results += [{**base, "member_id": member} for member in audit["sample"]]
            else:
                results += [{**base, "site_id": site["id"]} for site in sites]
    return results


async def status(certification, **params) -> dict:
    return ok(await certification.get("/v1/status", params=params))


async def test_whole_cycle(certification, registry, admin_headers, example_standards, make_group, clock):
    base, bolt_on = example_standards
    catalogue = ok(await certification.get("/v1/standards", headers=admin_headers))["items"]
    assert {(s["code"], s["kind"]) for s in catalogue} >= {("MINKA-ASM", "base"), ("FOREST-SMART", "bolt_on")}
    assert next(s for s in catalogue if s["code"] == "MINKA-ASM")["indicator_count"] >= 30

    group = await make_group("Cooperativa Ciclo", members=40, near_forest_members=5)
    cooperative_id = group.cooperative["id"]
    before = await status(certification, cooperative_id=cooperative_id)
    assert before["covered"] is False

    opened = ok(await certification.post("/v1/certifications", json=group.certification_body(),
                                         headers=group.certifier), 201)
    assert (opened["status"], opened["tier"], opened["certificate_number"]) == ("applied", None, None)
    path = f"/v1/certifications/{opened['id']}"

    # The audit sample: at least ⌈√40⌉ members, every near-forest member in it, and the same when re-drawn.
    audit = ok(await certification.post(f"{path}/audits", json={"kind": "initial", "seed": "cycle-2026"},
                                         headers=group.certifier), 201)
    assert audit["population"] == 40 and audit["seed"] == "cycle-2026"
    assert len(audit["sample"]) >= math.ceil(math.sqrt(40))
    assert group.near_forest_members <= set(audit["sample"])
    assert {m["member_id"] for m in audit["high_risk"]} == group.near_forest_members
    redrawn = ok(await certification.get(f"/v1/audits/{audit['id']}/redraw", headers=group.certifier))
    assert redrawn["identical"] is True and redrawn["sample"] == audit["sample"]
    by_hand = draw_sample([uuid.UUID(m) for m in audit["population_members"]],
                          {uuid.UUID(m) for m in group.near_forest_members}, 1, "cycle-2026")
    assert [str(m) for m in by_hand] == audit["sample"]
    assert ok(await certification.get(path, headers=group.certifier))["status"] == "audit_scheduled"

    # Results: everything met but the leading level, so the group reaches good, with the bolt-on applied.
    sites = [group.near_site, *group.far_sites]
    ok(await certification.post(f"/v1/audits/{audit['id']}/results", headers=group.certifier,
                                json=results_for([base, bolt_on], audit, sites)), 201)
    closed = ok(await certification.post(f"/v1/audits/{audit['id']}/close", headers=group.certifier))
    assert closed["tier"] == "good"
    assert closed["claims"] == ["forest_smart"]
    assert {s["code"] for s in closed["standards"]} == {"MINKA-ASM", "FOREST-SMART"}
    leading = {i["code"] for d in (base, bolt_on) for i in indicators(d) if i["level"] == "leading"}
    assert {f["indicator"] for f in closed["findings_opened"]} == leading
    assert {f["severity"] for f in closed["findings_opened"]} == {"minor"}

    certified = ok(await certification.post(f"{path}/decision", json={"decision": "certify"}, headers=group.certifier))
    assert (certified["status"], certified["tier"], certified["forest_smart"]) == ("certified", "good", True)
    number = certified["certificate_number"]
    public = ok(await certification.get(f"/v1/certificates/{number}"))  # no token
    assert (public["status"], public["tier"], public["cooperative"]["id"]) == ("valid", "good", cooperative_id)
    assert date.fromisoformat(public["valid_to"]) > date.today() + timedelta(days=3 * 365 - 3)
    assert len(public["surveillance_due"]) == 2

    member = group.members[10]["id"]
    covered = await status(certification, cooperative_id=cooperative_id, member_id=member)
    assert covered["covered"] is True
    assert (covered["tier"], covered["forest_smart"], covered["certificate_number"]) == ("good", True, number)
    assert {s["code"] for s in covered["standards"]} == {"MINKA-ASM", "FOREST-SMART"}
    plan = ok(await certification.get(f"{path}/improvement-plan", headers=group.manager))
    assert (plan["current_tier"], plan["next_tier"]) == ("good", "leading")
    assert plan["progress"]["good"]["met"] == plan["progress"]["good"]["total"] > 0
    assert {a["indicator"] for a in plan["actions"]} == leading

    # A major finding left open past its 90-day deadline suspends the certificate, without any cron job.
    certified_on = clock().date()
    major = ok(await certification.post(f"{path}/findings", headers=group.certifier, json={
        "indicator": "P4.1.1", "severity": "major", "description": "amalgam burnt in the open"}), 201)
    assert major["due_on"] == (certified_on + timedelta(days=90)).isoformat()
    clock.advance(days=89)
    assert ok(await certification.get(path, headers=group.manager))["status"] == "certified"
    clock.advance(days=2)
    suspended = ok(await certification.get(path, headers=group.manager))
    assert suspended["status"] == "suspended"
    events = ok(await certification.get(f"{path}/history", headers=group.certifier))
    assert [e["to_status"] for e in events] == ["applied", "audit_scheduled", "certified", "suspended"]
    assert events[-1]["actor"] == "system" and "overdue" in events[-1]["reason"]
    assert events[-1]["at"].startswith((certified_on + timedelta(days=91)).isoformat())

    after = await status(certification, cooperative_id=cooperative_id, member_id=member)
    assert after["covered"] is False and after["certification_status"] == "suspended"
    on_certification_day = await status(certification, cooperative_id=cooperative_id, member_id=member,
                                        on=certified_on.isoformat())
    assert on_certification_day["covered"] is True and on_certification_day["tier"] == "good"
    assert ok(await certification.get(f"/v1/certificates/{number}"))["status"] == "suspended"
