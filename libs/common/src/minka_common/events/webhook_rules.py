"""Webhook rules as plain functions: who may receive an event, what is sent, and when a failed send is retried."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from minka_common.events.tables import MAX_URL_LENGTH
from minka_common.events.webhook_targets import TargetRefused

SECRET_PREFIX = "whsec_"
NO_ANSWER = "the delivery failed: no answer from the receiver"


class DeliveryState(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def url_problem(url: str) -> str | None:
    """Why a webhook URL is refused, or None when it is well formed: http(s), with a host, not too long. Whether
    Minka may send to it is webhook_targets' question."""
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
        httpx.URL(url)  # the parser deliveries are sent with
    except (ValueError, httpx.InvalidURL):
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if any(character.isspace() for character in url):
        return "must not contain spaces"
    return None


def may_receive(
    *,
    webhook: Any,
    event_type: str,
    position: int,
    audience: Collection[str],
) -> bool:
    """A webhook receives an event of a type it asked for, recorded after it was registered, that its owner
    could read in the feed (an unscoped owner reads every event, others only those addressed to their org)."""
    if webhook.disabled_at is not None or position <= webhook.from_position:
        return False
    if event_type not in webhook.event_types:
        return False
    return bool(webhook.sees_all) or webhook.organization_id in audience


def payload(event: Any) -> str:
    """The request body of a delivery: the event as the feed shows it, in Standard Webhooks' shape."""
    body = {
        "id": event.event_id,
        "type": event.type,
        "subject": event.subject,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, event_id: str, body: str, sent_at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; ``sent_at`` is the real wall time, which receivers check against their own."""
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, sent_at, body),
    }


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: the base, doubled after each further failure."""
        exponent = min(max(attempts - 1, 0), 62)  # far beyond any cap; keeps the float finite
        return timedelta(seconds=min(self.base_seconds * 2**exponent, self.max_seconds))


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: the receiver's status code (if it answered) and, unless it succeeded, why not."""

    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def outcome_of_response(status_code: int) -> Outcome:
    if 200 <= status_code < 300:
        return Outcome(status_code, None)
    return Outcome(status_code, f"the receiver answered HTTP {status_code}")


def outcome_of_error(error: BaseException) -> Outcome:
    """A failure without an answer. The owner sees that the target was refused, or only that no answer came:
    telling a refused connection from a timeout or a TLS failure would map the receiver's network for them
    (the detail goes to the server log)."""
    if isinstance(error, TargetRefused):
        return Outcome(None, error.reason)
    return Outcome(None, NO_ANSWER)


def after_attempt(attempts_before: int, outcome: Outcome, now: datetime, policy: RetryPolicy) -> Mapping[str, Any]:
    """The delivery's new columns after an attempt: delivered, retried later with backoff, or failed for good."""
    attempts = attempts_before + 1
    recorded = {"attempts": attempts, "last_status_code": outcome.status_code, "last_error": outcome.error}
    if outcome.succeeded:
        return recorded | {"state": DeliveryState.succeeded, "next_attempt_at": None, "delivered_at": now}
    if attempts >= policy.max_attempts:
        return recorded | {"state": DeliveryState.failed, "next_attempt_at": None}
    return recorded | {"state": DeliveryState.pending, "next_attempt_at": now + policy.delay(attempts)}
