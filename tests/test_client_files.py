"""The thin client's files: what the service worker keeps for offline use, and its cache version."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from minka_gateway.app import STATIC_ROOT

APP = STATIC_ROOT / "app"
SERVICE_WORKER = APP / "sw.js"


def app_files() -> list[Path]:
    return sorted(path for path in APP.rglob("*") if path.is_file() and path != SERVICE_WORKER)


def content_version() -> str:
    digest = hashlib.sha256()
    for path in app_files():
        digest.update(path.relative_to(APP).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"minka-app-{digest.hexdigest()[:12]}"


def test_the_service_worker_keeps_every_file_of_the_app_and_only_those():
    source = SERVICE_WORKER.read_text()
    listed = set(re.findall(r"'([^']+)'", source[source.index("const SHELL"):source.index("];")]))
    expected = {path.relative_to(APP).as_posix() for path in app_files()} - {"index.html"} | {"./"}
    assert listed == expected


def test_the_cache_version_follows_the_files_so_returning_users_get_a_changed_app():
    declared = re.search(r"const VERSION = '([^']+)';", SERVICE_WORKER.read_text()).group(1)
    assert declared == content_version(), f"app files changed: set VERSION in sw.js to '{content_version()}'"

