"""Keys eventseal writes load in the Python JOSE libraries a team pairs it with, and sign and
verify there, with no warning: Ed25519 keys carry RFC 9864's fully specified
``"alg": "Ed25519"`` (joserfc warns on the deprecated ``EdDSA``, which eventseal wrote before
and still reads). Node's ``jose`` is checked by crates/eventseal-cli/tests/jose/."""

from __future__ import annotations

import json
import warnings

import pytest
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey, OKPKey
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from eventseal import SigningKey


@pytest.mark.parametrize("algorithm", ["Ed25519", "ES256"])
def test_keys_sign_and_verify_in_joserfc_and_jwcrypto_without_warnings(algorithm):
    key = SigningKey.generate("orders", algorithm)
    secret = json.loads(key.to_jwk())
    public = json.loads(key.verifying_key().to_jwk())
    assert secret["alg"] == public["alg"] == algorithm
    key_type = OKPKey if algorithm == "Ed25519" else ECKey
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = joserfc_jws.serialize_compact(
            {"alg": algorithm}, b"hi", key_type.import_key(secret), algorithms=[algorithm])
        verified = joserfc_jws.deserialize_compact(
            token, key_type.import_key(public), algorithms=[algorithm])
        assert verified.payload == b"hi"

        signed = jwcrypto_jws.JWS(b"hi")
        signed.add_signature(jwcrypto_jwk.JWK(**secret), alg=algorithm,
                             protected=json.dumps({"alg": algorithm}))
        check = jwcrypto_jws.JWS()
        check.deserialize(signed.serialize(compact=True))
        check.verify(jwcrypto_jwk.JWK(**public), alg=algorithm)
        assert check.payload == b"hi"


def test_the_deprecated_eddsa_name_is_still_read():
    key = SigningKey.generate("orders")
    public = json.loads(key.verifying_key().to_jwk())
    legacy = SigningKey.from_jwk(json.dumps(dict(json.loads(key.to_jwk()), alg="EdDSA")))
    assert legacy.verifying_key() == key.verifying_key()
    assert legacy.algorithm == "Ed25519"
    assert json.loads(legacy.verifying_key().to_jwk())["kid"] == public["kid"]
