"""Miners, memberships, members lists and CSV import through the HTTP API.

The app (and its database) is shared by the whole session: every test makes
its own organisations through ``actors`` and never assumes an empty table.
"""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from job_support import finished

from minka_common.ids import today

HEADER = "full_name,gender,birth_date,national_id\n"


def nid() -> str:
    return f"NID-{uuid.uuid4().hex[:16]}"


def miner_body(cooperative_id: str, **overrides) -> dict:
    body = {
        "full_name": "Ana Quispe",
        "gender": "female",
        "birth_date": "1990-04-12",
        "national_id": nid(),
        "cooperative_id": cooperative_id,
    }
    body.update(overrides)
    return body


async def create_miner(registry: httpx.AsyncClient, headers: dict, cooperative_id: str, **overrides) -> dict:
    response = await registry.post("/v1/miners", json=miner_body(cooperative_id, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def member_ids(
    registry: httpx.AsyncClient, headers: dict, cooperative_id: str, on: str | None = None, limit: int = 500
) -> list[str]:
    """Every member id, following next_cursor through all pages."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if on:
            params["on"] = on
        response = await registry.get(f"/v1/cooperatives/{cooperative_id}/members", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def field_errors(response: httpx.Response) -> list[dict]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["errors"]


# --- registration ---------------------------------------------------------------------------


async def test_create_miner_and_read_it_back_with_its_membership(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Create")
    body = miner_body(cooperative["id"], full_name="  Rosa   Condori ", joined_on="2024-03-10")
    created = await registry.post("/v1/miners", json=body, headers=manager)
    assert created.status_code == 201, created.text
    miner = created.json()
    assert miner["full_name"] == "Rosa Condori"
    assert miner["gender"] == "female"
    assert miner["birth_date"] == "1990-04-12"
    assert miner["national_id"] == body["national_id"]
    assert miner["cooperative_id"] == cooperative["id"]
    assert miner["membership"]["cooperative_id"] == cooperative["id"]
    assert miner["membership"]["joined_on"] == "2024-03-10"
    assert miner["membership"]["left_on"] is None

    fetched = await registry.get(f"/v1/miners/{miner['id']}", headers=manager)
    assert fetched.status_code == 200
    assert fetched.json() == miner


async def test_joined_on_defaults_to_today(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop Today")
    miner = await create_miner(registry, admin_headers, cooperative["id"])
    assert miner["membership"]["joined_on"] == today().isoformat()


async def test_under_18_is_refused_and_nothing_is_written(registry, actors, admin_headers):
    cooperative, manager = await actors.cooperative_manager("Coop Minors")
    national_id = nid()
    response = await registry.post(
        "/v1/miners",
        json=miner_body(cooperative["id"], birth_date="2006-03-11", joined_on="2024-03-10", national_id=national_id),
        headers=manager,
    )
    assert response.status_code == 422, response.text
    errors = field_errors(response)
    assert [e["field"] for e in errors] == ["birth_date"]
    assert "17" in errors[0]["reason"] and "under 18" in errors[0]["reason"]
    assert await member_ids(registry, admin_headers, cooperative["id"], on="2024-03-10") == []
    listed = await registry.get("/v1/miners", params={"cooperative_id": cooperative["id"]}, headers=admin_headers)
    assert listed.json()["items"] == []
    # the national id was not taken by the refused registration
    await create_miner(registry, manager, cooperative["id"], national_id=national_id)


async def test_exactly_18_on_the_registration_date_is_accepted(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Eighteen")
    miner = await create_miner(registry, manager, cooperative["id"], birth_date="2006-03-10", joined_on="2024-03-10")
    assert miner["birth_date"] == "2006-03-10"


async def test_unknown_or_non_cooperative_organisation_is_refused(registry, actors, admin_headers):
    buyer = await actors.organization("buyer", "Buyer Not A Coop")
    for cooperative_id in (str(uuid.uuid4()), buyer["id"]):
        response = await registry.post("/v1/miners", json=miner_body(cooperative_id), headers=admin_headers)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in field_errors(response)] == ["cooperative_id"]


async def test_every_registration_problem_is_reported_at_once(registry, admin_headers):
    malformed = miner_body(str(uuid.uuid4()), full_name=" ", gender="robot")
    response = await registry.post("/v1/miners", json=malformed, headers=admin_headers)
    assert response.status_code == 422
    assert {e["field"] for e in field_errors(response)} == {"full_name", "gender"}

    refused = miner_body(str(uuid.uuid4()), birth_date="2024-01-01", joined_on="2038-01-01")
    response = await registry.post("/v1/miners", json=refused, headers=admin_headers)
    assert response.status_code == 422
    assert {e["field"] for e in field_errors(response)} == {"joined_on", "birth_date", "cooperative_id"}


async def test_national_id_is_unique(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop Unique")
    first = await create_miner(registry, admin_headers, cooperative["id"])
    again = await registry.post(
        "/v1/miners", json=miner_body(cooperative["id"], national_id=f"  {first['national_id']} "), headers=admin_headers
    )
    assert again.status_code == 409, again.text
    assert [e["field"] for e in field_errors(again)] == ["national_id"]
    # miners without a national id are fine, as many as needed
    for _ in range(2):
        assert (await create_miner(registry, admin_headers, cooperative["id"], national_id=None))["national_id"] is None
    assert (await create_miner(registry, admin_headers, cooperative["id"], national_id="   "))["national_id"] is None


async def test_idempotency_key_replay_returns_the_same_miner_and_creates_one(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Idempotent")
    body = miner_body(cooperative["id"])
    headers = {**manager, "Idempotency-Key": f"create-{uuid.uuid4()}"}
    first = await registry.post("/v1/miners", json=body, headers=headers)
    second = await registry.post("/v1/miners", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert await member_ids(registry, manager, cooperative["id"]) == [first.json()["id"]]


# --- updates ---------------------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Patch")
    miner = await create_miner(registry, manager, cooperative["id"], joined_on="2024-03-10")
    response = await registry.patch(
        f"/v1/miners/{miner['id']}", json={"full_name": "Ana María Quispe", "gender": "undisclosed"}, headers=manager
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["full_name"], changed["gender"]) == ("Ana María Quispe", "undisclosed")
    assert changed["birth_date"] == miner["birth_date"]
    assert changed["national_id"] == miner["national_id"]
    assert changed["membership"] == miner["membership"]

    cleared = await registry.patch(f"/v1/miners/{miner['id']}", json={"national_id": None}, headers=manager)
    assert cleared.status_code == 200 and cleared.json()["national_id"] is None


async def test_patch_refuses_null_for_required_fields(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Null")
    miner = await create_miner(registry, manager, cooperative["id"])
    for field in ("full_name", "gender", "birth_date"):
        response = await registry.patch(f"/v1/miners/{miner['id']}", json={field: None}, headers=manager)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in field_errors(response)] == [field]


async def test_patch_rechecks_the_age_against_the_current_membership(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Patch Age")
    miner = await create_miner(registry, manager, cooperative["id"], joined_on="2024-03-10")
    too_young = await registry.patch(f"/v1/miners/{miner['id']}", json={"birth_date": "2006-03-11"}, headers=manager)
    assert too_young.status_code == 422
    assert [e["field"] for e in field_errors(too_young)] == ["birth_date"]
    exactly = await registry.patch(f"/v1/miners/{miner['id']}", json={"birth_date": "2006-03-10"}, headers=manager)
    assert exactly.status_code == 200 and exactly.json()["birth_date"] == "2006-03-10"


async def test_patch_refuses_a_national_id_of_another_miner(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Patch Nid")
    first = await create_miner(registry, manager, cooperative["id"])
    second = await create_miner(registry, manager, cooperative["id"])
    taken = await registry.patch(
        f"/v1/miners/{second['id']}", json={"national_id": first["national_id"]}, headers=manager
    )
    assert taken.status_code == 409
    same = await registry.patch(f"/v1/miners/{first['id']}", json={"national_id": first["national_id"]}, headers=manager)
    assert same.status_code == 200


# --- listing and search ----------------------------------------------------------------------


async def test_list_miners_filters_by_cooperative_and_name(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop Search")
    other = await actors.organization("cooperative", "Coop Search Other")
    tag = uuid.uuid4().hex[:8]
    jose = await create_miner(registry, admin_headers, cooperative["id"], full_name=f"María José Ñusta {tag}")
    await create_miner(registry, admin_headers, cooperative["id"], full_name=f"Juan Mamani {tag}")
    await create_miner(registry, admin_headers, other["id"], full_name=f"José Other {tag}")
    await create_miner(registry, admin_headers, cooperative["id"], full_name=f"Percent 100% {tag}")

    async def names(**params) -> list[str]:
        response = await registry.get("/v1/miners", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        return sorted(item["full_name"] for item in response.json()["items"])

    assert await names(cooperative_id=cooperative["id"], q=f"JOSE ñUSTA {tag}") == [jose["full_name"]]
    assert await names(cooperative_id=cooperative["id"], q="jOsÉ") == [jose["full_name"]]
    assert len(await names(q=f"jose {tag}")) == 0  # "jose" and the tag are not adjacent
    assert await names(q=tag) == sorted(
        [f"María José Ñusta {tag}", f"Juan Mamani {tag}", f"José Other {tag}", f"Percent 100% {tag}"]
    )
    assert await names(q=f"100% {tag}") == [f"Percent 100% {tag}"]
    assert await names(q=f"_ {tag}") == []  # LIKE wildcards are literal

    first_page = await registry.get(
        "/v1/miners", params={"cooperative_id": cooperative["id"], "limit": 2}, headers=admin_headers
    )
    page = first_page.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await registry.get(
        "/v1/miners",
        params={"cooperative_id": cooperative["id"], "limit": 2, "cursor": page["next_cursor"]},
        headers=admin_headers,
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    assert all(item["membership"]["cooperative_id"] == cooperative["id"] for item in page["items"])


async def test_coop_manager_lists_only_its_own_miners(registry, actors):
    cooperative_a, manager_a = await actors.cooperative_manager("Coop List A")
    cooperative_b, manager_b = await actors.cooperative_manager("Coop List B")
    miner_a = await create_miner(registry, manager_a, cooperative_a["id"])
    miner_b = await create_miner(registry, manager_b, cooperative_b["id"])
    response = await registry.get("/v1/miners", params={"limit": 500}, headers=manager_b)
    ids = {item["id"] for item in response.json()["items"]}
    assert miner_b["id"] in ids and miner_a["id"] not in ids
    filtered = await registry.get("/v1/miners", params={"cooperative_id": cooperative_a["id"]}, headers=manager_b)
    assert filtered.json()["items"] == []


# --- memberships -----------------------------------------------------------------------------


async def test_leave_then_rejoin_another_cooperative_keeps_the_history(registry, actors, admin_headers):
    cooperative_a = await actors.organization("cooperative", "Coop Leave A")
    cooperative_b = await actors.organization("cooperative", "Coop Leave B")
    miner = await create_miner(registry, admin_headers, cooperative_a["id"], joined_on="2020-01-01")
    url = f"/v1/miners/{miner['id']}"

    early = await registry.post(f"{url}/leave", json={"left_on": "2019-12-31"}, headers=admin_headers)
    assert early.status_code == 422 and [e["field"] for e in field_errors(early)] == ["left_on"]

    busy = await registry.post(
        f"{url}/join", json={"cooperative_id": cooperative_b["id"], "joined_on": "2022-07-01"}, headers=admin_headers
    )
    assert busy.status_code == 409, busy.text

    left = await registry.post(f"{url}/leave", json={"left_on": "2022-06-30"}, headers=admin_headers)
    assert left.status_code == 200, left.text
    assert left.json()["left_on"] == "2022-06-30"
    after_leaving = (await registry.get(url, headers=admin_headers)).json()
    assert after_leaving["membership"] is None
    assert after_leaving["cooperative_id"] == cooperative_a["id"]  # the last cooperative

    again = await registry.post(f"{url}/leave", json={"left_on": "2022-07-01"}, headers=admin_headers)
    assert again.status_code == 409

    overlapping = await registry.post(
        f"{url}/join", json={"cooperative_id": cooperative_b["id"], "joined_on": "2022-06-29"}, headers=admin_headers
    )
    assert overlapping.status_code == 422, overlapping.text
    assert [e["field"] for e in field_errors(overlapping)] == ["joined_on"]

    unknown = await registry.post(
        f"{url}/join", json={"cooperative_id": str(uuid.uuid4()), "joined_on": "2022-07-01"}, headers=admin_headers
    )
    assert unknown.status_code == 422 and [e["field"] for e in field_errors(unknown)] == ["cooperative_id"]

    joined = await registry.post(
        f"{url}/join", json={"cooperative_id": cooperative_b["id"], "joined_on": "2022-06-30"}, headers=admin_headers
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["cooperative_id"] == cooperative_b["id"]

    current = (await registry.get(url, headers=admin_headers)).json()
    assert current["cooperative_id"] == cooperative_b["id"]
    assert current["membership"]["cooperative_id"] == cooperative_b["id"]
    assert current["membership"]["joined_on"] == "2022-06-30"

    history = await registry.get(f"{url}/memberships", headers=admin_headers)
    assert history.status_code == 200
    assert [(m["cooperative_id"], m["joined_on"], m["left_on"]) for m in history.json()] == [
        (cooperative_a["id"], "2020-01-01", "2022-06-30"),
        (cooperative_b["id"], "2022-06-30", None),
    ]

    twice = await registry.post(
        f"{url}/join", json={"cooperative_id": cooperative_a["id"], "joined_on": "2023-01-01"}, headers=admin_headers
    )
    assert twice.status_code == 409


async def test_a_departure_announced_in_advance(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Notice")
    miner = await create_miner(registry, manager, cooperative["id"], joined_on="2024-01-01")
    future = (today() + timedelta(days=365)).isoformat()
    left = await registry.post(f"/v1/miners/{miner['id']}/leave", json={"left_on": future}, headers=manager)
    assert left.status_code == 200, left.text
    shown = (await registry.get(f"/v1/miners/{miner['id']}", headers=manager)).json()
    assert shown["membership"]["left_on"] == future  # still a member until then
    assert await member_ids(registry, manager, cooperative["id"]) == [miner["id"]]
    assert await member_ids(registry, manager, cooperative["id"], on=future) == []


async def test_concurrent_joins_leave_one_open_membership(registry, actors, admin_headers):
    cooperative_a = await actors.organization("cooperative", "Coop Race A")
    cooperative_b = await actors.organization("cooperative", "Coop Race B")
    cooperative_c = await actors.organization("cooperative", "Coop Race C")
    miner = await create_miner(registry, admin_headers, cooperative_a["id"], joined_on="2020-01-01")
    url = f"/v1/miners/{miner['id']}"
    assert (await registry.post(f"{url}/leave", json={"left_on": "2021-01-01"}, headers=admin_headers)).status_code == 200
    responses = await asyncio.gather(
        *(
            registry.post(f"{url}/join", json={"cooperative_id": c["id"], "joined_on": "2022-01-01"}, headers=admin_headers)
            for c in (cooperative_b, cooperative_c)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    history = (await registry.get(f"{url}/memberships", headers=admin_headers)).json()
    assert [m["left_on"] for m in history] == ["2021-01-01", None]
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert (await registry.get(url, headers=admin_headers)).json()["cooperative_id"] == winner["cooperative_id"]


async def test_members_on_a_past_date(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop Past")
    elsewhere = await actors.organization("cooperative", "Coop Elsewhere")
    service = await actors.headers("service")
    founder = await create_miner(registry, admin_headers, cooperative["id"], joined_on="2020-01-01")
    leaver = await create_miner(registry, admin_headers, cooperative["id"], joined_on="2021-01-01")
    latecomer = await create_miner(registry, admin_headers, cooperative["id"], joined_on="2023-01-01")
    mover = await create_miner(registry, admin_headers, elsewhere["id"], joined_on="2019-01-01")
    assert (await registry.post(f"/v1/miners/{leaver['id']}/leave", json={"left_on": "2021-06-01"},
                                headers=admin_headers)).status_code == 200
    assert (await registry.post(f"/v1/miners/{mover['id']}/leave", json={"left_on": "2021-02-01"},
                                headers=admin_headers)).status_code == 200
    assert (await registry.post(f"/v1/miners/{mover['id']}/join",
                                json={"cooperative_id": cooperative["id"], "joined_on": "2021-02-01"},
                                headers=admin_headers)).status_code == 201

    async def members(on: str | None = None) -> set[str]:
        return set(await member_ids(registry, service, cooperative["id"], on=on, limit=2))

    assert await members("2019-06-01") == set()
    assert await members("2020-06-01") == {founder["id"]}
    assert await members("2021-01-31") == {founder["id"], leaver["id"]}
    assert await members("2021-03-01") == {founder["id"], leaver["id"], mover["id"]}
    assert await members("2021-06-01") == {founder["id"], mover["id"]}  # left that day
    assert await members() == {founder["id"], latecomer["id"], mover["id"]}
    assert await member_ids(registry, service, elsewhere["id"], on="2021-01-15") == [mover["id"]]

    response = await registry.get(
        f"/v1/cooperatives/{cooperative['id']}/members", params={"on": "2021-03-01"}, headers=service
    )
    by_id = {item["id"]: item for item in response.json()["items"]}
    assert by_id[leaver["id"]]["membership"]["left_on"] == "2021-06-01"  # the membership covering the date
    assert by_id[mover["id"]]["membership"]["cooperative_id"] == cooperative["id"]

    missing = await registry.get(f"/v1/cooperatives/{uuid.uuid4()}/members", headers=service)
    assert missing.status_code == 404


# --- who sees what ---------------------------------------------------------------------------


async def test_national_id_is_shown_only_to_admin_authority_and_own_manager(registry, actors, admin_headers):
    cooperative, manager = await actors.cooperative_manager("Coop Privacy")
    miner = await create_miner(registry, manager, cooperative["id"])
    authority = await actors.headers("authority", (await actors.organization("authority", "Ministry"))["id"])
    service = await actors.headers("service")

    for headers in (admin_headers, authority, manager):
        one = (await registry.get(f"/v1/miners/{miner['id']}", headers=headers)).json()
        assert one["national_id"] == miner["national_id"]
        listed = (await registry.get(f"/v1/cooperatives/{cooperative['id']}/members", headers=headers)).json()
        assert listed["items"][0]["national_id"] == miner["national_id"]

    one = await registry.get(f"/v1/miners/{miner['id']}", headers=service)
    assert one.status_code == 200
    assert "national_id" not in one.json()
    assert one.json()["full_name"] == miner["full_name"]
    listed = (await registry.get(f"/v1/cooperatives/{cooperative['id']}/members", headers=service)).json()
    assert [item["id"] for item in listed["items"]] == [miner["id"]]
    assert "national_id" not in listed["items"][0]
    searched = (await registry.get("/v1/miners", params={"cooperative_id": cooperative["id"]}, headers=service)).json()
    assert "national_id" not in searched["items"][0]


async def test_another_cooperatives_manager_gets_404(registry, actors, admin_headers):
    cooperative_a, manager_a = await actors.cooperative_manager("Coop Tenant A")
    cooperative_b, manager_b = await actors.cooperative_manager("Coop Tenant B")
    miner = await create_miner(registry, manager_a, cooperative_a["id"], joined_on="2024-01-01")
    url = f"/v1/miners/{miner['id']}"

    assert (await registry.get(url, headers=manager_b)).status_code == 404
    assert (await registry.patch(url, json={"full_name": "Stolen"}, headers=manager_b)).status_code == 404
    assert (await registry.post(f"{url}/leave", json={"left_on": "2024-06-01"}, headers=manager_b)).status_code == 404
    assert (await registry.get(f"{url}/memberships", headers=manager_b)).status_code == 404
    members = await registry.get(f"/v1/cooperatives/{cooperative_a['id']}/members", headers=manager_b)
    assert members.status_code == 404
    created = await registry.post("/v1/miners", json=miner_body(cooperative_a["id"]), headers=manager_b)
    assert created.status_code == 404
    imported = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": cooperative_a["id"]},
        content=HEADER + f"Eva Mamani,female,1990-01-01,{nid()}\n",
        headers={**manager_b, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 404
    # even once the miner has left A, B may not take it over
    assert (await registry.post(f"{url}/leave", json={"left_on": "2024-06-01"}, headers=manager_a)).status_code == 200
    joined = await registry.post(f"{url}/join", json={"cooperative_id": cooperative_b["id"]}, headers=manager_b)
    assert joined.status_code == 404
    into_a = await registry.post(f"{url}/join", json={"cooperative_id": cooperative_a["id"]}, headers=manager_b)
    assert into_a.status_code == 404

    assert (await registry.get(url, headers=admin_headers)).json()["full_name"] == miner["full_name"]
    assert await member_ids(registry, manager_a, cooperative_a["id"], on="2024-03-01") == [miner["id"]]


@pytest.mark.parametrize("role", ["buyer", "certifier"])
async def test_buyers_and_certifiers_have_no_access_to_miners(registry, actors, admin_headers, role):
    cooperative = await actors.organization("cooperative", f"Coop No {role}")
    miner = await create_miner(registry, admin_headers, cooperative["id"])
    organization = await actors.organization("buyer" if role == "buyer" else "certification_body", f"{role} org")
    headers = await actors.headers(role, organization["id"])
    url = f"/v1/miners/{miner['id']}"
    responses = [
        await registry.get("/v1/miners", headers=headers),
        await registry.get(url, headers=headers),
        await registry.get(f"{url}/memberships", headers=headers),
        await registry.post(f"{url}/join", json={"cooperative_id": cooperative["id"]}, headers=headers),
        await registry.get(f"/v1/cooperatives/{cooperative['id']}/members", headers=headers),
        *await attempt_miner_writes(registry, url, cooperative, headers),
    ]
    assert [r.status_code for r in responses] == [403] * len(responses)


async def attempt_miner_writes(registry, miner_url: str, cooperative: dict, headers: dict) -> list:
    """Every kind of write on miners: a PATCH, a leave, a registration and a CSV import."""
    return [
        await registry.patch(miner_url, json={"full_name": "X"}, headers=headers),
        await registry.post(f"{miner_url}/leave", json={}, headers=headers),
        await registry.post("/v1/miners", json=miner_body(cooperative["id"]), headers=headers),
        await registry.post(
            "/v1/miners/import",
            params={"cooperative_id": cooperative["id"]},
            content=HEADER + "Eva Mamani,female,1990-01-01,\n",
            headers={**headers, "Content-Type": "text/csv"},
        ),
    ]


@pytest.mark.parametrize("role", ["authority", "service"])
async def test_readers_may_not_write(registry, actors, admin_headers, role):
    cooperative = await actors.organization("cooperative", f"Coop Read {role}")
    miner = await create_miner(registry, admin_headers, cooperative["id"])
    headers = await actors.headers(role)
    url = f"/v1/miners/{miner['id']}"
    assert (await registry.get(url, headers=headers)).status_code == 200
    assert (await registry.get(f"{url}/memberships", headers=headers)).status_code == 200
    responses = [
        *await attempt_miner_writes(registry, url, cooperative, headers),
    ]
    assert [r.status_code for r in responses] == [403] * len(responses)


async def test_a_token_is_required(registry):
    assert (await registry.get("/v1/miners")).status_code == 401


# --- CSV import ------------------------------------------------------------------------------


async def test_import_multipart(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Import Multipart")
    ids = [nid(), nid()]
    csv_text = HEADER + f"Ana Quispe,female,1990-04-12,{ids[0]}\nJuan Mamani,MALE,1985-12-01,\n" \
        f"Rosa Condori,undisclosed,2000-01-31,{ids[1]}\n"
    response = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": cooperative["id"]},
        files={"file": ("miners.csv", csv_text.encode(), "text/csv")},
        headers=manager,
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["imported"], result["cooperative_id"]) == (3, cooperative["id"])
    assert [miner["line"] for miner in result["miners"]] == [2, 3, 4]

    listed = (await registry.get(f"/v1/cooperatives/{cooperative['id']}/members", headers=manager)).json()["items"]
    assert {m["id"] for m in listed} == {miner["id"] for miner in result["miners"]}
    assert sorted((m["full_name"], m["gender"], m.get("national_id")) for m in listed) == [
        ("Ana Quispe", "female", ids[0]),
        ("Juan Mamani", "male", None),
        ("Rosa Condori", "undisclosed", ids[1]),
    ]
    assert {m["membership"]["joined_on"] for m in listed} == {today().isoformat()}
    searched = await registry.get("/v1/miners", params={"q": "rosa cond", "cooperative_id": cooperative["id"]},
                                  headers=manager)
    assert [m["full_name"] for m in searched.json()["items"]] == ["Rosa Condori"]


async def test_import_text_csv_body(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop Import Raw")
    csv_text = "\ufeff" + HEADER.replace("\n", "\r\n") + f"Luz Huamán,female,1991-01-01,{nid()}\r\n"
    response = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": cooperative["id"]},
        content=csv_text.encode(),
        headers={**admin_headers, "Content-Type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 1
    assert len(await member_ids(registry, admin_headers, cooperative["id"])) == 1


async def test_import_idempotency_key_replay_imports_once(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Import Replay")
    boundary = "minka-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\n"
        f"Content-Type: text/csv\r\n\r\n{HEADER}Ana Quispe,female,1990-04-12,{nid()}\n\r\n--{boundary}--\r\n"
    ).encode()
    headers = {
        **manager,
        "Idempotency-Key": f"import-{uuid.uuid4()}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    responses = [
        await registry.post("/v1/miners/import", params={"cooperative_id": cooperative["id"]}, content=body,
                            headers=headers)
        for _ in range(2)
    ]
    assert [r.status_code for r in responses] == [201, 201], responses[0].text
    assert responses[1].headers.get("Idempotent-Replayed") == "true"
    assert len(await member_ids(registry, manager, cooperative["id"])) == 1


async def test_import_with_bad_rows_lists_every_one_and_writes_nothing(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Import Bad")
    await create_miner(registry, manager, cooperative["id"])
    before = await member_ids(registry, manager, cooperative["id"])
    good = nid()
    csv_text = (
        HEADER
        + f"Ana Quispe,female,1990-04-12,{good}\n"  # line 2: fine
        + "Juan Mamani,robot,1985-12-01,\n"  # line 3: bad gender
        + "Rosa Condori,female,2000-01-31,\n"  # line 4: fine
        + f"Niño Minero,male,{(today() - timedelta(days=3650)).isoformat()},\n"  # line 5: child
    )
    response = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": cooperative["id"]},
        files={"file": ("miners.csv", csv_text.encode(), "text/csv")},
        headers=manager,
    )
    assert response.status_code == 422, response.text
    errors = field_errors(response)
    assert [(e["line"], e["field"]) for e in errors] == [(3, "gender"), (5, "birth_date")]
    assert "under 18" in errors[1]["reason"]
    assert await member_ids(registry, manager, cooperative["id"]) == before
    # nothing of the good rows was written either: their national id is still free
    await create_miner(registry, manager, cooperative["id"], national_id=good)


async def test_import_refuses_a_national_id_already_registered(registry, actors, admin_headers):
    cooperative, manager = await actors.cooperative_manager("Coop Import Dup")
    elsewhere = await actors.organization("cooperative", "Coop Import Dup Elsewhere")
    existing = await create_miner(registry, admin_headers, elsewhere["id"])
    before = await member_ids(registry, manager, cooperative["id"])
    csv_text = HEADER + f"Ana Quispe,female,1990-04-12,{nid()}\nEva Mamani,female,1992-02-02,{existing['national_id']}\n"
    response = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": cooperative["id"]},
        content=csv_text,
        headers={**manager, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    errors = field_errors(response)
    assert [(e["line"], e["field"]) for e in errors] == [(3, "national_id")]
    assert await member_ids(registry, manager, cooperative["id"]) == before


async def test_import_into_an_unknown_cooperative(registry, admin_headers):
    response = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": str(uuid.uuid4())},
        content=HEADER + "Eva Mamani,female,1990-01-01,\n",
        headers={**admin_headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in field_errors(response)] == ["cooperative_id"]
    assert "line" not in field_errors(response)[0]


async def test_import_refuses_empty_wrong_and_oversized_uploads(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop Import Limits")
    url, params = "/v1/miners/import", {"cooperative_id": cooperative["id"]}

    empty = await registry.post(url, params=params, content=HEADER, headers={**admin_headers, "Content-Type": "text/csv"})
    assert empty.status_code == 422 and field_errors(empty)[0]["line"] == 1

    no_file = await registry.post(url, params=params, files={"other": ("x.csv", b"x")}, headers=admin_headers)
    assert no_file.status_code == 422 and field_errors(no_file)[0]["field"] == "file"

    json_body = await registry.post(url, params=params, json={"rows": []}, headers=admin_headers)
    assert json_body.status_code == 415

    big = HEADER.encode() + b"Ana Quispe,female,1990-04-12,\n" * (11 * 1024 * 1024 // 29)
    too_large = await registry.post(url, params=params, content=big, headers={**admin_headers, "Content-Type": "text/csv"})
    assert too_large.status_code == 413, too_large.text
    too_large = await registry.post(url, params=params, files={"file": ("big.csv", big)}, headers=admin_headers)
    assert too_large.status_code == 413, too_large.text
    assert await member_ids(registry, admin_headers, cooperative["id"]) == []


async def test_import_of_10000_rows_runs_as_a_job(registry, actors):
    """A file too big to import before a proxy's timeout: 202, then the job's result, the same as an inline one's."""
    cooperative, manager = await actors.cooperative_manager("Coop Import Big")
    tag = uuid.uuid4().hex[:10]
    lines = [HEADER]
    genders = ("female", "male", "other", "undisclosed")
    for i in range(10_000):
        national_id = f"{tag}-{i}" if i % 3 else ""
        lines.append(f"Minero {i} {tag},{genders[i % 4]},{1960 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d},{national_id}\n")
    response = await registry.post(
        "/v1/miners/import",
        params={"cooperative_id": cooperative["id"]},
        files={"file": ("big.csv", "".join(lines).encode(), "text/csv")},
        headers=manager,
    )
    job = await finished(registry, response, manager)
    assert job["status"] == "succeeded", job
    assert job["result"]["imported"] == 10_000 and job["progress"] == {"done": 10_000, "total": 10_000}
    ids = await member_ids(registry, manager, cooperative["id"])
    assert len(ids) == len(set(ids)) == 10_000
    assert set(ids) == {miner["id"] for miner in job["result"]["miners"]}
    history = await registry.get(f"/v1/miners/{ids[0]}/memberships", headers=manager)
    assert [m["joined_on"] for m in history.json()] == [today().isoformat()]
