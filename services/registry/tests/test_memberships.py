"""Plain-function rules for miners and memberships (no HTTP, no database)."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from minka_common.auth import Principal, Role
from minka_common.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable, problem_response
from minka_registry.miners.access import (
    ensure_cooperative_in_scope,
    ensure_may_read_miners,
    ensure_may_write_miners,
    may_see_miner,
    may_see_national_id,
)
from minka_registry.miners.models import Membership, Miner
from minka_registry.miners.rules import Gender
from minka_registry.miners.schemas import miner_out
from minka_registry.miners.service import (
    check_join,
    check_leave,
    current_membership,
    future_date_problem,
    is_member_on,
    latest_membership,
    search_key,
)

COOP_A, COOP_B = uuid.uuid4(), uuid.uuid4()
TODAY = date(2026, 5, 1)
BIRTH = date(1990, 1, 1)


def membership(joined_on: date, left_on: date | None = None, cooperative_id: uuid.UUID = COOP_A) -> Membership:
    return Membership(miner_id=uuid.uuid4(), cooperative_id=cooperative_id, joined_on=joined_on, left_on=left_on)


def principal(role: Role, organization_id: uuid.UUID | None = None) -> Principal:
    return Principal(subject="test", role=role, organization_id=organization_id)


def miner(cooperative_id: uuid.UUID = COOP_A) -> Miner:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Miner(
        id=uuid.uuid4(), full_name="Ana Quispe", search_name="ana quispe", gender=Gender.FEMALE, birth_date=BIRTH,
        national_id="12345678", cooperative_id=cooperative_id, created_at=now, updated_at=now,
    )


# --- membership periods ---------------------------------------------------------------------


def test_membership_covers_joined_on_up_to_but_not_including_left_on():
    m = membership(date(2020, 1, 1), date(2021, 6, 1))
    assert not is_member_on(m, date(2019, 12, 31))
    assert is_member_on(m, date(2020, 1, 1))
    assert is_member_on(m, date(2021, 5, 31))
    assert not is_member_on(m, date(2021, 6, 1))
    assert is_member_on(membership(date(2020, 1, 1)), date(2099, 1, 1))


def test_current_membership_is_the_latest_unless_it_ended():
    ended = membership(date(2020, 1, 1), date(2021, 1, 1))
    reopened = membership(date(2021, 1, 1))
    assert latest_membership([reopened, ended]) is reopened
    assert latest_membership([]) is None
    assert current_membership(reopened, TODAY) is reopened
    assert current_membership(ended, TODAY) is None
    assert current_membership(None, TODAY) is None
    leaving_tomorrow = membership(date(2020, 1, 1), date(2026, 5, 2))
    assert current_membership(leaving_tomorrow, TODAY) is leaving_tomorrow


def test_zero_length_membership_is_older_than_an_open_one_joined_the_same_day():
    empty = membership(date(2021, 1, 1), date(2021, 1, 1))
    reopened = membership(date(2021, 1, 1))
    assert latest_membership([reopened, empty]) is reopened


# --- leaving ---------------------------------------------------------------------------------


def test_leave_ends_the_open_membership():
    old = membership(date(2018, 1, 1), date(2019, 1, 1))
    current = membership(date(2020, 1, 1))
    assert check_leave([old, current], date(2020, 1, 1)) is current  # same day is allowed


def test_leave_without_open_membership_is_a_conflict():
    with pytest.raises(Conflict):
        check_leave([membership(date(2018, 1, 1), date(2019, 1, 1))], date(2020, 1, 1))
    with pytest.raises(Conflict):
        check_leave([], date(2020, 1, 1))


def test_leave_before_joining_is_refused():
    with pytest.raises(Unprocessable) as refused:
        check_leave([membership(date(2020, 1, 1))], date(2019, 12, 31))
    assert [e.field for e in refused.value.errors] == ["left_on"]


def test_a_departure_may_be_recorded_in_advance():
    current = membership(date(2020, 1, 1))
    assert check_leave([current], date(2030, 1, 1)) is current
    current.left_on = date(2030, 1, 1)
    assert is_member_on(current, TODAY)
    assert current_membership(current, TODAY) is current


def test_join_far_in_the_future_is_refused():
    check_join([], BIRTH, date(2026, 5, 2), TODAY)  # one day ahead: time zones
    with pytest.raises(Unprocessable) as refused:
        check_join([], BIRTH, date(2026, 5, 3), TODAY)
    assert refused.value.errors[0].field == "joined_on"


# --- joining ---------------------------------------------------------------------------------


def test_join_after_leaving_on_the_same_day_is_allowed():
    check_join([membership(date(2020, 1, 1), date(2022, 6, 30))], BIRTH, date(2022, 6, 30), TODAY)


def test_join_while_a_membership_is_open_is_a_conflict():
    with pytest.raises(Conflict):
        check_join([membership(date(2020, 1, 1))], BIRTH, date(2025, 1, 1), TODAY)


def test_join_before_the_last_membership_ended_is_refused():
    history = [membership(date(2018, 1, 1), date(2019, 1, 1)), membership(date(2020, 1, 1), date(2022, 6, 30))]
    with pytest.raises(Unprocessable) as refused:
        check_join(history, BIRTH, date(2022, 6, 29), TODAY)
    assert refused.value.errors[0].field == "joined_on"
    assert "overlap" in refused.value.errors[0].reason


def test_join_of_a_minor_is_refused():
    with pytest.raises(Unprocessable) as refused:
        check_join([], date(2010, 1, 1), date(2026, 1, 1), TODAY)
    assert "under 18" in refused.value.errors[0].reason


def test_future_dates():
    assert future_date_problem("joined_on", date(2026, 5, 2), TODAY) is None
    problem = future_date_problem("joined_on", date(2026, 5, 3), TODAY)
    assert problem is not None and problem.field == "joined_on"


# --- search ----------------------------------------------------------------------------------


def test_search_key_ignores_case_accents_and_spacing():
    assert search_key("  José   ÑUSTA Condorí ") == "jose nusta condori"
    assert search_key("Straße") == "strasse"
    assert search_key("jose") in search_key("María José Quispe")


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.certifier, Role.buyer])
def test_certifiers_and_buyers_have_no_access(role):
    with pytest.raises(Forbidden):
        ensure_may_read_miners(principal(role, COOP_A))
    assert not may_see_miner(principal(role, COOP_A), miner())


@pytest.mark.parametrize("role", [Role.authority, Role.service])
def test_readers_may_not_write(role):
    ensure_may_read_miners(principal(role))
    with pytest.raises(Forbidden):
        ensure_may_write_miners(principal(role))


def test_coop_manager_sees_only_its_cooperative():
    manager_a, manager_b = principal(Role.coop_manager, COOP_A), principal(Role.coop_manager, COOP_B)
    assert may_see_miner(manager_a, miner(COOP_A))
    assert not may_see_miner(manager_b, miner(COOP_A))
    ensure_cooperative_in_scope(manager_a, COOP_A)
    with pytest.raises(NotFound):
        ensure_cooperative_in_scope(manager_b, COOP_A)
    ensure_cooperative_in_scope(principal(Role.admin), COOP_A)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (principal(Role.admin), True),
        (principal(Role.authority), True),
        (principal(Role.coop_manager, COOP_A), True),
        (principal(Role.coop_manager, COOP_B), False),
        (principal(Role.service), False),
        (principal(Role.certifier, COOP_B), False),
        (principal(Role.buyer, COOP_B), False),
    ],
)
def test_national_id_visibility(who, sees):
    m = miner(COOP_A)
    assert may_see_national_id(who, m) is sees
    dumped = miner_out(m, None, who).model_dump(exclude_unset=True)
    assert ("national_id" in dumped) is sees
    assert dumped["membership"] is None


def test_field_error_line_is_omitted_when_absent():
    plain = problem_response(Unprocessable("x", errors=[("birth_date", "too young")]).to_problem())
    assert json.loads(plain.body)["errors"] == [{"field": "birth_date", "reason": "too young"}]
    with_line = problem_response(
        Unprocessable("x", errors=[FieldError(line=3, field="gender", reason="bad")]).to_problem()
    )
    assert json.loads(with_line.body)["errors"] == [{"line": 3, "field": "gender", "reason": "bad"}]
