"""The registry's token-signing key: generated on first start and kept in the data directory."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from minka_common.auth import SIGNING_ALGORITHMS

ALGORITHM = SIGNING_ALGORITHMS[0]


class SigningKeys:
    def __init__(self, private_key: RSAKey) -> None:
        # A key given without a "kid" gets its RFC 7638 thumbprint: the same key yields the same kid in every
        # replica and after every restart, so tokens keep verifying against any replica's JWKS.
        private_key.ensure_kid()
        self._private = private_key
        self._public = KeySet([RSAKey.import_key(private_key.as_dict(private=False))])

    @classmethod
    def load_or_create(cls, key_json: str | None, key_file: Path) -> SigningKeys:
        if key_json:
            return cls(RSAKey.import_key(json.loads(key_json)))
        if key_file.exists():
            return cls(RSAKey.import_key(json.loads(key_file.read_text())))
        key = RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "use": "sig", "alg": ALGORITHM})
        _write_private(key_file, json.dumps(key.as_dict(private=True)))
        return cls(key)

    @property
    def kid(self) -> str:
        return str(self._private.kid)

    def public_key_set(self) -> KeySet:
        return self._public

    def jwks(self) -> dict[str, Any]:
        return self._public.as_dict(private=False)

    def sign(self, claims: dict[str, Any], ttl_seconds: int) -> str:
        now = int(time.time())
        payload = {**claims, "iat": now, "nbf": now, "exp": now + ttl_seconds, "jti": uuid.uuid4().hex}
        return jwt.encode({"alg": ALGORITHM, "kid": self.kid}, payload, self._private)


def _write_private(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    os.replace(temporary, path)
