//! HPKE (RFC 9180) base mode, single shot, for the one suite eventseal uses:
//! DHKEM(X25519, HKDF-SHA256) (0x0020), HKDF-SHA256 (0x0001), AES-256-GCM (0x0002).
//!
//! Composed over the backend's X25519, HKDF and AES-GCM (as rustls composes its HPKE
//! providers), so that the recipient's public key is stored rather than recomputed, and so
//! that a second backend swaps the primitives underneath. Checked against the published
//! RFC 9180 test vectors (see the tests at the bottom and `tests/vectors/hpke/`).
//!
//! The RFC's pseudocode is quoted above the code that implements it.

use zeroize::Zeroizing;

use crate::crypto::{self, AesGcm, X25519Secret, HASH_LEN, KEY_LEN, NONCE_LEN};
use crate::error::{Error, Result};

const KEM_ID: u16 = 0x0020;
const KDF_ID: u16 = 0x0001;

/// An HPKE suite: the KEM and KDF are fixed; the AEAD is AES-256-GCM in production and
/// AES-128-GCM only for the RFC's Appendix A.1 known-answer test.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Suite {
    aead: AesGcm,
}

/// The suite of envelope format v1.
pub(crate) const V1: Suite = Suite {
    aead: AesGcm::Aes256,
};

/// `suite_id = concat("KEM", I2OSP(kem_id, 2))`
const KEM_SUITE_ID: [u8; 5] = [b'K', b'E', b'M', (KEM_ID >> 8) as u8, KEM_ID as u8];

impl Suite {
    /// `suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))`
    fn suite_id(self) -> [u8; 10] {
        let aead_id: u16 = match self.aead {
            AesGcm::Aes128 => 0x0001,
            AesGcm::Aes256 => 0x0002,
        };
        [
            b'H',
            b'P',
            b'K',
            b'E',
            (KEM_ID >> 8) as u8,
            KEM_ID as u8,
            (KDF_ID >> 8) as u8,
            KDF_ID as u8,
            (aead_id >> 8) as u8,
            aead_id as u8,
        ]
    }

    /// Single-shot `SealBase(pkR, info, aad, pt)`: returns `(enc, ct)`.
    pub(crate) fn seal(
        self,
        pk_r: &[u8; KEY_LEN],
        info: &[u8],
        aad: &[u8],
        pt: &[u8],
    ) -> Result<([u8; KEY_LEN], Vec<u8>)> {
        let sk_e = X25519Secret::generate()?;
        self.seal_with_ephemeral(&sk_e, pk_r, info, aad, pt)
    }

    /// `SealBase` with a given ephemeral key (the known-answer tests fix it).
    pub(crate) fn seal_with_ephemeral(
        self,
        sk_e: &X25519Secret,
        pk_r: &[u8; KEY_LEN],
        info: &[u8],
        aad: &[u8],
        pt: &[u8],
    ) -> Result<([u8; KEY_LEN], Vec<u8>)> {
        // def Encap(pkR):
        //   skE, pkE = GenerateKeyPair()
        //   dh = DH(skE, pkR)
        //   enc = SerializePublicKey(pkE)
        //   pkRm = SerializePublicKey(pkR)
        //   kem_context = concat(enc, pkRm)
        //   shared_secret = ExtractAndExpand(dh, kem_context)
        //   return shared_secret, enc
        let enc = sk_e.public_key();
        // DH() must abort on an all-zero output (RFC 9180 §7.1.4).
        let dh = sk_e
            .agree(pk_r)
            .ok_or(Error::InvalidKey("X25519 public key of small order"))?;
        let shared_secret = extract_and_expand(&dh, &enc, pk_r);
        let (key, nonce) = self.key_schedule_base(&shared_secret, info);
        // ct = ctx.Seal(aad, pt)  with seq = 0, so nonce = base_nonce
        let mut ct = Vec::with_capacity(pt.len() + crypto::TAG_LEN);
        ct.extend_from_slice(pt);
        self.aead.seal(&key, &nonce, aad, &mut ct)?;
        Ok((enc, ct))
    }

