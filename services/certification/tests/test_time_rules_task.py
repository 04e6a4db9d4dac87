"""Deadlines apply by themselves: the periodic task suspends an overdue certificate that nobody reads."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from minka_certification.app import _apply_time_rules_periodically
from minka_certification.certifications.models import Certification


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def met_results(documents: list[dict], audit: dict, sites: list[dict]) -> list[dict]:
    results = []
    for document in documents:
        for principle in document["principles"]:
            for criterion in principle["criteria"]:
                for indicator in criterion["indicators"]:
                    result = {"indicator": indicator["code"], "outcome": "met"}
                    if indicator["scope"] == "member":
                        results += [{**result, "member_id": member} for member in audit["sample"]]
                    elif indicator["scope"] == "site":
                        results += [{**result, "site_id": site["id"]} for site in sites]
                    else:
                        results.append(result)
    return results


async def stored_status(app, certification_id: str) -> str:
    async with app.state.database.session() as session:
        return (await session.get(Certification, uuid.UUID(certification_id))).status


async def test_the_periodic_task_applies_deadlines_without_any_read(
    certification, certification_app, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Sin Lectores", members=6, near_forest_members=1)
    opened = ok(await certification.post("/v1/certifications", json=group.certification_body(),
                                         headers=group.certifier), 201)
    path = f"/v1/certifications/{opened['id']}"
    audit = ok(await certification.post(f"{path}/audits", json={"kind": "initial"}, headers=group.certifier), 201)
    sites = [group.near_site, *group.far_sites]
    ok(await certification.post(f"/v1/audits/{audit['id']}/results", headers=group.certifier,
                                json=met_results(example_standards, audit, sites)), 201)
    assert ok(await certification.post(f"/v1/audits/{audit['id']}/close", headers=group.certifier))["tier"] == "leading"
    ok(await certification.post(f"{path}/decision", json={"decision": "certify"}, headers=group.certifier))
    ok(await certification.post(f"{path}/findings", json={"indicator": "P2.1.1", "severity": "major"},
                                headers=group.certifier), 201)
    clock.advance(days=91)
    assert await stored_status(certification_app, opened["id"]) == "certified"  # nobody has read it since

    settings = certification_app.state.settings
    interval, settings.time_rules_interval_seconds = settings.time_rules_interval_seconds, 0.01
    task = asyncio.create_task(_apply_time_rules_periodically(certification_app))
    try:
        for _ in range(200):
            await asyncio.sleep(0.02)
            if await stored_status(certification_app, opened["id"]) == "suspended":
                break
    finally:
        task.cancel()
        settings.time_rules_interval_seconds = interval
    assert await stored_status(certification_app, opened["id"]) == "suspended"
