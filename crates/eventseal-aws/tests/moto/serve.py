"""moto's standalone server for eventseal's AWS tests (started by tests/common/moto.rs).

It is `moto_server` with three differences; nothing else changes.

1. Each request runs under one lock. moto 5.2.5's threaded server does not serialise
   conditional writes on one key across concurrent requests (two `PutItem`s with
   `attribute_not_exists(id)` can both succeed), which real DynamoDB does; the racing-process
   tests need that guarantee, and the lock gives it.

2. KMS `Sign` and `Verify` honour `MessageType=DIGEST`. moto 5.2.5 ignores `MessageType`
   (its docs say DIGEST is not implemented): it treats the digest as a raw message and hashes
   it again, so its signature is over SHA-256(digest), not over the message. Real KMS, given
   `MessageType=DIGEST`, signs (or verifies) the digest as already hashed, and rejects with
   `ValidationException` a digest whose length is not the signing algorithm's hash length
   (32 bytes for `*_SHA_256`, 48 for `*_SHA_384`, 64 for `*_SHA_512`). The code under test
   sends a SHA-256 digest with `MessageType=DIGEST`, as real KMS requires of it, so without
   this its signatures would not verify over the signed message. The patch (`_kms_digest`)
   carries the request's `MessageType` from moto's `KmsResponse.sign`/`verify` to its ECDSA
   and RSA keys' `sign`/`verify`, which, for DIGEST only, check the digest's length and give
   `cryptography` the digest as `Prehashed` with the same hash and padding moto uses for RAW.
   `MessageType=RAW` (or absent) runs moto's own code unchanged.

3. KMS `Sign`, `Verify` and `GetPublicKey` refuse a key that is not enabled. moto 5.2.5 does not
   look at the key's state in these (a disabled key, or one pending deletion, still signs).
   Real KMS rejects a `Disabled` key with `DisabledException` ("<key ARN> is disabled.") and a
   `PendingDeletion` key with `KMSInvalidStateException` ("<key ARN> is pending deletion."),
   both HTTP 400. The patch (`_kms_key_state`) checks the key's state before moto's backend
   `sign`/`verify`/`get_public_key` run and raises those errors (moto 5.2.5 has no classes for
   them, so they are `JsonRESTError`s with those codes); an enabled key runs moto's code unchanged.

Usage: python serve.py PORT [--stock-kms-digest]

`--stock-kms-digest` leaves out difference 2, so KMS signs SHA-256 of the digest as moto
does: a backend returning signatures over the wrong message, for the one test that the
signer checks every signature before using it. moto's own settings come from the
environment as usual (`INITIAL_NO_AUTH_ACTION_COUNT` turns on its IAM enforcement, which the
access-denied test uses).
"""

import contextvars
import sys
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from moto.core.exceptions import JsonRESTError
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

# The `MessageType` of the KMS Sign/Verify request being handled (moto's response layer
# reads it but does not pass it on to the backend or the key).
_MESSAGE_TYPE = contextvars.ContextVar("kms_message_type", default="RAW")


def _kms_digest() -> None:
    """Make moto's KMS Sign/Verify treat `MessageType=DIGEST` as real KMS does (difference 2)."""

    def carrying_message_type(handler):
        def handle(self):
            token = _MESSAGE_TYPE.set(self._get_param("MessageType") or "RAW")
            try:
                return handler(self)
            finally:
                _MESSAGE_TYPE.reset(token)

        return handle

    KmsResponse.sign = carrying_message_type(KmsResponse.sign)
    KmsResponse.verify = carrying_message_type(KmsResponse.verify)

    def prehashed(digest, hash_algorithm, signing_algorithm):
        if len(digest) != hash_algorithm.digest_size:
            raise ValidationException(
                f"Digest is invalid length for algorithm {signing_algorithm}."
            )
        return Prehashed(hash_algorithm)

    def verified(verify, *args):
        try:
            verify(*args)
            return True
        except InvalidSignature:
            return False

    # The DIGEST counterparts of moto's ECDSAPrivateKey/RSAPrivateKey sign and verify: the
    # same algorithm check, hash and padding, with the hash step skipped.
    def ecdsa_scheme(key, digest, signing_algorithm):
        kms_utils.validate_signing_algorithm(signing_algorithm, key.valid_signing_algorithms)
        hash_algorithm = key._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
        return (ec.ECDSA(prehashed(digest, hash_algorithm, signing_algorithm)),)

    def rsa_scheme(key, digest, signing_algorithm):
        kms_utils.validate_signing_algorithm(
            signing_algorithm, kms_utils.SigningAlgorithm.rsa_signing_algorithms()
        )
        pad, hash_algorithm = key._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
        return (pad, prehashed(digest, hash_algorithm, signing_algorithm))

    for key_class, scheme in (
        (kms_utils.ECDSAPrivateKey, ecdsa_scheme),
        (kms_utils.RSAPrivateKey, rsa_scheme),
    ):

        def sign(self, message, signing_algorithm, raw=key_class.sign, scheme=scheme):
            if _MESSAGE_TYPE.get() != "DIGEST":
                return raw(self, message, signing_algorithm)
            return self.private_key.sign(message, *scheme(self, message, signing_algorithm))

        def verify(self, message, signature, signing_algorithm, raw=key_class.verify, scheme=scheme):
            if _MESSAGE_TYPE.get() != "DIGEST":
                return raw(self, message, signature, signing_algorithm)
            return verified(
                self.private_key.public_key().verify,
                signature,
                message,
                *scheme(self, message, signing_algorithm),
            )

        key_class.sign = sign
        key_class.verify = verify


def _kms_key_state() -> None:
    """Make moto's KMS Sign/Verify/GetPublicKey refuse a key that is not enabled (difference 3)."""

    def checking_key_state(method):
        def call(self, key_id, *args, **kwargs):
            key = self.describe_key(key_id)
            if key.key_state == "Disabled":
                raise JsonRESTError("DisabledException", f"{key.arn} is disabled.")
            if key.key_state == "PendingDeletion":
                raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
            return method(self, key_id, *args, **kwargs)

        return call

    for name in ("sign", "verify", "get_public_key"):
        setattr(KmsBackend, name, checking_key_state(getattr(KmsBackend, name)))


def main() -> None:
    port = int(sys.argv[1])
    # `--stock-kms-digest` leaves moto's own DIGEST behaviour (signing SHA-256 of the digest):
    # a KMS that returns signatures over the wrong message, for the test that the signer
    # checks each signature against the key's public key before using it.
    if "--stock-kms-digest" not in sys.argv[2:]:
        _kms_digest()
    _kms_key_state()
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    run_simple(
        "127.0.0.1",
        port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