    /// Single-shot `OpenBase(enc, skR, info, aad, ct)`, decrypting `ct` in place; returns
    /// the plaintext length. `pk_r` is the recipient's stored public key.
    pub(crate) fn open(
        self,
        enc: &[u8; KEY_LEN],
        sk_r: &X25519Secret,
        pk_r: &[u8; KEY_LEN],
        info: &[u8],
        aad: &[u8],
        ct: &mut [u8],
    ) -> Result<usize> {
        // def Decap(enc, skR):
        //   pkE = DeserializePublicKey(enc)
        //   dh = DH(skR, pkE)
        //   pkRm = SerializePublicKey(pk(skR))
        //   kem_context = concat(enc, pkRm)
        //   shared_secret = ExtractAndExpand(dh, kem_context)
        let dh = sk_r.agree(enc).ok_or(Error::DecryptFailed)?;
        let shared_secret = extract_and_expand(&dh, enc, pk_r);
        let (key, nonce) = self.key_schedule_base(&shared_secret, info);
        self.aead.open(&key, &nonce, aad, ct)
    }

    /// `KeySchedule(mode_base, shared_secret, info, default_psk, default_psk_id)`,
    /// returning `(key, base_nonce)`; `key` is `Nk` bytes long.
    fn psk_id_hash(self) -> [u8; HASH_LEN] {
        static AES128: std::sync::OnceLock<[u8; HASH_LEN]> = std::sync::OnceLock::new();
        static AES256: std::sync::OnceLock<[u8; HASH_LEN]> = std::sync::OnceLock::new();
        let cell = match self.aead {
            AesGcm::Aes128 => &AES128,
            AesGcm::Aes256 => &AES256,
        };
        *cell.get_or_init(|| *labeled_extract(&self.suite_id(), b"", b"psk_id_hash", b""))
    }

    fn key_schedule_base(
        self,
        shared_secret: &[u8; HASH_LEN],
        info: &[u8],
    ) -> (Zeroizing<Vec<u8>>, [u8; NONCE_LEN]) {
        let sid = self.suite_id();
        // psk_id_hash = LabeledExtract("", "psk_id_hash", psk_id): with base mode's empty
        // psk_id it depends on the suite alone, so it is computed once per suite.
        let psk_id_hash = self.psk_id_hash();
        // info_hash = LabeledExtract("", "info_hash", info)
        let info_hash = labeled_extract(&sid, b"", b"info_hash", info);
        // key_schedule_context = concat(mode, psk_id_hash, info_hash)
        let mut ksc = [0u8; 1 + 2 * HASH_LEN];
        ksc[1..1 + HASH_LEN].copy_from_slice(psk_id_hash.as_ref());
        ksc[1 + HASH_LEN..].copy_from_slice(info_hash.as_ref());
        // secret = LabeledExtract(shared_secret, "secret", psk)
        let secret = labeled_extract(&sid, shared_secret, b"secret", b"");
        // key = LabeledExpand(secret, "key", key_schedule_context, Nk)
        let mut key = Zeroizing::new(vec![0u8; self.aead.key_len()]);
        labeled_expand(&sid, &secret, b"key", &ksc, &mut key);
        // base_nonce = LabeledExpand(secret, "base_nonce", key_schedule_context, Nn)
        let mut nonce = [0u8; NONCE_LEN];
        labeled_expand(&sid, &secret, b"base_nonce", &ksc, &mut nonce);
        (key, nonce)
    }
}

/// ```text
/// def ExtractAndExpand(dh, kem_context):
///   eae_prk = LabeledExtract("", "eae_prk", dh)
///   shared_secret = LabeledExpand(eae_prk, "shared_secret", kem_context, Nsecret)
/// ```
fn extract_and_expand(
    dh: &[u8; KEY_LEN],
    enc: &[u8; KEY_LEN],
    pk_r: &[u8; KEY_LEN],
) -> Zeroizing<[u8; HASH_LEN]> {
    let eae_prk = labeled_extract(&KEM_SUITE_ID, b"", b"eae_prk", dh);
    let mut kem_context = [0u8; 2 * KEY_LEN];
    kem_context[..KEY_LEN].copy_from_slice(enc);
    kem_context[KEY_LEN..].copy_from_slice(pk_r);
    let mut shared = Zeroizing::new([0u8; HASH_LEN]);
    labeled_expand(
        &KEM_SUITE_ID,
        &eae_prk,
        b"shared_secret",
        &kem_context,
        shared.as_mut(),
    );
    shared
}

