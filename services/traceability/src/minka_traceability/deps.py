"""Request dependencies: the clock (injectable in tests), the other services' clients, and the acting party."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from minka_common.certification_client import CertificationClient
from minka_common.idempotency import HEADER, MAX_KEY_LENGTH
from minka_common.registry_client import RegistryClient
from minka_traceability.settings import TraceabilitySettings


def current_time(request: Request) -> datetime:
    return request.app.state.clock()


def registry_client(request: Request) -> RegistryClient:
    return request.app.state.registry


def certification_client(request: Request) -> CertificationClient:
    return request.app.state.certification


def settings(request: Request) -> TraceabilitySettings:
    return request.app.state.settings


Now = Annotated[datetime, Depends(current_time)]
Registry = Annotated[RegistryClient, Depends(registry_client)]
Certification = Annotated[CertificationClient, Depends(certification_client)]
Settings = Annotated[TraceabilitySettings, Depends(settings)]
IdempotencyKey = Annotated[str | None, Header(alias=HEADER, max_length=MAX_KEY_LENGTH)]
