//! getOutOfOffice / updateOutOfOffice, driven by Python `urllib`.

use kim_store::AccountStore;
use serde_json::Value;

use crate::*;

const MAIL: &str = "urlaub@test.kim.telematik";

const PYTHON_OOO: &str = r#"
import base64, json, sys, urllib.request, urllib.error
url, token, pw = sys.argv[1:4]
steps = json.loads(sys.argv[4])
out = []
for method, body in steps:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("password", base64.b64encode(pw.encode()).decode())
    req.add_header("Content-Type", "application/json; charset=utf-8")
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read().decode()
            out.append([r.status, json.loads(text) if text else None])
    except urllib.error.HTTPError as e:
        out.append([e.code, json.loads(e.read().decode())])
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn out_of_office_rules() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let steps = serde_json::json!([
        ["GET", null],
        ["PUT", {"active": true, "message": "Urlaub"}],
        ["PUT", {"startDate": "2026-07-20T08:00:00Z", "endDate": "2026-07-28T18:00:00+02:00", "message": "Wir sind im Urlaub.", "active": true}],
        ["GET", null],
        ["PUT", {"active": false}],
        ["GET", null],
        ["PUT", {"active": true}],
        ["PUT", {"startDate": "2026-08-01T00:00:00Z", "endDate": "2026-07-01T00:00:00Z", "message": "x"}],
        ["PUT", {"startDate": "morgen", "endDate": "2026-07-01T00:00:00Z", "message": "x"}],
    ]);
    let script = env.dir.path().join("ooo.py");
    std::fs::write(&script, PYTHON_OOO).unwrap();
    let out = run(
        "python3",
        vec![
            script.display().to_string(),
            format!("{}/account/{MAIL}/outofoffice", env.url),
            env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048),
            PASSWORD.into(),
            steps.to_string(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |i: usize| r[i][0].as_u64().unwrap();
    // Before any update: only {"active": false}.
    assert_eq!(r[0], serde_json::json!([200, {"active": false}]));
    // First update without every field: 400.
    assert_eq!(status(1), 400);
    assert_eq!(status(2), 204);
    assert_eq!(
        r[3][1],
        serde_json::json!({"startDate": "2026-07-20T08:00:00Z", "endDate": "2026-07-28T16:00:00Z", "message": "Wir sind im Urlaub.", "active": true})
    );
    // active=false alone keeps the stored values.
    assert_eq!(status(4), 204);
    assert_eq!(r[5][1]["active"], false);
    assert_eq!(r[5][1]["message"], "Wir sind im Urlaub.");
    // active=true needs every field; start after end and bad dates are 400.
    assert_eq!((status(6), status(7), status(8)), (400, 400, 400));
    let stored = env
        .store
        .account(MAIL)
        .await
        .unwrap()
        .unwrap()
        .out_of_office
        .unwrap();
    assert!(!stored.active);
}
