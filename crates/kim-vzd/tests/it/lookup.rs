//! Lookups: certificates, versions, several entries, unknown addresses, caching.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kim_testkit::pki::{KeyAlgorithm as PkiAlg, TestPki};
use kim_types::{KimVersion, TelematikId};
use kim_vzd::{KeyAlgorithm, VzdClient};
use kim_vzd_sim::model::FadRequest;
use kim_vzd_sim::store::Store;
use kim_vzd_sim::{HolderKind, SeedEntry};

use crate::*;

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// An extra entry with the praxis card's certificates under another Telematik-ID.
fn foreign_entry(tid: &str, addresses: &[(&str, KimVersion)]) -> SeedEntry {
    let card = TestPki::shared_default().unwrap().card(PRAXIS_TID).unwrap();
    SeedEntry {
        telematik_id: TelematikId::parse(tid).unwrap(),
        holder: "Zweitpraxis TEST-ONLY".into(),
        kind: HolderKind::Institution,
        profession_oid: "1.2.276.0.76.4.50".into(),
        entry_type: String::new(),
        domain_ids: vec![],
        given_name: None,
        surname: None,
        postal: None,
        certificates: vec![card.enc(PkiAlg::Rsa2048).certificate_der.clone()],
        addresses: addresses.iter().map(|(a, v)| (addr(a), *v)).collect(),
        max_kom_le_adr: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_returns_rsa_and_ecc_enc_certificates_of_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), vec![]).await;
    let client = uncached(&vzd);
    let found = client
        .lookup(&addr("Praxis.Schmidt@test.kim.telematik"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let e = &found[0];
    assert_eq!(e.telematik_id.as_str(), PRAXIS_TID);
    assert_eq!(e.personal_entry, Some(false));
    assert_eq!(
        e.display_name.as_deref(),
        Some("Arztpraxis Dr. Alice Schmidt TEST-ONLY")
    );
    let card = TestPki::shared_default().unwrap().card(PRAXIS_TID).unwrap();
    let rsa: Vec<_> = e.rsa_certificates().map(|c| c.der.clone()).collect();
    let ecc: Vec<_> = e.ecc_certificates().map(|c| c.der.clone()).collect();
    assert_eq!(rsa, vec![card.enc(PkiAlg::Rsa2048).certificate_der.clone()]);
    assert_eq!(
        ecc,
        vec![card.enc(PkiAlg::BrainpoolP256r1).certificate_der.clone()]
    );
    assert_eq!(e.usable_certificates(now()).len(), 2);
    assert_eq!(e.usable_certificates_now().len(), 2);
    assert_eq!(e.versions().count(), 1);
    assert!(
        e.usable_certificates(i64::MAX).is_empty(),
        "expired at the end of time"
    );
    assert!(e.check_telematik_ids().is_ok());
    assert_eq!(e.version_of(&addr(PRAXIS_MAIL)), KimVersion::V1_5);
    let hba = client.lookup(&addr(HBA_MAIL)).await.unwrap();
    assert_eq!(hba[0].personal_entry, Some(true));
    assert!(
        hba[0]
            .certificates
            .iter()
            .all(|c| c.algorithm != KeyAlgorithm::Other)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_from_kom_le_data_with_1_0_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let plain = "ohne.version@test.kim.telematik";
    let plus = "gross@test.kim.telematik";
    let req = FadRequest {
        mail: vec![plain.into()],
        kom_le_data: vec![],
    };
    Store::open(dir.path())
        .unwrap()
        .put(PRAXIS_TID, &req.validate("kim-sim", None).unwrap())
        .unwrap();
    let extra = foreign_entry("9-2.58.00000099", &[(plus, KimVersion::V1_5Plus)]);
    let vzd = start(dir.path(), vec![extra]).await;
    let client = uncached(&vzd);
    let found = client.lookup(&addr(plain)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].telematik_id.as_str(), PRAXIS_TID);
    assert_eq!(found[0].version_of(&addr(plain)), KimVersion::V1_0);
    let found = client.lookup(&addr(plus)).await.unwrap();
    assert_eq!(found[0].version_of(&addr(plus)), KimVersion::V1_5Plus);
    let found = client.lookup(&addr(HBA_MAIL)).await.unwrap();
    assert_eq!(found[0].version_of(&addr(HBA_MAIL)), KimVersion::V1_5);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_entries_and_foreign_certificates_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let twin = foreign_entry("9-2.58.00000099", &[(PRAXIS_MAIL, KimVersion::V1_5)]);
    let vzd = start(dir.path(), vec![twin]).await;
    let found = uncached(&vzd).lookup(&addr(PRAXIS_MAIL)).await.unwrap();
    let mut tids: Vec<&str> = found.iter().map(|e| e.telematik_id.as_str()).collect();
    tids.sort_unstable();
    assert_eq!(tids, vec![PRAXIS_TID, "9-2.58.00000099"]);
    let twin = found
        .iter()
        .find(|e| e.telematik_id.as_str() != PRAXIS_TID)
        .unwrap();
    let mismatch = twin.check_telematik_ids().unwrap_err();
    assert_eq!(mismatch.found, vec![Some(PRAXIS_TID.to_owned())]);
    assert!(twin.usable_certificates(now()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_address_is_empty_and_negatively_cached() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), vec![]).await;
    let c = config(&vzd, Duration::from_secs(60), Duration::from_secs(60));
    let client = VzdClient::new(c).unwrap();
    let nobody = addr("nobody@test.kim.telematik");
    assert!(client.lookup(&nobody).await.unwrap().is_empty());
    let searches = vzd.stats().ldap_searches;
    assert!(client.lookup(&nobody).await.unwrap().is_empty());
    assert_eq!(
        vzd.stats().ldap_searches,
        searches,
        "answered from the negative cache"
    );
    assert_eq!(client.stats().cache_hits, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_answers_while_the_directory_is_down_until_the_ttl_expires() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), vec![]).await;
    let c = config(&vzd, Duration::from_millis(1500), Duration::from_secs(60));
    let client = VzdClient::new(c).unwrap();
    let first = client.lookup(&addr(PRAXIS_MAIL)).await.unwrap();
    vzd.shutdown().await;
    let cached = client
        .lookup(&addr("PRAXIS.schmidt@test.kim.telematik"))
        .await
        .unwrap();
    assert_eq!(cached, first);
    assert_eq!(client.stats().cache_hits, 1);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let err = client.lookup(&addr(PRAXIS_MAIL)).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        matches!(err, kim_vzd::VzdError::Unreachable { .. }),
        "{err}"
    );
}
