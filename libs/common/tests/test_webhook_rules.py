"""The webhook rules as plain functions: backoff, outcomes, who receives what, URLs, secrets and signatures."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from minka_common.events.webhook_rules import (
    NO_ANSWER,
    DeliveryState,
    Outcome,
    RetryPolicy,
    after_attempt,
    may_receive,
    new_secret,
    outcome_of_error,
    outcome_of_response,
    payload,
    signed_headers,
    url_problem,
)
from minka_common.events.webhook_targets import ADDRESS_NOT_ALLOWED, TargetRefused

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_seconds=10, max_seconds=45)


def test_backoff_doubles_from_the_base_up_to_the_cap():
    assert [POLICY.delay(attempts).total_seconds() for attempts in range(1, 6)] == [10, 20, 40, 45, 45]
    assert RetryPolicy(1000, 1, 3600).delay(999) == timedelta(hours=1)


def test_a_failed_attempt_is_retried_after_the_backoff_until_the_attempts_run_out():
    failure = outcome_of_response(500)
    first = after_attempt(0, failure, NOW, POLICY)
    assert first["state"] == DeliveryState.pending and first["attempts"] == 1
    assert first["next_attempt_at"] == NOW + timedelta(seconds=10)
    assert first["last_status_code"] == 500 and "500" in first["last_error"]
    assert after_attempt(2, failure, NOW, POLICY)["next_attempt_at"] == NOW + timedelta(seconds=40)
    last = after_attempt(4, failure, NOW, POLICY)
    assert last["state"] == DeliveryState.failed and last["attempts"] == 5 and last["next_attempt_at"] is None


def test_a_2xx_answer_delivers_and_anything_else_fails():
    delivered = after_attempt(2, outcome_of_response(204), NOW, POLICY)
    assert delivered["state"] == DeliveryState.succeeded and delivered["attempts"] == 3
    assert delivered["delivered_at"] == NOW and delivered["last_error"] is None
    for status in (199, 301, 404, 429, 503):
        assert not outcome_of_response(status).succeeded
    timeout = outcome_of_error(TimeoutError())
    assert not timeout.succeeded and timeout.status_code is None
    assert after_attempt(0, timeout, NOW, POLICY)["state"] == DeliveryState.pending


def test_the_owner_sees_that_no_answer_came_not_why():
    """Telling a refused connection from a timeout or a TLS failure would map the receiver's network."""
    failures = [TimeoutError(), httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("timed out"),
                httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), httpx.RemoteProtocolError("disconnected"),
                OSError("Network is unreachable"), RuntimeError("x" * 5000)]
    assert {outcome_of_error(error) for error in failures} == {Outcome(None, NO_ANSWER)}
    refused = outcome_of_error(TargetRefused(ADDRESS_NOT_ALLOWED, "hooks.example resolves to 10.0.0.1"))
    assert refused == Outcome(None, ADDRESS_NOT_ALLOWED) and "10.0.0.1" not in refused.error


def webhook(**overrides) -> SimpleNamespace:
    fields = {"organization_id": "org-a", "sees_all": False, "event_types": ["lot.created"], "from_position": 10,
              "disabled_at": None}
    return SimpleNamespace(**(fields | overrides))


def test_a_webhook_receives_its_types_addressed_to_its_owner_after_it_was_registered():
    assert may_receive(webhook=webhook(), event_type="lot.created", position=11, audience={"org-a", "org-b"})
    assert not may_receive(webhook=webhook(), event_type="lot.dispatched", position=11, audience={"org-a"})
    assert not may_receive(webhook=webhook(), event_type="lot.created", position=10, audience={"org-a"})
    assert not may_receive(webhook=webhook(disabled_at=NOW), event_type="lot.created", position=11, audience={"org-a"})


def test_the_wrong_tenant_receives_nothing_and_an_unscoped_owner_everything():
    assert not may_receive(webhook=webhook(), event_type="lot.created", position=11, audience={"org-b"})
    assert not may_receive(webhook=webhook(), event_type="lot.created", position=11, audience=set())
    everything = webhook(organization_id=None, sees_all=True)
    assert may_receive(webhook=everything, event_type="lot.created", position=11, audience=set())


@pytest.mark.parametrize("url", ["https://example.com/hook", "http://example.com:8080/x?y=1", "https://a.b/"])
def test_well_formed_http_urls_pass_the_syntax_check(url):
    """Whether Minka may send to them is the target rule's question (test_webhook_targets.py)."""
    assert url_problem(url) is None


@pytest.mark.parametrize("url, reason", [
    ("ftp://example.com/hook", "http"),
    ("example.com/hook", "http"),
    ("https://", "host"),
    ("http:///path", "host"),
    ("https://example.com:port/", "valid"),
    ("https://exa mple.com/", "spaces"),
    ("https://[::1/", "valid"),
    ("https://example.com/" + "a" * 2000, "2000"),
])
def test_other_urls_are_refused_with_a_reason(url, reason):
    assert reason in (url_problem(url) or "")


def test_secrets_are_32_random_bytes_in_the_standard_format():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != new_secret()


def test_the_payload_is_signed_so_that_a_standard_receiver_verifies_it():
    event = SimpleNamespace(event_id="0196-event", type="lot.created", subject="lot:1", occurred_at=NOW,
                            data={"mass": {"value": "1.5", "unit": "kg"}, "name": "Señora"})
    body = payload(event)
    assert json.loads(body) == {"id": "0196-event", "type": "lot.created", "subject": "lot:1",
                                "timestamp": "2025-03-01T12:00:00Z", "data": event.data}
    secret = new_secret()
    headers = signed_headers(secret, "0196-event", body, datetime.now(UTC))
    assert headers["content-type"] == "application/json" and headers["webhook-id"] == "0196-event"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("1.5", "9.5"), headers)
