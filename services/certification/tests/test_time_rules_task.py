"""Deadlines apply by themselves: the periodic task suspends an overdue certificate that nobody reads."""

from __future__ import annotations

import asyncio
import uuid

from minka_certification.app import TIME_RULES
from minka_certification.certifications.models import Certification


async def stored_status(app, certification_id: str) -> str:
    async with app.state.database.session() as session:
        return (await session.get(Certification, uuid.UUID(certification_id))).status


async def test_the_periodic_task_applies_deadlines_without_any_read(
    certification, flows, ok, certification_app, example_standards, make_group, clock
):
    group = await make_group("Cooperativa Sin Lectores", members=6, near_forest_members=1)
    opened, path = await flows.open(group)
    assert (await flows.audit_and_close(group, path, unmet_levels=()))["tier"] == "leading"
    await flows.decide(group, path, "certify")
    ok(await certification.post(f"{path}/findings", json={"indicator": "P2.1.1", "severity": "major"},
                                headers=group.certifier), 201)
    clock.advance(days=91)
    assert await stored_status(certification_app, opened["id"]) == "certified"  # nobody has read it since

    settings = certification_app.state.settings
    interval, settings.time_rules_interval_seconds = settings.time_rules_interval_seconds, 0.01
    task = asyncio.create_task(TIME_RULES.run_forever(certification_app))
    try:
        for _ in range(200):
            await asyncio.sleep(0.02)
            if await stored_status(certification_app, opened["id"]) == "suspended":
                break
    finally:
        task.cancel()
        settings.time_rules_interval_seconds = interval
    assert await stored_status(certification_app, opened["id"]) == "suspended"
