"""A whole certification cycle through the API, as a certification body and a cooperative live it."""

from __future__ import annotations

import math
import uuid
from datetime import date, timedelta

from minka_certification.audits.sampling import draw_sample


async def test_whole_cycle(certification, flows, ok, registry, admin_headers, example_standards, make_group, clock):
    base, bolt_on = example_standards
    catalogue = ok(await certification.get("/v1/standards", headers=admin_headers))["items"]
    assert {(s["code"], s["kind"]) for s in catalogue} >= {("MINKA-ASM", "base"), ("FOREST-SMART", "bolt_on")}
    assert next(s for s in catalogue if s["code"] == "MINKA-ASM")["indicator_count"] >= 30

    group = await make_group("Cooperativa Ciclo", members=40, near_forest_members=5)
    cooperative_id = group.cooperative["id"]
    before = await flows.status(cooperative_id=cooperative_id)
    assert before["covered"] is False

    opened, path = await flows.open(group)
    assert (opened["status"], opened["tier"], opened["certificate_number"]) == ("applied", None, None)

    # The audit sample: at least ⌈√40⌉ members, every near-forest member in it, and the same when re-drawn.
    audit = await flows.new_audit(group, path, seed="cycle-2026")
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
    ok(await flows.record(group, audit, flows.results_for([base, bolt_on], audit, group.sites)), 201)
    closed = await flows.close(group, audit)
    assert closed["tier"] == "good"
    assert closed["claims"] == ["forest_smart"]
    assert {s["code"] for s in closed["standards"]} == {"MINKA-ASM", "FOREST-SMART"}
    leading = {i["code"] for d in (base, bolt_on) for i in flows.indicators(d) if i["level"] == "leading"}
    assert {f["indicator"] for f in closed["findings_opened"]} == leading
    assert {f["severity"] for f in closed["findings_opened"]} == {"minor"}

    certified = await flows.decide(group, path, "certify")
    assert (certified["status"], certified["tier"], certified["forest_smart"]) == ("certified", "good", True)
    number = certified["certificate_number"]
    public = ok(await certification.get(f"/v1/certificates/{number}"))  # no token
    assert (public["status"], public["tier"], public["cooperative"]["id"]) == ("valid", "good", cooperative_id)
    assert date.fromisoformat(public["valid_to"]) > date.today() + timedelta(days=3 * 365 - 3)
    assert len(public["surveillance_due"]) == 2

    member = group.members[10]["id"]
    covered = await flows.status(cooperative_id=cooperative_id, member_id=member)
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

    after = await flows.status(cooperative_id=cooperative_id, member_id=member)
    assert after["covered"] is False and after["certification_status"] == "suspended"
    on_certification_day = await flows.status(cooperative_id=cooperative_id, member_id=member,
                                              on=certified_on.isoformat())
    assert on_certification_day["covered"] is True and on_certification_day["tier"] == "good"
    assert ok(await certification.get(f"/v1/certificates/{number}"))["status"] == "suspended"
