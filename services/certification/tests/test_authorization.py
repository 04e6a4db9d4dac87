"""Who sees and does what, per object: another tenant's certification is missing (404), a wrong role is 403."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def two_groups(flows, make_group):
    """Two cooperatives, each with its own certification body; the first is certified."""
    first = await make_group("Cooperativa Norte", members=6, near_forest_members=2)
    second = await make_group("Cooperativa Sur", members=6, near_forest_members=2)
    certified, _, audit = await flows.certify(first)
    return first, second, certified, audit


async def test_a_certifier_of_another_body_sees_none_of_a_certification(certification, ok, problem, two_groups):
    first, second, certified, audit = two_groups
    path = f"/v1/certifications/{certified['id']}"
    outsider = second.certifier

    for url in (path, f"{path}/audits", f"{path}/findings", f"{path}/history", f"{path}/improvement-plan",
                f"{path}/inspections", f"/v1/audits/{audit['id']}", f"/v1/audits/{audit['id']}/results",
                f"/v1/audits/{audit['id']}/redraw"):
        problem(await certification.get(url, headers=outsider), 404)
    problem(await certification.post(f"{path}/decision", json={"decision": "suspend", "reason": "not mine"},
                                     headers=outsider), 404)
    problem(await certification.post(f"{path}/findings", json={"indicator": "P1.1.1", "severity": "critical"},
                                     headers=outsider), 404)
    problem(await certification.post(f"{path}/audits", json={"kind": "surveillance"}, headers=outsider), 404)
    problem(await certification.patch(path, json={"risk_factor": 4}, headers=outsider), 404)
    assert ok(await certification.get(path, headers=first.certifier))["status"] == "certified"


async def test_a_certifier_cannot_open_a_certification_for_another_body(certification, ok, problem, two_groups):
    first, second, *_ = two_groups
    body = second.certification_body(certification_body_id=first.body["id"])

    problem(await certification.post("/v1/certifications", json=body, headers=second.certifier), 403)
    listed = ok(await certification.get("/v1/certifications", params={"cooperative_id": second.cooperative["id"]},
                                        headers=first.certifier))
    assert listed["items"] == []


async def test_a_cooperative_manager_reads_its_own_certification(certification, ok, two_groups):
    first, _, certified, _ = two_groups
    path = f"/v1/certifications/{certified['id']}"

    assert ok(await certification.get(path, headers=first.manager))["status"] == "certified"
    plan = ok(await certification.get(f"{path}/improvement-plan", headers=first.manager))
    assert (plan["current_tier"], plan["next_tier"]) == ("good", "leading")
    findings = ok(await certification.get(f"{path}/findings", headers=first.manager))
    assert findings and {f["severity"] for f in findings} == {"minor"}


async def test_a_cooperative_manager_gets_404_on_another_cooperatives_certification(certification, problem, two_groups):
    _, second, certified, audit = two_groups
    path = f"/v1/certifications/{certified['id']}"

    for url in (path, f"{path}/improvement-plan", f"{path}/findings", f"{path}/audits", f"{path}/history",
                f"/v1/audits/{audit['id']}"):
        problem(await certification.get(url, headers=second.manager), 404)
    problem(await certification.post(f"{path}/inspections", json={"member_id": str(uuid.uuid4())},
                                     headers=second.manager), 404)


async def test_a_cooperative_manager_may_not_decide_audit_or_raise_findings(certification, ok, problem, two_groups):
    first, _, certified, audit = two_groups
    path = f"/v1/certifications/{certified['id']}"
    manager = first.manager

    problem(await certification.post(f"{path}/decision", json={"decision": "suspend"}, headers=manager), 403)
    problem(await certification.post(f"{path}/audits", json={"kind": "surveillance"}, headers=manager), 403)
    problem(await certification.post(f"{path}/findings", json={"indicator": "P1.1.1", "severity": "minor"},
                                     headers=manager), 403)
    problem(await certification.post(f"/v1/audits/{audit['id']}/close", headers=manager), 403)
    problem(await certification.post(f"/v1/audits/{audit['id']}/results", json=[{"indicator": "P1.1.1", "outcome": "met"}],
                                     headers=manager), 403)
    problem(await certification.patch(path, json={"risk_factor": 1}, headers=manager), 403)
    problem(await certification.post("/v1/certifications", json=first.certification_body(), headers=manager), 403)
    assert ok(await certification.get(path, headers=manager))["status"] == "certified"


async def test_a_buyer_sees_certificates_and_status_but_not_certifications(
    certification, ok, problem, actors, two_groups
):
    first, _, certified, audit = two_groups
    buyer = await actors.headers("buyer", (await actors.organization("buyer", "Refinería Andina"))["id"])

    problem(await certification.get("/v1/certifications", headers=buyer), 403)
    problem(await certification.get(f"/v1/certifications/{certified['id']}", headers=buyer), 403)
    for audit_id in (audit["id"], uuid.uuid4()):  # the same answer whether the audit exists or not
        problem(await certification.get(f"/v1/audits/{audit_id}", headers=buyer), 403)
    public = ok(await certification.get(f"/v1/certificates/{certified['certificate_number']}"))
    assert (public["number"], public["status"], public["tier"]) == (certified["certificate_number"], "valid", "good")
    status = ok(await certification.get("/v1/status", params={"cooperative_id": first.cooperative["id"],
                                                              "member_id": first.members[0]["id"]}))
    assert status["covered"] is True and status["certificate_number"] == certified["certificate_number"]
    problem(await certification.get("/v1/certificates/MNK-0000-NOTREAL"), 404)


async def test_the_list_shows_only_the_callers_certifications(certification, ok, two_groups):
    first, second, certified, _ = two_groups
    other = ok(await certification.post("/v1/certifications", json=second.certification_body(),
                                        headers=second.certifier), 201)

    async def ids(headers: dict) -> set[str]:
        return {c["id"] for c in ok(await certification.get("/v1/certifications", params={"limit": 500},
                                                          headers=headers))["items"]}

    assert await ids(first.certifier) == {certified["id"]}
    assert await ids(second.certifier) == {other["id"]}
    assert await ids(first.manager) == {certified["id"]}
    assert await ids(second.manager) == {other["id"]}


async def test_an_authority_reads_every_certification(certification, ok, problem, actors, two_groups):
    first, second, certified, _ = two_groups
    other = ok(await certification.post("/v1/certifications", json=second.certification_body(),
                                        headers=second.certifier), 201)
    authority = await actors.headers("authority")

    for group, expected in ((first, certified), (second, other)):
        listed = ok(await certification.get("/v1/certifications", params={"cooperative_id": group.cooperative["id"]},
                                            headers=authority))
        assert [c["id"] for c in listed["items"]] == [expected["id"]]
        assert ok(await certification.get(f"/v1/certifications/{expected['id']}", headers=authority))["id"] == expected["id"]
    assert ok(await certification.get(f"/v1/certifications/{certified['id']}/findings", headers=authority))
    problem(await certification.post(f"/v1/certifications/{certified['id']}/decision", json={"decision": "suspend"},
                                     headers=authority), 403)


async def test_certifications_need_a_token(certification, problem):
    problem(await certification.get("/v1/certifications"), 401)
    problem(await certification.get(f"/v1/certifications/{uuid.uuid4()}"), 401)
