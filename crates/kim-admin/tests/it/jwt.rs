//! Tokens made by the software Konnektor's cards: verified by independent implementations
//! (Python `cryptography`, `openssl dgst`) and accepted or refused by the real Account
//! Manager.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kim_admin::am::NewAccount;
use kim_admin::auth::{Algorithm, AuthCard, CardKind, use_algorithm};
use kim_admin::{select_card, sign_jwt};
use zeroize::Zeroizing;

use crate::{CONTRACT, Env, HBA_TID, INI_PASSWORD, PASSWORD, PRAXIS_TID, ZAHNARZT_TID, ctx, run};

const VERIFY_PY: &str = r#"
import base64, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

def d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

token = open(sys.argv[1]).read().strip()
h, p, s = token.split(".")
header, payload, sig = json.loads(d(h)), json.loads(d(p)), d(s)
cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
key, data = cert.public_key(), (h + "." + p).encode()
if header["alg"] == "PS256":
    key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
               hashes.SHA256())
elif header["alg"] == "ES256":
    assert isinstance(key.curve, ec.BrainpoolP256R1), key.curve.name
    assert len(sig) == 64, len(sig)
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                     int.from_bytes(sig[32:], "big"))
    key.verify(der, data, ec.ECDSA(hashes.SHA256()))
else:
    sys.exit("unexpected alg " + header["alg"])
cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
print(json.dumps({"alg": header["alg"], "typ": header["typ"], "nbf": payload["nbf"], "cn": cn}))
"#;

/// Verifies `token` with Python's `cryptography`; returns its JSON summary or the error.
async fn verify_python(dir: &std::path::Path, token: &str) -> Result<serde_json::Value, String> {
    let script = dir.join("verify.py");
    std::fs::write(&script, VERIFY_PY).unwrap();
    let file = dir.join("token.txt");
    std::fs::write(&file, token).unwrap();
    let out = run(
        "python3",
        vec![script.display().to_string(), file.display().to_string()],
    )
    .await;
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of a raw `r || s` signature (for openssl).
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let int = |bytes: &[u8]| {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            Vec::new()
        };
        v.extend(trimmed);
        let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
        out.extend(v);
        out
    };
    let mut body = int(&raw[..32]);
    body.extend(int(&raw[32..]));
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

