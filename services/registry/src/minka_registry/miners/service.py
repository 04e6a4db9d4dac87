"""Miners and memberships: the rules (plain functions, no I/O) and the database operations.

Database operations take the request's session and flush; the request commits once, so
every write that touches several rows is one transaction. Authorisation is
not done here (see ``access.py``): callers pass only what the principal may
act on.

Membership dates are days. A membership covers ``joined_on`` up to, but not
including, ``left_on``: a miner who leaves one cooperative on D and joins
another on D is a member of the second one on D, and memberships never
overlap.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, String, Uuid, bindparam, func, insert, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.errors import Conflict, FieldError, Unprocessable
from minka_common.ids import new_id, utcnow
from minka_registry import events
from minka_registry.miners.csv_import import RowProblem, parse_miner_csv
from minka_registry.miners.models import Membership, Miner
from minka_registry.miners.rules import under_age_reason
from minka_registry.miners.schemas import MinerCreate
from minka_registry.organizations.models import Organization, OrganizationKind
from minka_registry.sites.models import Site

DAYS_AHEAD_ALLOWED = 1
"""``joined_on`` may be at most this many days after today (UTC, with a day's slack for callers ahead of UTC).

The age rule is checked on ``joined_on``: a joining date far in the future
would let someone under 18 today be registered now.
"""

_IN_CHUNK = 500  # values per IN (...) list on SQLite, well below its parameter limit


# --------------------------------------------------------------------------------------------
# Rules (plain functions)
# --------------------------------------------------------------------------------------------


def search_key(text: str) -> str:
    """Case- and accent-insensitive form of a name (``"José  ÑUSTA"`` → ``"jose nusta"``).

    Stored next to ``full_name`` and applied to ``?q=`` so that search behaves the
    same on SQLite (whose ``lower()`` only folds ASCII) and PostgreSQL.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def age_problem(birth_date: date, registered_on: date) -> FieldError | None:
    """The field error for a miner too young on the registration date, or None."""
    reason = under_age_reason(birth_date, registered_on)
    return None if reason is None else FieldError(field="birth_date", reason=reason)


def future_date_problem(field: str, value: date, today: date) -> FieldError | None:
    if value > today + timedelta(days=DAYS_AHEAD_ALLOWED):
        return FieldError(field=field, reason=f"{field} {value.isoformat()} is in the future")
    return None


def is_member_on(membership: Membership, on: date) -> bool:
    return membership.joined_on <= on and (membership.left_on is None or membership.left_on > on)


def latest_membership(memberships: Iterable[Membership]) -> Membership | None:
    return max(memberships, key=lambda m: (m.joined_on, m.left_on is None, m.id), default=None)


def current_membership(latest: Membership | None, today: date) -> Membership | None:
    """The membership shown on a miner: the latest one unless it has ended."""
    if latest is None or (latest.left_on is not None and latest.left_on <= today):
        return None
    return latest


def open_membership(memberships: Iterable[Membership]) -> Membership | None:
    return next((m for m in memberships if m.left_on is None), None)


def check_leave(memberships: Sequence[Membership], left_on: date) -> Membership:
    """The open membership that ``left_on`` may end; 409 without one, 422 if it would end before it began.

    A future ``left_on`` is accepted (a departure announced in advance): the
    miner stays a member, and is shown with that membership, until that day.
    """
    membership = open_membership(memberships)
    if membership is None:
        raise Conflict("the miner has no open membership to leave")
    if left_on < membership.joined_on:
        problem = FieldError(
            field="left_on",
            reason=f"left_on {left_on.isoformat()} is before joined_on {membership.joined_on.isoformat()} "
            "of the current membership",
        )
        raise Unprocessable("The leaving date is not valid.", errors=[problem])
    return membership


def check_join(memberships: Sequence[Membership], birth_date: date, joined_on: date, today: date) -> None:
    """A miner joins only when no membership is open (409) and without overlapping the last one (422)."""
    current = open_membership(memberships)
    if current is not None:
        raise Conflict(
            f"the miner is a member of cooperative {current.cooperative_id} since "
            f"{current.joined_on.isoformat()}; record that they left it first"
        )
    problem = future_date_problem("joined_on", joined_on, today)
    last_left_on = max((m.left_on for m in memberships if m.left_on is not None), default=None)
    if problem is None and last_left_on is not None and joined_on < last_left_on:
        problem = FieldError(
            field="joined_on",
            reason=f"joined_on {joined_on.isoformat()} is before {last_left_on.isoformat()}, when the previous "
            "membership ended; memberships may not overlap",
        )
    if problem is None:
        age = age_problem(birth_date, joined_on)
        problem = None if age is None else FieldError(field="joined_on", reason=age.reason)
    if problem is not None:
        raise Unprocessable("The joining date is not valid.", errors=[problem])


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


async def find_cooperative(session: AsyncSession, cooperative_id: uuid.UUID) -> Organization | None:
    organization = await session.get(Organization, cooperative_id)
    if organization is None or organization.kind != OrganizationKind.cooperative:
        return None
    return organization


async def cooperative_problem(
    session: AsyncSession, cooperative_id: uuid.UUID, field: str = "cooperative_id"
) -> FieldError | None:
    if await find_cooperative(session, cooperative_id) is None:
        return FieldError(field=field, reason=f"there is no cooperative with id {cooperative_id}")
    return None


async def site_problem(session: AsyncSession, site_id: uuid.UUID | None, cooperative_id: uuid.UUID) -> FieldError | None:
    """A miner's site must be one of their cooperative's.

    A missing site and another cooperative's site get the same answer, so that
    nobody learns of another tenant's sites by probing ids.
    """
    if site_id is None:
        return None
    site = await session.get(Site, site_id)
    if site is None or site.cooperative_id != cooperative_id:
        return FieldError(field="site_id", reason=f"there is no site with id {site_id} in the miner's cooperative")
    return None


async def memberships_of(session: AsyncSession, miner_id: uuid.UUID) -> list[Membership]:
    """A miner's whole membership history, oldest first."""
    statement = (
        select(Membership).where(Membership.miner_id == miner_id).order_by(col(Membership.joined_on), col(Membership.id))
    )
    return list((await session.exec(statement)).all())


async def _select_where_in(
    session: AsyncSession, statement: Select, column: Any, values: Sequence[Any], sql_type: TypeEngine
) -> list[Any]:
    """Run ``statement`` restricted to rows whose ``column`` is one of ``values``.

    On PostgreSQL the values go in as one array joined through ``unnest``: a long
    ``IN ($1, …, $1000)`` list, once the prepared statement falls back to a
    generic plan on a freshly bulk-loaded table, becomes a sequential scan that
    compares every row with every value (seconds per query at a few ten
    thousand miners). SQLite answers ``IN`` lists through the index, in chunks
    that stay below its parameter limit.
    """
    if not values:
        return []
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        wanted = (
            func.unnest(bindparam("wanted_values", list(values), type_=ARRAY(sql_type)))
            .table_valued("value")
            .render_derived(name="wanted")
        )
        return list((await session.exec(statement.join(wanted, column == wanted.c.value))).all())
    rows: list[Any] = []
    for start in range(0, len(values), _IN_CHUNK):
        rows += (await session.exec(statement.where(column.in_(values[start : start + _IN_CHUNK])))).all()
    return rows


async def latest_memberships(session: AsyncSession, miner_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Membership]:
    """The latest membership of each miner (one query, never one per miner)."""
    by_miner: dict[uuid.UUID, list[Membership]] = {}
    for membership in await _select_where_in(session, select(Membership), col(Membership.miner_id), miner_ids, Uuid()):
        by_miner.setdefault(membership.miner_id, []).append(membership)
    return {miner_id: latest for miner_id, ms in by_miner.items() if (latest := latest_membership(ms)) is not None}


async def taken_national_ids(
    session: AsyncSession, national_ids: Sequence[str], except_miner: uuid.UUID | None = None
) -> set[str]:
    """Those of ``national_ids`` that already belong to a miner (other than ``except_miner``)."""
    statement = select(Miner.national_id)
    if except_miner is not None:
        statement = statement.where(Miner.id != except_miner)
    found = await _select_where_in(session, statement, col(Miner.national_id), national_ids, String())
    return {n for n in found if n is not None}


def national_id_taken_error(national_id: str) -> Conflict:
    return Conflict(
        "Another miner is registered with this national_id.",
        errors=[FieldError(field="national_id", reason=f"national_id {national_id!r} belongs to another miner")],
    )


def miners_statement(cooperative_id: uuid.UUID | None = None, q: str | None = None) -> Select:
    """Miners, optionally of one cooperative (current or last membership) and matching a name search."""
    statement = select(Miner)
    if cooperative_id is not None:
        statement = statement.where(Miner.cooperative_id == cooperative_id)
    if q is not None and (key := search_key(q)):
        statement = statement.where(col(Miner.search_name).contains(key, autoescape=True))
    return statement


def members_statement(cooperative_id: uuid.UUID, on: date) -> Select:
    """One query: (miner, membership) rows of those who were members of the cooperative on ``on``."""
    return (
        select(Miner, Membership)
        .join(Membership, col(Membership.miner_id) == Miner.id)
        .where(
            Membership.cooperative_id == cooperative_id,
            col(Membership.joined_on) <= on,
            or_(col(Membership.left_on).is_(None), col(Membership.left_on) > on),
        )
    )


# --------------------------------------------------------------------------------------------
# Writes (each ends with one flush; the request's unit of work commits)
# --------------------------------------------------------------------------------------------


async def _flush(session: AsyncSession, *, flush_first: bool = False, then: Sequence[object] = ()) -> None:
    """Flush; a unique index hit by a concurrent request becomes a 409 instead of a 500.

    With ``flush_first`` what is already in the session is flushed before ``then`` is added.
    """
    try:
        if flush_first:
            await session.flush()
        session.add_all(then)
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        message = str(exc.orig)
        if "national_id" in message:
            raise Conflict(
                "Another miner is registered with one of these national_id values.",
                errors=[FieldError(field="national_id", reason="belongs to another miner")],
            ) from exc
        if "uq_memberships_one_open_per_miner" in message or "memberships.miner_id" in message:
            raise Conflict("the miner already has an open membership") from exc
        raise Conflict("the change conflicts with another one made at the same time; retry") from exc


async def create_miner(session: AsyncSession, data: MinerCreate, today: date) -> tuple[Miner, Membership]:
    """Register a miner with a first membership; registration date = ``joined_on`` (default today)."""
    joined_on = data.joined_on or today
    problems = [
        p
        for p in (
            future_date_problem("joined_on", joined_on, today),
            age_problem(data.birth_date, joined_on),
            await cooperative_problem(session, data.cooperative_id),
            await site_problem(session, data.site_id, data.cooperative_id),
        )
        if p is not None
    ]
    if problems:
        raise Unprocessable("The miner cannot be registered.", errors=problems)
    if data.national_id is not None and await taken_national_ids(session, [data.national_id]):
        raise national_id_taken_error(data.national_id)

    now = utcnow()
    miner = Miner(
        full_name=data.full_name,
        search_name=search_key(data.full_name),
        gender=data.gender,
        birth_date=data.birth_date,
        national_id=data.national_id,
        cooperative_id=data.cooperative_id,
        site_id=data.site_id,
        created_at=now,
        updated_at=now,
    )
    membership = Membership(miner_id=miner.id, cooperative_id=data.cooperative_id, joined_on=joined_on, created_at=now)
    session.add(miner)
    events.member_joined(session, membership.id, miner.id, data.cooperative_id, joined_on)
    # The miner row first (no ORM relationship orders the two inserts), then both in one transaction.
    await _flush(session, flush_first=True, then=[membership])
    return miner, membership


async def update_miner(
    session: AsyncSession, miner: Miner, changes: dict, today: date
) -> tuple[Miner, Membership | None]:
    """Apply a partial update; a new birth date is checked against the latest membership's ``joined_on``."""
    latest = (await latest_memberships(session, [miner.id])).get(miner.id)
    problems: list[FieldError | None] = []
    if "birth_date" in changes:
        registered_on = latest.joined_on if latest is not None else miner.created_at.date()
        problems.append(age_problem(changes["birth_date"], registered_on))
    if "site_id" in changes:
        problems.append(await site_problem(session, changes["site_id"], miner.cooperative_id))
    if errors := [p for p in problems if p is not None]:
        raise Unprocessable("The miner cannot be changed.", errors=errors)
    national_id = changes.get("national_id")
    if national_id is not None and national_id != miner.national_id:
        if await taken_national_ids(session, [national_id], except_miner=miner.id):
            raise national_id_taken_error(national_id)

    for field, value in changes.items():
        setattr(miner, field, value)
    if "full_name" in changes:
        miner.search_name = search_key(miner.full_name)
    miner.updated_at = utcnow()
    session.add(miner)
    await _flush(session)
    return miner, current_membership(latest, today)


async def leave_cooperative(session: AsyncSession, miner: Miner, left_on: date) -> Membership:
    membership = check_leave(await memberships_of(session, miner.id), left_on)
    membership.left_on = left_on
    miner.updated_at = utcnow()
    session.add_all([membership, miner])
    events.member_left(session, membership.id, miner.id, membership.cooperative_id, left_on)
    await _flush(session)
    return membership


async def join_cooperative(
    session: AsyncSession, miner: Miner, cooperative_id: uuid.UUID, joined_on: date, today: date
) -> Membership:
    """Start a new membership (history is kept); the miner's ``cooperative_id`` follows it, a site does not."""
    check_join(await memberships_of(session, miner.id), miner.birth_date, joined_on, today)
    problem = await cooperative_problem(session, cooperative_id)
    if problem is not None:
        raise Unprocessable("The miner cannot join this cooperative.", errors=[problem])
    now = utcnow()
    membership = Membership(miner_id=miner.id, cooperative_id=cooperative_id, joined_on=joined_on, created_at=now)
    if cooperative_id != miner.cooperative_id:
        miner.site_id = None  # a site belongs to one cooperative; the new one has to assign its own
    miner.cooperative_id = cooperative_id
    miner.updated_at = now
    session.add_all([membership, miner])
    events.member_joined(session, membership.id, miner.id, cooperative_id, joined_on)
    await _flush(session)
    return membership


def _row_error(problem: RowProblem) -> FieldError:
    return FieldError(line=problem.line, field=problem.field, reason=problem.reason)


async def import_miners(
    session: AsyncSession, cooperative_id: uuid.UUID, data: bytes | str, today: date,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> list[tuple[int, uuid.UUID]]:
    """Import a CSV file of miners into a cooperative, all or nothing; returns each new miner's line and id.

    Every problem of the file is reported at once (422, one error per problem
    with its line), including national_id values already registered. On
    success the miners and their memberships are bulk-inserted in one
    transaction (two multi-row INSERT statements, no per-row flush).
    """
    problem = await cooperative_problem(session, cooperative_id)
    if problem is not None:
        raise Unprocessable("The cooperative to import into does not exist.", errors=[problem])

    rows, problems = parse_miner_csv(data, today)
    progress(0, len(rows) + len(problems))
    taken = await taken_national_ids(session, [r.national_id for r in rows if r.national_id is not None])
    if taken:
        problems = sorted(
            [
                *problems,
                *(
                    RowProblem(r.line, "national_id", f"national_id {r.national_id!r} belongs to a registered miner")
                    for r in rows
                    if r.national_id in taken
                ),
            ],
            key=lambda p: p.line,
        )
    if problems:
        lines = len({p.line for p in problems})
        raise Unprocessable(
            f"{lines} line{'s' if lines != 1 else ''} of the file {'have' if lines != 1 else 'has'} problems; "
            "nothing was imported.",
            errors=[_row_error(p) for p in problems],
        )

    progress(len(rows) // 2, len(rows))  # checked; the inserts are the other half of the work
    now = utcnow()
    miners: list[dict] = []
    memberships: list[dict] = []
    for row in rows:
        miner_id = new_id()
        miners.append(
            {
                "id": miner_id,
                "full_name": row.full_name,
                "search_name": search_key(row.full_name),
                "gender": row.gender,
                "birth_date": row.birth_date,
                "national_id": row.national_id,
                "cooperative_id": cooperative_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        memberships.append(
            {
                "id": new_id(),
                "miner_id": miner_id,
                "cooperative_id": cooperative_id,
                "joined_on": today,
                "left_on": None,
                "created_at": now,
            }
        )
    await session.exec(insert(Miner), params=miners)
    await session.exec(insert(Membership), params=memberships)
    for membership in memberships:
        events.member_joined(session, membership["id"], membership["miner_id"], cooperative_id, today)
    await _flush(session)
    progress(len(rows), len(rows))
    return [(row.line, miner["id"]) for row, miner in zip(rows, miners, strict=True)]
