//! Token refusals: expired, not yet valid, foreign CA, bad signature, wrong Telematik-ID,
//! wrong algorithm; ES256 on brainpool; a PS256 token made by Python `cryptography`.

use std::sync::OnceLock;

use kim_testkit::pki::{PkiSpec, TestPki};
use serde_json::json;

use crate::*;

const MAIL: &str = "jwt@test.kim.telematik";

/// A PKI with the same cards (same Telematik-IDs) under other CAs.
fn foreign_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let mut spec = PkiSpec::from_u64_seed(4711);
        spec.cards = PkiSpec::small_default().cards;
        TestPki::generate(&spec).unwrap()
    })
}

async fn get_with(env: &Env, token: &str) -> (u16, String) {
    let headers = vec![auth(token), ("password".to_owned(), b64(PASSWORD))];
    curl(
        "GET",
        &format!("{}/account/{MAIL}", env.url),
        &headers,
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_tokens_get_401() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let aut = pki().card(PRAXIS_TID).unwrap().aut(KeyAlgorithm::Rsa2048);
    let now = env.now();
    assert_eq!(
        get_with(&env, &jwt_for(aut, json!({"nbf": now}))).await.0,
        200
    );

    let foreign = foreign_pki()
        .card(PRAXIS_TID)
        .unwrap()
        .aut(KeyAlgorithm::Rsa2048);
    let mut tampered = jwt_for(aut, json!({"nbf": now}));
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let header = json!({"alg": "PS256", "x5c": [STANDARD.encode(&aut.certificate_der)]});
    let other_claims = sign_jws(aut, &header, &json!({"nbf": now}));
    let swapped_payload = {
        let parts: Vec<&str> = other_claims.split('.').collect();
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(json!({"nbf": now + 1}).to_string()),
            parts[2]
        )
    };
    let cases = [
        ("expired", jwt_for(aut, json!({"nbf": now - 3600 - 120}))),
        (
            "exp passed",
            jwt_for(aut, json!({"nbf": now - 100, "exp": now - 90})),
        ),
        ("not yet valid", jwt_for(aut, json!({"nbf": now + 600}))),
        ("no time claim", jwt_for(aut, json!({"sub": "x"}))),
        ("foreign CA", jwt_for(foreign, json!({"nbf": now}))),
        ("bad signature", tampered),
        ("altered payload", swapped_payload),
        ("alg none", {
            let h = URL_SAFE_NO_PAD.encode(
                json!({"alg": "none", "x5c": [STANDARD.encode(&aut.certificate_der)]}).to_string(),
            );
            let p = URL_SAFE_NO_PAD.encode(json!({"nbf": now}).to_string());
            format!("{h}.{p}.")
        }),
        (
            "ES256 header on an RSA key",
            sign_jws(
                aut,
                &json!({"alg": "ES256", "x5c": [STANDARD.encode(&aut.certificate_der)]}),
                &json!({"nbf": now}),
            ),
        ),
        ("ENC certificate instead of AUT", {
            let enc = pki().card(PRAXIS_TID).unwrap().enc(KeyAlgorithm::Rsa2048);
            jwt_for(enc, json!({"nbf": now}))
        }),
        ("garbage", "abc.def.ghi".to_owned()),
    ];
    for (name, token) in cases {
        let (status, body) = get_with(&env, &token).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_error_body(&body);
    }
    // No Authorization at all.
    let (status, _) = curl(
        "GET",
        &format!("{}/account/{MAIL}", env.url),
        &[("password".to_owned(), b64(PASSWORD))],
        None,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_card_does_not_own_the_account() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    for tid in [ZAHNARZT_TID, HBA_TID] {
        let (status, body) = env.call("GET", MAIL, "", tid, None).await;
        assert_eq!(status, 401, "{tid}: {body}");
        let (status, _) = env.call("DELETE", MAIL, "", tid, None).await;
        assert_eq!(status, 401);
    }
    assert!(env.store.account(MAIL).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn brainpool_es256_tokens_are_accepted() {
    let env = Env::start().await;
    assert_eq!(env.register(HBA_TID, MAIL).await.0, 204);
    let token = env.jwt(HBA_TID, KeyAlgorithm::BrainpoolP256r1);
    assert_eq!(get_with(&env, &token).await.0, 200);
    // gematik's name for the algorithm.
    let aut = pki()
        .card(HBA_TID)
        .unwrap()
        .aut(KeyAlgorithm::BrainpoolP256r1);
    let header = json!({"alg": "BP256R1", "x5c": [STANDARD.encode(&aut.certificate_der)]});
    let token = sign_jws(aut, &header, &json!({"nbf": env.now()}));
    assert_eq!(get_with(&env, &token).await.0, 200);
}

const PYTHON_CLIENT: &str = r#"
import base64, json, sys, urllib.request, urllib.error
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

key_pem, cert_b64, nbf, url, ini, pw, mail = sys.argv[1:8]
key = serialization.load_pem_private_key(open(key_pem, "rb").read(), None)
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64u(json.dumps({"alg": "PS256", "typ": "JWT", "x5c": [cert_b64]}).encode())
payload = b64u(json.dumps({"nbf": int(nbf)}).encode())
signature = key.sign(f"{header}.{payload}".encode(),
    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
token = f"{header}.{payload}.{b64u(signature)}"
enc = lambda s: base64.b64encode(s.encode()).decode()

def call(method, path, headers, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json; charset=utf-8")
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

s1, _ = call("POST", "/account", {"iniPassword": enc(ini)},
             {"referenceID": "V-2026-0001", "username": mail, "password": enc(pw)})
s2, body = call("GET", "/account/" + mail, {"password": enc(pw)})
print(json.dumps({"register": s1, "get": s2, "account": json.loads(body)}))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn python_cryptography_ps256_token_registers_and_reads() {
    let env = Env::start().await;
    let aut = pki().card(ZAHNARZT_TID).unwrap().aut(KeyAlgorithm::Rsa2048);
    let key = env.dir.path().join("aut-key.pem");
    std::fs::write(&key, aut.private_key_pem().unwrap().as_bytes()).unwrap();
    let script = env.dir.path().join("client.py");
    std::fs::write(&script, PYTHON_CLIENT).unwrap();
    let out = run(
        "python3",
        vec![
            script.display().to_string(),
            key.display().to_string(),
            STANDARD.encode(&aut.certificate_der),
            env.now().to_string(),
            env.url.clone(),
            INI_PASSWORD.into(),
            PASSWORD.into(),
            "python@test.kim.telematik".into(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["register"], 204, "{v}");
    assert_eq!(v["get"], 200, "{v}");
    assert_eq!(v["account"]["username"], "python@test.kim.telematik");
    let account = env
        .store
        .account("python@test.kim.telematik")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.telematik_id, ZAHNARZT_TID);
}

#[tokio::test(flavor = "multi_thread")]
async fn issuing_cas_as_anchors_and_x5c_intermediates() {
    // Only the RSA SMC-B CA is configured (as a TSL lists issuing CAs).
    let smcb_only = vec![pki().smcb_ca.certificate_der.clone()];
    let env = Env::start_with(|c| c.ca_certificates = smcb_only, None).await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    assert_eq!(env.call("GET", MAIL, "", PRAXIS_TID, None).await.0, 200);
    // An HBA token is not issued by a configured CA.
    let (status, _) = env.register(HBA_TID, "hba@test.kim.telematik").await;
    assert_eq!(status, 401);

    // Only the RSA root: the token must bring the SMC-B CA in x5c[1].
    let root_only = vec![pki().root_rsa.certificate_der.clone()];
    let env = Env::start_with(|c| c.ca_certificates = root_only, None).await;
    let aut = pki().card(PRAXIS_TID).unwrap().aut(KeyAlgorithm::Rsa2048);
    let claims = json!({"nbf": env.now()});
    let bare = jwt_for(aut, claims.clone());
    let x5c = [&aut.certificate_der, &pki().smcb_ca.certificate_der];
    let header = json!({"alg": "PS256", "x5c": x5c.map(|d| STANDARD.encode(d))});
    let bridged = sign_jws(aut, &header, &claims);
    // A self-made "CA" in x5c does not help: it is not configured.
    let fake = [&aut.certificate_der, &foreign_pki().smcb_ca.certificate_der];
    let header = json!({"alg": "PS256", "x5c": fake.map(|d| STANDARD.encode(d))});
    let faked = sign_jws(aut, &header, &claims);
    let post = |token: String| {
        let headers = vec![auth(&token), ("iniPassword".to_owned(), b64(INI_PASSWORD))];
        let body = json!({"referenceID": CONTRACT, "username": MAIL, "password": b64(PASSWORD)});
        let url = format!("{}/account", env.url);
        async move { curl("POST", &url, &headers, Some(&body.to_string())).await }
    };
    assert_eq!(post(bare).await.0, 401);
    assert_eq!(post(faked).await.0, 401);
    let (status, body) = post(bridged).await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_aut_certificate_is_401() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    // Thirty years on, the test PKI's certificates have expired; the token itself is fresh.
    env.clock.advance(30 * 365 * 86_400);
    let (status, body) = env.call("GET", MAIL, "", PRAXIS_TID, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("not valid now"), "{body}");
}