/// `LabeledExtract(salt, label, ikm) = Extract(salt, concat("HPKE-v1", suite_id, label, ikm))`
fn labeled_extract(
    suite_id: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> Zeroizing<[u8; HASH_LEN]> {
    crypto::hkdf_extract(salt, &[b"HPKE-v1", suite_id, label, ikm])
}

/// `LabeledExpand(prk, label, info, L) =
///    Expand(prk, concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info), L)`
fn labeled_expand(
    suite_id: &[u8],
    prk: &[u8; HASH_LEN],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) {
    // Output lengths here are at most 32, so the conversion cannot truncate.
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    crypto::hkdf_expand(prk, &[&len, b"HPKE-v1", suite_id, label, info], out);
}

#[cfg(test)]
mod tests {
    //! Known-answer tests from the RFC 9180 / CFRG published vectors
    //! (`tests/vectors/hpke/`, source noted there).
    use super::*;

    fn hex32(v: &serde_json::Value, k: &str) -> [u8; 32] {
        let b = hex::decode(v[k].as_str().unwrap()).unwrap();
        b.try_into().unwrap()
    }

    fn hexv(v: &serde_json::Value, k: &str) -> Vec<u8> {
        hex::decode(v[k].as_str().unwrap()).unwrap()
    }

    #[test]
    fn rfc9180_base_mode_vectors() {
        let text = include_str!("../tests/vectors/hpke/rfc9180_base_x25519_sha256.json");
        let vectors: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        let mut seen_aes256 = false;
        for v in &vectors {
            assert_eq!(v["mode"], 0);
            assert_eq!(v["kem_id"], 32);
            assert_eq!(v["kdf_id"], 1);
            let suite = match v["aead_id"].as_u64().unwrap() {
                1 => Suite {
                    aead: AesGcm::Aes128,
                },
                2 => {
                    seen_aes256 = true;
                    V1
                }
                other => panic!("unexpected aead {other}"),
            };
            let sk_e = X25519Secret::from_bytes(&hex32(v, "skEm")).unwrap();
            let sk_r = X25519Secret::from_bytes(&hex32(v, "skRm")).unwrap();
            let pk_r = hex32(v, "pkRm");
            assert_eq!(sk_e.public_key(), hex32(v, "pkEm"));
            assert_eq!(sk_r.public_key(), pk_r);
            let info = hexv(v, "info");

            // Intermediate values.
            let dh = sk_e.agree(&pk_r).unwrap();
            let enc = hex32(v, "enc");
            let ss = extract_and_expand(&dh, &enc, &pk_r);
            assert_eq!(ss.as_ref(), &hex32(v, "shared_secret"));
            let (key, nonce) = suite.key_schedule_base(&ss, &info);
            assert_eq!(key.as_slice(), hexv(v, "key").as_slice());
            assert_eq!(nonce.as_slice(), hexv(v, "base_nonce").as_slice());

            // The first encryption (sequence number 0) is what single-shot produces.
            let e0 = &v["encryptions"][0];
            let (pt, aad, ct) = (hexv(e0, "pt"), hexv(e0, "aad"), hexv(e0, "ct"));
            let (got_enc, got_ct) = suite
                .seal_with_ephemeral(&sk_e, &pk_r, &info, &aad, &pt)
                .unwrap();
            assert_eq!(got_enc, enc);
            assert_eq!(got_ct, ct);

            let mut buf = ct.clone();
            let n = suite
                .open(&enc, &sk_r, &pk_r, &info, &aad, &mut buf)
                .unwrap();
            assert_eq!(&buf[..n], pt.as_slice());

            // A flipped tag bit or wrong info is rejected.
            let mut bad = ct.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert!(matches!(
                suite.open(&enc, &sk_r, &pk_r, &info, &aad, &mut bad),
                Err(Error::DecryptFailed)
            ));
            let mut buf = ct.clone();
            assert!(matches!(
                suite.open(&enc, &sk_r, &pk_r, b"other info", &aad, &mut buf),
                Err(Error::DecryptFailed)
            ));
        }
        assert!(seen_aes256, "the AES-256-GCM vector must be present");
    }

    #[test]
    fn small_order_ephemeral_is_rejected() {
        let sk_r = X25519Secret::generate().unwrap();
        let pk_r = sk_r.public_key();
        let mut ct = vec![0u8; 48];
        for enc in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert!(matches!(
                V1.open(&enc, &sk_r, &pk_r, b"", b"", &mut ct),
                Err(Error::DecryptFailed)
            ));
        }
        let sk_e = X25519Secret::generate().unwrap();
        assert!(matches!(
            V1.seal_with_ephemeral(&sk_e, &[0u8; 32], b"", b"", b"x"),
            Err(Error::InvalidKey(_))
        ));
    }
}
