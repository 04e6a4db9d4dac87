"""Certification's domain events: what happens to a certificate, seen by its cooperative and certification body.

Every status change goes through ``certifications.service.change_status`` (decisions, audits, and the time
rules applied on read or by the periodic job), which records the event of that change in its transaction:
exactly one event per change of a certificate, wherever it is made, and none when the change is rolled back.
A certification withdrawn before it was ever certified has no certificate, so it has no event.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification.certifications.lifecycle import CertificationStatus
from minka_certification.certifications.models import Certificate, Certification
from minka_certification.database import event_store
from minka_common.events import record_event

CERTIFICATE_ISSUED = "certificate.issued"
CERTIFICATE_SUSPENDED = "certificate.suspended"
CERTIFICATE_REINSTATED = "certificate.reinstated"
CERTIFICATE_WITHDRAWN = "certificate.withdrawn"
CERTIFICATE_EXPIRED = "certificate.expired"
EVENT_TYPES = [CERTIFICATE_ISSUED, CERTIFICATE_SUSPENDED, CERTIFICATE_REINSTATED, CERTIFICATE_WITHDRAWN,
               CERTIFICATE_EXPIRED]

S = CertificationStatus


def certificate_event_type(from_status: CertificationStatus, to: CertificationStatus, new_certificate: bool) -> str | None:
    """The event of a status change, or None when no certificate changed (an application scheduled for audit,
    a tier recorded on a running certificate)."""
    if new_certificate:
        return CERTIFICATE_ISSUED
    if from_status == to:
        return None
    return {
        (S.suspended, S.certified): CERTIFICATE_REINSTATED,
        (S.certified, S.suspended): CERTIFICATE_SUSPENDED,
        (S.certified, S.withdrawn): CERTIFICATE_WITHDRAWN,
        (S.suspended, S.withdrawn): CERTIFICATE_WITHDRAWN,
        (S.certified, S.expired): CERTIFICATE_EXPIRED,
        (S.suspended, S.expired): CERTIFICATE_EXPIRED,
    }.get((from_status, to))


def certificate_changed(
    session: AsyncSession, type: str, certification: Certification, certificate: Certificate, at: datetime,
    reason: str | None,
) -> None:
    """Records ``type`` for the certification's current certificate; ``at`` is when the change took effect."""
    data = {
        "certification_id": str(certification.id),
        "cooperative_id": str(certification.cooperative_id),
        "certification_body_id": str(certification.certification_body_id),
        "certificate_number": certificate.number,
        "tier": certification.tier,
        "standard": {"code": certification.standard_code, "version": certification.standard_version},
        "effective_on": at.date().isoformat(),
        "reason": reason,
    }
    if type == CERTIFICATE_ISSUED:
        data |= {"valid_from": certificate.valid_from.isoformat(), "valid_to": certificate.valid_to.isoformat()}
    record_event(session, event_store, type, f"certification:{certification.id}", data,
                 audience=[certification.cooperative_id, certification.certification_body_id], occurred_at=at)
