"""A miner's site: where they work, always a site of their own cooperative."""

import uuid

import httpx


def site_body(cooperative_id: str, name: str) -> dict:
    return {"cooperative_id": cooperative_id, "name": name, "geometry": {"type": "Point", "coordinates": [-70.5, -13.2]},
            "minerals": ["gold"], "method": "alluvial"}


async def create_site(registry: httpx.AsyncClient, headers: dict, cooperative_id: str, name: str = "Mina") -> dict:
    response = await registry.post("/v1/sites", json=site_body(cooperative_id, name), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def miner_body(cooperative_id: str, **overrides) -> dict:
    return {"full_name": "Ana Quispe", "gender": "female", "birth_date": "1990-04-12", "cooperative_id": cooperative_id,
            **overrides}


async def create_miner(registry: httpx.AsyncClient, headers: dict, cooperative_id: str, **overrides) -> dict:
    response = await registry.post("/v1/miners", json=miner_body(cooperative_id, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def site_id_reason(response: httpx.Response, site_id: str) -> str:
    """The reason given on site_id, with the id itself taken out (it is the only part that may differ)."""
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["site_id"]
    return errors[0]["reason"].replace(site_id, "<id>")


async def test_a_miner_works_at_a_site_of_their_cooperative(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Site Miner")
    river = await create_site(registry, manager, cooperative["id"], "Río")
    hill = await create_site(registry, manager, cooperative["id"], "Cerro")
    miner = await create_miner(registry, manager, cooperative["id"], site_id=river["id"])
    url = f"/v1/miners/{miner['id']}"
    assert miner["site_id"] == river["id"]
    assert (await registry.get(url, headers=manager)).json()["site_id"] == river["id"]

    moved = await registry.patch(url, json={"site_id": hill["id"]}, headers=manager)
    assert moved.status_code == 200, moved.text
    assert moved.json()["site_id"] == hill["id"]

    renamed = await registry.patch(url, json={"full_name": "Ana Q. Quispe"}, headers=manager)
    assert renamed.json()["site_id"] == hill["id"]  # left out: unchanged

    cleared = await registry.patch(url, json={"site_id": None}, headers=manager)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["site_id"] is None
    assert (await registry.get(url, headers=manager)).json()["site_id"] is None


async def test_without_a_site_the_miner_has_none(registry, actors, admin_headers):
    cooperative = await actors.organization("cooperative", "Coop No Site")
    assert (await create_miner(registry, admin_headers, cooperative["id"]))["site_id"] is None


async def test_another_cooperatives_site_reads_like_a_missing_one(registry, actors, admin_headers):
    cooperative, manager = await actors.cooperative_manager("Coop Site Own")
    other = await actors.organization("cooperative", "Coop Site Other")
    foreign = await create_site(registry, admin_headers, other["id"], "Ajena")
    missing = str(uuid.uuid4())
    miner = await create_miner(registry, manager, cooperative["id"])
    url = f"/v1/miners/{miner['id']}"

    reasons = set()
    for headers in (manager, admin_headers):
        for site_id in (foreign["id"], missing):
            created = await registry.post("/v1/miners", json=miner_body(cooperative["id"], site_id=site_id),
                                          headers=headers)
            reasons.add(site_id_reason(created, site_id))
            patched = await registry.patch(url, json={"site_id": site_id}, headers=headers)
            reasons.add(site_id_reason(patched, site_id))
    assert len(reasons) == 1
    assert (await registry.get(url, headers=manager)).json()["site_id"] is None
    listed = await registry.get("/v1/miners", params={"cooperative_id": cooperative["id"]}, headers=manager)
    assert [m["id"] for m in listed.json()["items"]] == [miner["id"]]  # the refused registrations wrote nothing


async def test_joining_another_cooperative_clears_the_site(registry, actors, admin_headers):
    first = await actors.organization("cooperative", "Coop Site First")
    second = await actors.organization("cooperative", "Coop Site Second")
    site = await create_site(registry, admin_headers, first["id"])
    miner = await create_miner(registry, admin_headers, first["id"], joined_on="2022-01-01", site_id=site["id"])
    url = f"/v1/miners/{miner['id']}"
    assert (await registry.post(f"{url}/leave", json={"left_on": "2023-01-01"}, headers=admin_headers)).status_code == 200
    assert (await registry.get(url, headers=admin_headers)).json()["site_id"] == site["id"]

    joined = await registry.post(f"{url}/join", json={"cooperative_id": second["id"], "joined_on": "2023-01-01"},
                                 headers=admin_headers)
    assert joined.status_code == 201, joined.text
    assert (await registry.get(url, headers=admin_headers)).json()["site_id"] is None
    back = await registry.patch(url, json={"site_id": site["id"]}, headers=admin_headers)
    assert site_id_reason(back, site["id"])  # the first cooperative's site is no longer the miner's to work at
