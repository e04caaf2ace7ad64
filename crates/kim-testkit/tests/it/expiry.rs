//! A spec with a validity period in the past yields certificates `openssl verify`
//! rejects as expired (and accepts at a time inside the period).

use der::DateTime;
use kim_testkit::pki::{KeyAlgorithm, PkiSpec, TestPki};

use crate::{openssl, pki, put};

#[test]
fn expired_spec_is_rejected_as_expired() {
    let mut spec = PkiSpec::from_u64_seed(2015).with_validity(
        DateTime::new(2015, 1, 1, 0, 0, 0).unwrap(),
        DateTime::new(2016, 1, 1, 0, 0, 0).unwrap(),
    );
    spec.cards = vec![pki().spec.cards.first().unwrap().clone()];
    let expired = TestPki::generate(&spec).unwrap();
    let card = expired.cards.first().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (alg, root, ca) in [
        (KeyAlgorithm::Rsa2048, &expired.root_rsa, &expired.smcb_ca),
        (
            KeyAlgorithm::BrainpoolP256r1,
            &expired.root_ecc,
            &expired.smcb_ca_ecc,
        ),
    ] {
        let root = put(
            dir.path(),
            "root.pem",
            root.certificate_pem().unwrap().as_bytes(),
        );
        let inter = put(
            dir.path(),
            "inter.pem",
            ca.certificate_pem().unwrap().as_bytes(),
        );
        let leaf = card.enc(alg).certificate_pem().unwrap();
        let leaf = put(dir.path(), "leaf.pem", leaf.as_bytes());
        let now = openssl(&["verify", "-CAfile", &root, "-untrusted", &inter, &leaf]);
        assert!(!now.ok, "{alg:?}: expired chain accepted: {}", now.stdout);
        assert!(
            now.stderr.contains("certificate has expired"),
            "{}",
            now.stderr
        );
        // 2015-06-01: inside the period, so expiry is the only defect.
        let then = openssl(&[
            "verify",
            "-attime",
            "1433116800",
            "-CAfile",
            &root,
            "-untrusted",
            &inter,
            &leaf,
        ]);
        assert!(then.ok, "{alg:?}: {} {}", then.stdout, then.stderr);
    }
}
