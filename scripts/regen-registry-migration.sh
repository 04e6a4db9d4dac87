#!/usr/bin/env bash
# Development only, before the first release: rebuild the registry's single initial migration from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/minka-registry-migration.lock
flock 9
rm -f services/registry/src/minka_registry/migrations/versions/*.py
.venv/bin/python -m minka_common.migrate_cli registry revision initial
