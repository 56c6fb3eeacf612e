// Keys the eventseal CLI writes load in node's `jose` (panva) and sign and verify there with
// no warning: Ed25519 keys carry RFC 9864's fully specified "alg": "Ed25519" (the
// polymorphic "EdDSA" is deprecated), P-256 keys "ES256".
// Run: npm ci --prefix crates/eventseal-cli/tests/jose &&
//      EVENTSEAL_CLI=target/debug/eventseal node --test crates/eventseal-cli/tests/jose/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';

const cli = process.env.EVENTSEAL_CLI;

for (const [flag, alg] of [['ed25519', 'Ed25519'], ['p256', 'ES256']]) {
  test(`a ${alg} key from eventseal keygen signs and verifies in jose`, async () => {
    assert.ok(cli, 'set EVENTSEAL_CLI to the eventseal binary');
    const dir = mkdtempSync(join(tmpdir(), 'eventseal-jose-'));
    execFileSync(cli, ['keygen', 'signing', '--source', 'orders', '--alg', flag, '--out-dir', dir]);
    const secret = JSON.parse(readFileSync(join(dir, 'orders.sign.jwk'), 'utf8'));
    const pub = JSON.parse(readFileSync(join(dir, 'orders.verify.jwk'), 'utf8'));
    assert.equal(secret.alg, alg);
    assert.equal(pub.alg, alg);
    const warnings = [];
    const onWarning = (w) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      // importJWK takes the algorithm from the key's own `alg`.
      const token = await new jose.CompactSign(new TextEncoder().encode('hi'))
        .setProtectedHeader({ alg })
        .sign(await jose.importJWK(secret));
      const { payload } = await jose.compactVerify(token, await jose.importJWK(pub));
      assert.equal(new TextDecoder().decode(payload), 'hi');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });
}
