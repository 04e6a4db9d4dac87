"""The typed registry client against the real registry app, in-process, with a service token."""

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from minka_common.clients import ClientCredentialsTokens, UpstreamRefused, http_client
from minka_common.ids import today
from minka_common.pagination import MAX_PAGE_SIZE
from minka_common.registry_client import MembershipInfo, OrganizationInfo, RegistryClient

PAGE_SIZE = 2  # small, so that a handful of members and sites already spans several pages


@pytest.fixture
async def registry_client(registry_app, actors) -> AsyncIterator[RegistryClient]:
    body = {"name": "certification service", "role": "service", "organization_id": None}
    created = await actors.registry.post("/v1/clients", json=body, headers=actors.admin_headers)
    assert created.status_code == 201, created.text
    credentials = created.json()
    async with http_client("http://registry.test", 5, app=registry_app) as http:
        tokens = ClientCredentialsTokens(http, "/v1/oauth/token", credentials["client_id"], credentials["client_secret"])
        yield RegistryClient(http, tokens, page_size=PAGE_SIZE)


async def post(actors, path: str, body: dict) -> dict:
    response = await actors.registry.post(path, json=body, headers=actors.admin_headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def create_site(actors, cooperative_id: str, name: str, **extra) -> dict:
    body = {"cooperative_id": cooperative_id, "name": name, "geometry": {"type": "Point", "coordinates": [-71.0, -12.5]},
            "minerals": ["gold"], "method": "alluvial", **extra}
    return await post(actors, "/v1/sites", body)


async def create_miner(actors, cooperative_id: str, full_name: str, joined_on: str, site_id: str | None = None) -> dict:
    body = {"full_name": full_name, "gender": "female", "birth_date": "1980-01-01", "cooperative_id": cooperative_id,
            "joined_on": joined_on, "site_id": site_id}
    return await post(actors, "/v1/miners", body)


async def test_members_on_today_and_on_a_past_date_across_pages(registry_client, actors):
    cooperative = await actors.organization("cooperative", "Coop Client Members")
    site = await create_site(actors, cooperative["id"], "Río")
    founders = [await create_miner(actors, cooperative["id"], f"Founder {i}", "2020-01-01", site["id"]) for i in range(3)]
    leaver = await create_miner(actors, cooperative["id"], "Leaver", "2020-06-01")
    await post(actors, f"/v1/miners/{leaver['id']}/leave", {"left_on": "2022-01-01"})
    latecomers = [await create_miner(actors, cooperative["id"], f"Latecomer {i}", "2023-01-01") for i in range(2)]

    now = await registry_client.members_on(uuid.UUID(cooperative["id"]), today())
    assert now is not None
    assert sorted(m.full_name for m in now) == sorted(m["full_name"] for m in founders + latecomers)
    by_id = {str(m.id): m for m in now}
    assert by_id[founders[0]["id"]].site_id == uuid.UUID(site["id"])
    assert by_id[founders[0]["id"]].joined_on == date(2020, 1, 1)
    assert by_id[latecomers[0]["id"]].site_id is None

    then = await registry_client.members_on(uuid.UUID(cooperative["id"]), date(2021, 6, 1))
    assert then is not None
    assert {str(m.id) for m in then} == {m["id"] for m in founders} | {leaver["id"]}
    assert next(m for m in then if str(m.id) == leaver["id"]).joined_on == date(2020, 6, 1)

    assert await registry_client.members_on(uuid.uuid4(), today()) is None


async def test_sites_of_a_cooperative_and_one_site(registry_client, actors):
    cooperative = await actors.organization("cooperative", "Coop Client Sites")
    other = await actors.organization("cooperative", "Coop Client Sites Other")
    sites = [await create_site(actors, cooperative["id"], f"Mina {i}") for i in range(PAGE_SIZE + 1)]
    sized = await create_site(actors, cooperative["id"], "Mina grande", capacity_kg_per_month="12.500", status="inactive")
    await create_site(actors, other["id"], "Ajena")

    found = await registry_client.sites_of(uuid.UUID(cooperative["id"]))
    assert sorted(str(s.id) for s in found) == sorted(s["id"] for s in [*sites, sized])
    assert {s.cooperative_id for s in found} == {uuid.UUID(cooperative["id"])}

    one = await registry_client.site(uuid.UUID(sized["id"]))
    assert one is not None
    assert (one.name, one.minerals, one.status) == ("Mina grande", ["gold"], "inactive")
    assert one.capacity_kg_per_month == Decimal("12.5")
    assert one.forest_smart_applicable is (one.forest_distance_km is not None and one.forest_distance_km <= 5)

    assert await registry_client.site(uuid.uuid4()) is None
    assert await registry_client.sites_of(uuid.uuid4()) == []


async def test_memberships_of_a_miner(registry_client, actors):
    first = await actors.organization("cooperative", "Coop Client History A")
    second = await actors.organization("cooperative", "Coop Client History B")
    miner = await create_miner(actors, first["id"], "Mover", "2020-01-01")
    await post(actors, f"/v1/miners/{miner['id']}/leave", {"left_on": "2021-01-01"})
    await post(actors, f"/v1/miners/{miner['id']}/join", {"cooperative_id": second["id"], "joined_on": "2021-02-01"})

    miner_id = uuid.UUID(miner["id"])
    assert await registry_client.memberships(miner_id) == [
        MembershipInfo(miner_id=miner_id, cooperative_id=first["id"], joined_on="2020-01-01", left_on="2021-01-01"),
        MembershipInfo(miner_id=miner_id, cooperative_id=second["id"], joined_on="2021-02-01", left_on=None),
    ]
    assert await registry_client.memberships(uuid.uuid4()) is None


async def test_an_organization(registry_client, actors):
    buyer = await actors.organization("buyer", "Client Buyer", "CO")
    assert await registry_client.organization(uuid.UUID(buyer["id"])) == OrganizationInfo(
        id=buyer["id"], kind="buyer", name="Client Buyer", country="CO"
    )
    assert await registry_client.organization(uuid.uuid4()) is None


@pytest.mark.parametrize("page_size", [0, MAX_PAGE_SIZE + 1])
async def test_the_page_size_is_one_the_registry_accepts(registry_app, page_size):
    async with http_client("http://registry.test", 5, app=registry_app) as http:
        with pytest.raises(ValueError):
            RegistryClient(http, page_size=page_size)


async def test_a_client_without_service_credentials_gets_a_502_problem_not_a_crash(registry_app, actors):
    cooperative = await actors.organization("cooperative", "Coop Client Refused")
    async with http_client("http://registry.test", 5, app=registry_app) as http:
        anonymous = RegistryClient(http, tokens=None)
        with pytest.raises(UpstreamRefused) as refused:
            await anonymous.organization(uuid.UUID(cooperative["id"]))
    assert refused.value.status == 502
    assert "401" in refused.value.to_problem().detail
