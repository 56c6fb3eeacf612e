"""The binding's cost, measured in one process:

1. against the Rust core itself (``_rust_baseline``: the same seal and open loops, Ed25519
   and one HPKE recipient, 1 KiB payloads, a memory replay store, run in Rust in this
   process): the binding's overhead, target <= 1.2x;
2. against the JOSE libraries Python users reach for, doing the nearest equivalent — a
   nested JWS (EdDSA, Ed25519) inside a JWE (ECDH-ES+A256KW with X25519, A256GCM), sealed
   and opened — joserfc and jwcrypto, if installed: target >= 5x faster. (They do less:
   no freshness check, no replay claim, no binding of the recipient to the source.)

    pip install joserfc jwcrypto      # optional: the comparison
    python bench.py                   # a release build of the wheel: maturin build --release
    python bench.py --quick           # a smoke run (CI): no targets checked

Every figure is the median of ``--rounds`` timed loops of ``--n`` operations.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import eventseal
from eventseal import _eventseal

PAYLOAD = 1024


def per_op(loop: Callable[[int], None], n: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        loop(n)
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def eventseal_python(n: int, rounds: int) -> Tuple[float, float]:
    signing = eventseal.SigningKey.generate("orders")
    billing = eventseal.RecipientSecretKey.generate("billing")
    to = [billing.public_key()]
    sealer = eventseal.Sealer(signing, ttl_seconds=3600)
    payload = b"x" * PAYLOAD
    opener = eventseal.Opener([billing], eventseal.TrustStore([signing.verifying_key()]),
                              eventseal.MemoryReplayStore())
    envelopes: List[bytes] = []

    def seal(k: int) -> None:
        envelopes.clear()
        for _ in range(k):
            envelopes.append(sealer.seal("order.created", payload, to))

    def open_(k: int) -> None:
        for e in envelopes[:k]:
            opener.open(e)

    seal_t = per_op(seal, n, rounds)
    open_times = []
    for _ in range(rounds):  # fresh envelopes each round: an envelope opens once
        seal(n)
        open_times.append(per_op(open_, n, 1))
    return seal_t, statistics.median(open_times)


def eventseal_rust(n: int, rounds: int) -> Tuple[float, float]:
    runs = [_eventseal._rust_baseline(PAYLOAD, n) for _ in range(rounds)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def joserfc_nested(n: int, rounds: int) -> Optional[Tuple[float, float]]:
    try:
        from joserfc import jwe, jws
        from joserfc.jwk import OKPKey
    except ImportError:
        return None
    sig = OKPKey.generate_key("Ed25519")
    enc = OKPKey.generate_key("X25519")
    enc_pub = OKPKey.import_key(enc.as_dict(private=False))
    sig_pub = OKPKey.import_key(sig.as_dict(private=False))
    payload = b"x" * PAYLOAD
    tokens: List[str] = []

    def seal(k: int) -> None:
        tokens.clear()
        for _ in range(k):
            inner = jws.serialize_compact({"alg": "EdDSA"}, payload, sig, algorithms=["EdDSA"])
            tokens.append(jwe.encrypt_compact(
                {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "cty": "JWT"}, inner, enc_pub,
                algorithms=["ECDH-ES+A256KW", "A256GCM"]))

    def open_(k: int) -> None:
        for t in tokens[:k]:
            inner = jwe.decrypt_compact(t, enc, algorithms=["ECDH-ES+A256KW", "A256GCM"])
            out = jws.deserialize_compact(inner.plaintext, sig_pub, algorithms=["EdDSA"])
            assert out.payload == payload

    seal_t = per_op(seal, n, rounds)
    seal(n)
    return seal_t, per_op(open_, n, rounds)


def jwcrypto_nested(n: int, rounds: int) -> Optional[Tuple[float, float]]:
    try:
        from jwcrypto import jwe, jwk, jws
        from jwcrypto.common import json_encode
    except ImportError:
        return None
    sig = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    enc = jwk.JWK.generate(kty="OKP", crv="X25519")
    sig_pub = jwk.JWK(**json.loads(sig.export_public()))
    enc_pub = jwk.JWK(**json.loads(enc.export_public()))
    payload = b"x" * PAYLOAD
    tokens: List[str] = []

    def seal(k: int) -> None:
        tokens.clear()
        for _ in range(k):
            s = jws.JWS(payload)
            s.add_signature(sig, None, json_encode({"alg": "EdDSA"}))
            e = jwe.JWE(s.serialize(compact=True).encode(),
                        json_encode({"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "cty": "JWT"}))
            e.add_recipient(enc_pub)
            tokens.append(e.serialize(compact=True))

    def open_(k: int) -> None:
        for t in tokens[:k]:
            e = jwe.JWE()
            e.deserialize(t, key=enc)
            s = jws.JWS()
            s.deserialize(e.payload.decode())
            s.verify(sig_pub)
            assert s.payload == payload

    seal_t = per_op(seal, n, rounds)
    seal(n)
    return seal_t, per_op(open_, n, rounds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="operations per timed loop")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a smoke run; targets not checked")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if args.quick:
        args.n, args.rounds = 50, 1

    rows: Dict[str, Tuple[float, float]] = {}
    # Interleaved, so a frequency change or a noisy neighbour hits both sides alike.
    rust = eventseal_rust(args.n, args.rounds)
    py = eventseal_python(args.n, args.rounds)
    rust2 = eventseal_rust(args.n, args.rounds)
    rows["eventseal (Rust core, in this process)"] = (min(rust[0], rust2[0]), min(rust[1], rust2[1]))
    rows["eventseal (Python binding)"] = py
    for name, f in (("joserfc nested JWS+JWE", joserfc_nested),
                    ("jwcrypto nested JWS+JWE", jwcrypto_nested)):
        r = f(max(args.n // 4, 10), args.rounds)
        if r is not None:
            rows[name] = r

    base = rows["eventseal (Rust core, in this process)"]
    print(f"1 KiB payload, Ed25519 + one X25519 recipient; median of {args.rounds} x {args.n}; "
          f"Python {platform.python_version()}, {platform.machine()}")
    print()
    print("| implementation | seal (us) | open (us) | seal vs binding | open vs binding |")
    print("|---|---:|---:|---:|---:|")
    for name, (s, o) in rows.items():
        print(f"| {name} | {s * 1e6:.1f} | {o * 1e6:.1f} | {s / py[0]:.2f}x | {o / py[1]:.2f}x |")
    seal_ratio, open_ratio = py[0] / base[0], py[1] / base[1]
    print()
    print(f"binding / Rust: seal {seal_ratio:.3f}x, open {open_ratio:.3f}x (target <= 1.2x)")
    failures = []
    if seal_ratio > 1.2 or open_ratio > 1.2:
        failures.append("binding overhead above 1.2x")
    for name in ("joserfc nested JWS+JWE", "jwcrypto nested JWS+JWE"):
        if name in rows:
            s, o = rows[name]
            print(f"{name} / binding: seal {s / py[0]:.1f}x, open {o / py[1]:.1f}x (target >= 5x)")
            if s / py[0] < 5 or o / py[1] < 5:
                failures.append(f"{name} less than 5x slower")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {"seal_s": v[0], "open_s": v[1]} for k, v in rows.items()}, f, indent=2)
    if failures and not args.quick:
        print("TARGET MISSED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
