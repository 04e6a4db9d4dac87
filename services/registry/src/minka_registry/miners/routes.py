from fastapi import APIRouter

from minka_common.idempotency import IdempotentRoute

router = APIRouter(prefix="/v1", route_class=IdempotentRoute)
