"""The certification suite's fixtures (groups, flows, ``ok``, ``problem``) live in ``tests/support/certification_support``
so that the traceability suite can certify cooperatives the same way; the root conftest loads them as a plugin."""
