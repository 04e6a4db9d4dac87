"""The signing key's id: a key configured without a "kid" gets its RFC 7638 thumbprint, the same in every replica."""

from __future__ import annotations

import base64
import hashlib
import json

from joserfc.jwk import KeySet, RSAKey

from minka_common.auth import InProcessKeySet, TokenVerifier
from minka_registry.identity.keys import SigningKeys


def rfc7638_thumbprint(jwk: dict) -> str:
    """RFC 7638 section 3: SHA-256 of the required members, sorted, without whitespace; base64url, unpadded."""
    canonical = json.dumps({name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def key_without_kid() -> dict:
    return RSAKey.generate_key(2048, private=True).as_dict(private=True)


def test_a_configured_key_without_kid_gets_its_thumbprint_as_kid(tmp_path):
    jwk = key_without_kid()
    assert "kid" not in jwk
    keys = SigningKeys.load_or_create(json.dumps(jwk), tmp_path / "unused.json")
    assert keys.kid == rfc7638_thumbprint(jwk)
    assert [key["kid"] for key in keys.jwks()["keys"]] == [keys.kid]
    assert not (tmp_path / "unused.json").exists()


def test_a_key_file_without_kid_gets_its_thumbprint_as_kid(tmp_path):
    jwk = key_without_kid()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(jwk))
    assert SigningKeys.load_or_create(None, key_file).kid == rfc7638_thumbprint(jwk)


def test_a_configured_kid_is_kept(tmp_path):
    jwk = key_without_kid() | {"kid": "2025-rotation"}
    assert SigningKeys.load_or_create(json.dumps(jwk), tmp_path / "unused.json").kid == "2025-rotation"


async def test_replicas_given_the_same_key_without_kid_verify_each_others_tokens(tmp_path):
    configured = json.dumps(key_without_kid())
    first, second = (SigningKeys.load_or_create(configured, tmp_path / "unused.json") for _ in range(2))
    assert first.kid == second.kid and first.jwks() == second.jwks()
    token = first.sign({"sub": "client", "role": "admin", "iss": "minka-test", "aud": "minka"}, ttl_seconds=60)
    encoded_header = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(encoded_header + "=" * (-len(encoded_header) % 4)))
    assert header["kid"] == second.kid
    published = KeySet.import_key_set(second.jwks())
    verifier = TokenVerifier(InProcessKeySet(lambda: published), "minka-test", "minka")
    assert (await verifier.verify(token)).subject == "client"