/// Verifies `token` with `openssl dgst` (RSASSA-PSS, salt = digest length, or ECDSA).
async fn verify_openssl(dir: &std::path::Path, token: &str) -> bool {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(input.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let cert = STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let p = |name: &str| dir.join(name).display().to_string();
    std::fs::write(p("cert.der"), cert).unwrap();
    std::fs::write(p("input"), input).unwrap();
    let out = run(
        "openssl",
        [
            "x509",
            "-inform",
            "DER",
            "-in",
            &p("cert.der"),
            "-pubkey",
            "-noout",
            "-out",
            &p("pub.pem"),
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args: Vec<String> = ["dgst", "-sha256"].map(String::from).to_vec();
    if header["alg"] == "PS256" {
        std::fs::write(p("sig.bin"), &sig).unwrap();
        args.extend(
            [
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:-1",
            ]
            .map(String::from),
        );
    } else {
        std::fs::write(p("sig.bin"), ecdsa_der(&sig)).unwrap();
    }
    args.extend([
        "-verify".into(),
        p("pub.pem"),
        "-signature".into(),
        p("sig.bin"),
        p("input"),
    ]);
    let out = run("openssl", args).await;
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

fn tamper(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(br#"{"iat":1,"nbf":1}"#);
    parts.join(".")
}

#[tokio::test]
async fn rsa_smcb_hba_and_ecc_tokens_verify_with_python_and_openssl() {
    let (_sim, k) = crate::konnektor().await;
    let dir = tempfile::tempdir().unwrap();
    let praxis = select_card(&k, &ctx(), Some(CardKind::SmcB), Some(PRAXIS_TID))
        .await
        .unwrap();
    let hba = select_card(&k, &ctx(), Some(CardKind::Hba), None)
        .await
        .unwrap();
    let praxis_ecc = use_algorithm(&k, &ctx(), &praxis, Algorithm::Ecc)
        .await
        .unwrap();
    assert_ne!(praxis_ecc.aut_certificate_der, praxis.aut_certificate_der);
    let now = 1_764_000_000;
    for (card, alg) in [(&praxis, "PS256"), (&hba, "PS256"), (&praxis_ecc, "ES256")] {
        let token = sign_jwt(&k, &ctx(), card, now).await.unwrap();
        let summary = verify_python(dir.path(), &token).await.unwrap();
        assert_eq!(summary["alg"], alg, "{summary}");
        assert_eq!(summary["typ"], "JWT");
        assert_eq!(summary["nbf"], now);
        assert!(
            card.holder.contains(summary["cn"].as_str().unwrap()),
            "{summary}"
        );
        assert!(verify_openssl(dir.path(), &token).await, "openssl: {alg}");
        // The verifiers can fail: a changed payload does not verify.
        let bad = tamper(&token);
        assert!(verify_python(dir.path(), &bad).await.is_err());
        assert!(!verify_openssl(dir.path(), &bad).await);
    }
}

fn new_account(username: &str) -> NewAccount {
    NewAccount {
        reference_id: Some(CONTRACT.into()),
        username: username.into(),
        password: Zeroizing::new(PASSWORD.into()),
        kim_version: Some("1.5+".into()),
        ..NewAccount::default()
    }
}

async fn card(env: &Env, tid: &str) -> AuthCard {
    select_card(&env.konnektor, &ctx(), None, Some(tid))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_account_manager_accepts_konnektor_tokens_of_rsa_ecc_and_hba_cards() {
    let env = Env::start().await;
    let praxis = card(&env, PRAXIS_TID).await;
    let jwt = sign_jwt(&env.konnektor, &ctx(), &praxis, env.now())
        .await
        .unwrap();
    let address = "praxis.schmidt@test.kim.telematik";
    env.am
        .register(&jwt, &new_account(address), Some(INI_PASSWORD))
        .await
        .unwrap();
    let account = env.am.get(&jwt, address, PASSWORD).await.unwrap();
    assert_eq!(account.username, address);
    assert_eq!(account.reg_stat.as_deref(), Some("registered"));
    // The same card with its ECC key (ES256 over brainpoolP256r1).
    let ecc = use_algorithm(&env.konnektor, &ctx(), &praxis, Algorithm::Ecc)
        .await
        .unwrap();
    let jwt_ecc = sign_jwt(&env.konnektor, &ctx(), &ecc, env.now())
        .await
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt_ecc.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    let account = env.am.get(&jwt_ecc, address, PASSWORD).await.unwrap();
    assert_eq!(account.username, address);
    // An HBA registers and reads its own account.
    let hba = card(&env, HBA_TID).await;
    let jwt_hba = sign_jwt(&env.konnektor, &ctx(), &hba, env.now())
        .await
        .unwrap();
    let address_hba = "alice.schmidt@test.kim.telematik";
    env.am
        .register(&jwt_hba, &new_account(address_hba), Some(INI_PASSWORD))
        .await
        .unwrap();
    let account = env.am.get(&jwt_hba, address_hba, PASSWORD).await.unwrap();
    assert_eq!(account.username, address_hba);
    let stored = kim_store::AccountStore::account(env.store.as_ref(), address_hba)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.telematik_id, HBA_TID);
}

#[tokio::test]
async fn expired_tokens_and_other_practices_cards_are_refused() {
    let env = Env::start().await;
    let praxis = card(&env, PRAXIS_TID).await;
    let jwt = sign_jwt(&env.konnektor, &ctx(), &praxis, env.now())
        .await
        .unwrap();
    let address = "praxis.schmidt@test.kim.telematik";
    env.am
        .register(&jwt, &new_account(address), Some(INI_PASSWORD))
        .await
        .unwrap();
    // jwtExpiration is 600 s (plus 60 s clock skew).
    let old = sign_jwt(&env.konnektor, &ctx(), &praxis, env.now() - 3600)
        .await
        .unwrap();
    let e = env.am.get(&old, address, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(e.to_string().contains("expired"), "{e}");
    assert!(e.german_message().starts_with("Anmeldung abgelehnt"));
    // The same token goes stale when the Account Manager's time moves on.
    env.clock.advance(700);
    let e = env.am.get(&jwt, address, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    // Another practice's card does not own the account.
    let zahnarzt = card(&env, ZAHNARZT_TID).await;
    let foreign = sign_jwt(&env.konnektor, &ctx(), &zahnarzt, env.now())
        .await
        .unwrap();
    let e = env.am.get(&foreign, address, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(e.to_string().contains("does not own"), "{e}");
    // The owner's fresh token still works.
    let fresh = sign_jwt(&env.konnektor, &ctx(), &praxis, env.now())
        .await
        .unwrap();
    env.am.get(&fresh, address, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_token_whose_certificate_comes_from_an_untrusted_ca_is_refused() {
    // This Account Manager trusts only the component CA, not the card CAs.
    let env = Env::start_trusting(vec![crate::pki().component_ca.certificate_der.clone()]).await;
    let praxis = card(&env, PRAXIS_TID).await;
    let jwt = sign_jwt(&env.konnektor, &ctx(), &praxis, env.now())
        .await
        .unwrap();
    let e = env
        .am
        .register(
            &jwt,
            &new_account("praxis.schmidt@test.kim.telematik"),
            Some(INI_PASSWORD),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(e.to_string().contains("no configured CA"), "{e}");
    assert!(
        kim_store::AccountStore::account(env.store.as_ref(), "praxis.schmidt@test.kim.telematik")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_kept_token_serves_several_requests() {
    let env = Env::start().await;
    let praxis = card(&env, PRAXIS_TID).await;
    let token = kim_admin::Token::sign(&env.konnektor, &ctx(), &praxis, env.now())
        .await
        .unwrap();
    let address = "praxis.schmidt@test.kim.telematik";
    env.am
        .register(token.as_str(), &new_account(address), Some(INI_PASSWORD))
        .await
        .unwrap();
    assert!(token.usable_at(env.now(), 600));
    env.am.get(token.as_str(), address, PASSWORD).await.unwrap();
    env.am
        .get_out_of_office(token.as_str(), address, PASSWORD)
        .await
        .unwrap();
    env.clock.advance(600);
    assert!(!token.usable_at(env.now(), 600));
}
