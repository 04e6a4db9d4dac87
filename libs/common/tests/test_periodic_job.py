"""Background jobs: run every interval while the app runs, survive a failing round, stop with the app."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from minka_common.app import PeriodicJob


def fake_app(interval: float) -> SimpleNamespace:
    return SimpleNamespace(state=SimpleNamespace(service_name="test", interval=interval))


async def test_a_job_keeps_running_after_a_failing_round_and_stops_with_the_app():
    rounds: list[int] = []

    async def flaky(app) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database hiccup")

    job = PeriodicJob("flaky job", lambda app: app.state.interval, flaky)
    app = fake_app(0.005)
    await job.start(app)
    for _ in range(200):
        if len(rounds) >= 3:
            break
        await asyncio.sleep(0.01)
    await job.stop(app)
    assert len(rounds) >= 3
    stopped_at = len(rounds)
    await asyncio.sleep(0.05)
    assert len(rounds) == stopped_at


async def test_an_interval_of_zero_starts_nothing():
    rounds: list[int] = []

    async def count(app) -> None:
        rounds.append(1)

    job = PeriodicJob("never", lambda app: app.state.interval, count)
    app = fake_app(0)
    await job.start(app)
    await asyncio.sleep(0.02)
    await job.stop(app)
    assert rounds == []
