"""A status view: what the handlers recorded for one event id."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse

from .handlers import delivery_key


def delivery(request: HttpRequest, event_id: str) -> JsonResponse:
    record = cache.get(delivery_key(event_id))
    if record is None:
        return JsonResponse({"error": "not_found"}, status=404)
    return JsonResponse(record)
