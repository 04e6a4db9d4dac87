import httpx


async def test_create_read_and_list_organisations(registry: httpx.AsyncClient, actors):
    created = await registry.post("/v1/organizations", json={"kind": "refiner", "name": "Refinería", "country": "co", "registration_number": "R-1"}, headers=actors.admin_headers)
    assert created.status_code == 201
    organization = created.json()
    assert organization["country"] == "CO"
    fetched = await registry.get(f"/v1/organizations/{organization['id']}", headers=actors.admin_headers)
    assert fetched.json() == organization
    listed = await registry.get("/v1/organizations", params={"kind": "refiner", "limit": 500}, headers=actors.admin_headers)
    assert organization["id"] in {item["id"] for item in listed.json()["items"]}


async def test_unknown_country_and_kind_are_422_naming_the_field(registry: httpx.AsyncClient, actors):
    response = await registry.post("/v1/organizations", json={"kind": "pirate", "name": "X", "country": "XX"}, headers=actors.admin_headers)
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"kind", "country"}


async def test_coop_manager_sees_own_cooperative_and_non_cooperatives_only(registry: httpx.AsyncClient, actors):
    own, manager = await actors.cooperative_manager("Own")
    other = await actors.organization("cooperative", "Other")
    buyer = await actors.organization("buyer", "A buyer")
    assert (await registry.get(f"/v1/organizations/{own['id']}", headers=manager)).status_code == 200
    assert (await registry.get(f"/v1/organizations/{buyer['id']}", headers=manager)).status_code == 200
    assert (await registry.get(f"/v1/organizations/{other['id']}", headers=manager)).status_code == 404
    listed = await registry.get("/v1/organizations", params={"kind": "cooperative", "limit": 500}, headers=manager)
    assert [item["id"] for item in listed.json()["items"]] == [own["id"]]


async def test_patch_by_own_manager_only(registry: httpx.AsyncClient, actors):
    own, manager = await actors.cooperative_manager("Before")
    other, other_manager = await actors.cooperative_manager("Other")
    patched = await registry.patch(f"/v1/organizations/{own['id']}", json={"name": "After"}, headers=manager)
    assert patched.status_code == 200 and patched.json()["name"] == "After"
    assert (await registry.patch(f"/v1/organizations/{own['id']}", json={"name": "Hijack"}, headers=other_manager)).status_code == 404
    certifier = await actors.headers("certifier", (await actors.organization("certification_body"))["id"])
    assert (await registry.get(f"/v1/organizations/{own['id']}", headers=certifier)).status_code == 200
    assert (await registry.patch(f"/v1/organizations/{own['id']}", json={"name": "Nope"}, headers=certifier)).status_code == 403
    assert (await registry.post("/v1/organizations", json={"kind": "buyer", "name": "B", "country": "PE"}, headers=manager)).status_code == 403


async def test_patch_refuses_null_for_required_fields(registry: httpx.AsyncClient, actors):
    own, manager = await actors.cooperative_manager()
    response = await registry.patch(f"/v1/organizations/{own['id']}", json={"name": None}, headers=manager)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "name"
