"""The registry's event feed: members joining and leaving, seen by their cooperative only (admin sees all)."""

from __future__ import annotations

from datetime import date, timedelta

from certification_support import ok
from event_support import before, events, feed

from minka_common.ids import today

HEADER = "full_name,gender,birth_date,national_id\n"


async def register(registry, headers: dict, cooperative_id: str, name: str = "Ana Quispe", **extra) -> dict:
    body = {"full_name": name, "gender": "female", "birth_date": "1990-04-12", "cooperative_id": cooperative_id,
            **extra}
    return ok(await registry.post("/v1/miners", json=body, headers=headers), 201)


async def test_joining_and_leaving_are_events_of_the_cooperative(registry, actors, admin_headers):
    cooperative, manager = await actors.cooperative_manager("Coop Events Joins")
    other, other_manager = await actors.cooperative_manager("Coop Events Other")
    joined_on = (today() - timedelta(days=30)).isoformat()
    miner = await register(registry, manager, cooperative["id"], joined_on=joined_on)
    left_on = today().isoformat()
    ok(await registry.post(f"/v1/miners/{miner['id']}/leave", json={"left_on": left_on}, headers=manager))
    ok(await registry.post(f"/v1/miners/{miner['id']}/join", json={"cooperative_id": other["id"]},
                           headers=admin_headers), 201)

    joined, left = await events(registry, manager)
    subject = f"miner:{miner['id']}"
    assert (joined["type"], joined["subject"]) == ("member.joined", subject)
    assert joined["data"] == {"membership_id": joined["data"]["membership_id"], "miner_id": miner["id"],
                              "cooperative_id": cooperative["id"], "joined_on": joined_on}
    assert (left["type"], left["subject"]) == ("member.left", subject)
    assert left["data"] == {"membership_id": joined["data"]["membership_id"], "miner_id": miner["id"],
                            "cooperative_id": cooperative["id"], "left_on": left_on}
    assert "full_name" not in str(joined) and int(joined["cursor"]) < int(left["cursor"])

    [rejoined] = await events(registry, other_manager)
    assert rejoined["type"] == "member.joined"
    assert rejoined["data"]["cooperative_id"] == other["id"] and rejoined["data"]["miner_id"] == miner["id"]
    assert int(rejoined["cursor"]) > int(left["cursor"])

    everything = await events(registry, admin_headers, after=before(joined))
    assert [e["id"] for e in everything if e["subject"] == subject] == [joined["id"], left["id"], rejoined["id"]]


async def test_other_tenants_see_none_of_a_cooperatives_events(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Events Private")
    await register(registry, manager, cooperative["id"])
    [joined] = await events(registry, manager)
    _, stranger = await actors.cooperative_manager("Coop Events Stranger")
    buyer = await actors.organization("buyer", "Events Buyer")
    authority = await actors.organization("authority", "Events Authority")
    for headers in (stranger, await actors.headers("buyer", buyer["id"])):
        assert joined["id"] not in {e["id"] for e in await events(registry, headers, after=before(joined))}
    seen_by_authority = await events(registry, await actors.headers("authority", authority["id"]),
                                     after=before(joined))
    assert joined["id"] in {e["id"] for e in seen_by_authority}


async def test_a_csv_import_records_one_event_per_membership(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Events Import")
    csv_text = HEADER + "Ana,female,1990-04-12,\nJuan,male,1985-12-01,\nRosa,female,2000-01-31,\n"
    response = await registry.post("/v1/miners/import", params={"cooperative_id": cooperative["id"]},
                                   content=csv_text.encode(), headers={**manager, "Content-Type": "text/csv"})
    assert ok(response, 201)["imported"] == 3

    seen = await events(registry, manager)
    members = ok(await registry.get(f"/v1/cooperatives/{cooperative['id']}/members", headers=manager))["items"]
    assert {e["type"] for e in seen} == {"member.joined"}
    assert sorted(e["data"]["miner_id"] for e in seen) == sorted(m["id"] for m in members)
    assert {e["data"]["joined_on"] for e in seen} == {today().isoformat()}
    assert len({e["data"]["membership_id"] for e in seen}) == 3


async def test_rejected_writes_record_no_event(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Events Refused")
    miner = await register(registry, manager, cooperative["id"])
    [joined] = await events(registry, manager)

    too_young = {"full_name": "Niño", "gender": "male", "birth_date": today().replace(year=today().year - 12)
                 .isoformat(), "cooperative_id": cooperative["id"]}
    assert (await registry.post("/v1/miners", json=too_young, headers=manager)).status_code == 422
    already_member = {"cooperative_id": cooperative["id"]}
    assert (await registry.post(f"/v1/miners/{miner['id']}/join", json=already_member,
                                headers=manager)).status_code == 409
    bad_file = HEADER + "Ana,female,1990-04-12,\nJuan,robot,1985-12-01,\n"
    assert (await registry.post("/v1/miners/import", params={"cooperative_id": cooperative["id"]},
                                content=bad_file.encode(), headers={**manager, "Content-Type": "text/csv"})
            ).status_code == 422
    before_leave = date.fromisoformat(joined["data"]["joined_on"]) - timedelta(days=1)
    assert (await registry.post(f"/v1/miners/{miner['id']}/leave", json={"left_on": before_leave.isoformat()},
                                headers=manager)).status_code == 422

    assert await events(registry, manager) == [joined]


async def test_paging_with_after_returns_the_rest_and_stays_put_when_nothing_is_new(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Events Paging")
    for name in ("Ana", "Juan", "Rosa"):
        await register(registry, manager, cooperative["id"], name=name)

    first = await feed(registry, manager, limit=1)
    assert len(first["items"]) == 1 and first["has_more"] and first["next_cursor"] == first["items"][0]["cursor"]
    rest = await feed(registry, manager, after=first["next_cursor"])
    assert len(rest["items"]) == 2 and not rest["has_more"]
    assert [int(e["cursor"]) for e in first["items"] + rest["items"]] == sorted(
        int(e["cursor"]) for e in first["items"] + rest["items"])
    idle = await feed(registry, manager, after=rest["next_cursor"])
    assert idle == {"items": [], "next_cursor": rest["next_cursor"], "has_more": False}

    await register(registry, manager, cooperative["id"], name="Luz")
    [new] = (await feed(registry, manager, after=rest["next_cursor"]))["items"]
    assert new["type"] == "member.joined"
    only_left = await feed(registry, manager, type="member.left")
    assert only_left["items"] == [] and only_left["next_cursor"] == "0"


async def test_bad_cursors_and_unknown_types_are_problems(registry, admin_headers):
    for params in ({"after": "abc"}, {"after": "-1"}, {"after": "9" * 40}, {"type": "member.renamed"},
                   {"limit": 0}):
        response = await registry.get("/v1/events", params=params, headers=admin_headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await registry.get("/v1/events")).status_code == 401


async def test_the_feed_describes_its_event_types(registry):
    operation = ok(await registry.get("/openapi.json"))["paths"]["/v1/events"]["get"]
    assert "`member.joined`" in operation["description"] and "`member.left`" in operation["description"]
