"""Request dependencies: the service's clock (injectable in tests) and its registry client."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from minka_common.registry_client import RegistryClient


def current_time(request: Request) -> datetime:
    return request.app.state.clock()


def registry_client(request: Request) -> RegistryClient:
    return request.app.state.registry


Now = Annotated[datetime, Depends(current_time)]
Registry = Annotated[RegistryClient, Depends(registry_client)]
