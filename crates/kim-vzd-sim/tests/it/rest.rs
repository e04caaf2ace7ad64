//! Maintenance REST API against `curl`, checked through `ldapsearch`.

use serde_json::Value;

use crate::*;

/// `curl` a request; returns (HTTP status, body).
async fn curl(
    vzd: &RunningVzd,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let url = format!("http://{}{path}", vzd.rest_addr.unwrap());
    let mut args: Vec<String> = vec![
        "-s".into(),
        "-X".into(),
        method.into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    if let Some(t) = token {
        args.push("-H".into());
        args.push(format!("Authorization: Bearer {t}"));
    }
    if let Some(b) = body {
        args.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            b.into(),
        ]);
    }
    args.push(url);
    let out = run("curl", args, vec![]).await;
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

fn fachdaten_path(tid: &str) -> String {
    format!("/DirectoryEntries/{tid}/KOM-LE_Fachdaten/kim-sim")
}

fn body(addresses: &[(&str, &str)]) -> String {
    let mail: Vec<&str> = addresses.iter().map(|(m, _)| *m).collect();
    let kom: Vec<Value> = addresses
        .iter()
        .map(|(m, v)| serde_json::json!({"mail": m, "version": v}))
        .collect();
    serde_json::json!({"mail": mail, "komLeData": kom}).to_string()
}

async fn ldap_mail(vzd: &RunningVzd, mail: &str) -> String {
    let url = format!("ldap://{}", vzd.ldap_addr.unwrap());
    let (code, out) = ldapsearch(
        &url,
        &[&format!("(mail={mail})"), "mail", "komLeData", "kimData"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    out
}

fn inner_error(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap();
    let e = &v["errors"][0];
    (
        e["attributeName"].as_str().unwrap().to_owned(),
        e["attributeError"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn replaced_addresses_are_visible_at_once_and_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let new = "empfang.schmidt@test.kim.telematik";
    let b = body(&[(PRAXIS_MAIL, "1.5+"), (new, "1.0")]);
    let (status, text) = curl(
        &vzd,
        "PUT",
        &fachdaten_path(PRAXIS_TID),
        Some(TOKEN),
        Some(&b),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let out = ldap_mail(&vzd, new).await;
    assert_eq!(entry_count(&out), 1, "{out}");
    assert!(out.contains(&format!("komLeData: 1.0,{new}")), "{out}");
    assert!(
        out.contains(&format!("komLeData: 1.5+,{PRAXIS_MAIL}")),
        "{out}"
    );
    vzd.shutdown().await;

    let vzd = start(dir.path(), |_| {}).await;
    let out = ldap_mail(&vzd, new).await;
    assert_eq!(entry_count(&out), 1, "persisted across restart: {out}");
    assert!(
        out.contains(&format!("kimData: {PRAXIS_MAIL},1.5+")),
        "{out}"
    );
    let (status, text) = curl(&vzd, "GET", &fachdaten_path(PRAXIS_TID), Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let fad1: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fad1["mail"].as_array().unwrap().len(), 2, "{text}");
    assert_eq!(fad1["komLeData"][1]["version"], "1.0", "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_then_add_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let path = fachdaten_path(PRAXIS_TID);
    let (status, _) = curl(&vzd, "DELETE", &path, Some(TOKEN), None).await;
    assert_eq!(status, 200);
    assert_eq!(entry_count(&ldap_mail(&vzd, PRAXIS_MAIL).await), 0);

    let add = format!("/DirectoryEntries/{PRAXIS_TID}/KOM-LE_Fachdaten");
    let b = body(&[(PRAXIS_MAIL, "1.5")]);
    let (status, text) = curl(&vzd, "POST", &add, Some(TOKEN), Some(&b)).await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(entry_count(&ldap_mail(&vzd, PRAXIS_MAIL).await), 1);
    let (status, _) = curl(&vzd, "POST", &add, Some(TOKEN), Some(&b)).await;
    assert_eq!(status, 400, "add on existing Fachdaten");

    let q = "/DirectoryEntries/KOM-LE_Fachdaten?kimData=praxis.schmidt*";
    let (status, text) = curl(&vzd, "GET", q, Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let found: Value = serde_json::from_str(&text).unwrap();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{text}");
    assert_eq!(found[0]["DirectoryEntryBase"]["telematikID"], PRAXIS_TID);
    assert_eq!(found[0]["userCertificates"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn yaml_error_cases() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let path = fachdaten_path(PRAXIS_TID);
    let four: Vec<String> = (0..4).map(|i| format!("a{i}@test.kim.telematik")).collect();
    let pairs: Vec<(&str, &str)> = four.iter().map(|m| (m.as_str(), "1.5")).collect();
    let cases = [
        (body(&pairs), "mail", "maxKOMLEadr wurde überschritten"),
        (body(&[(PRAXIS_MAIL, "2.0")]), "version", "Unzulässiger Wert"),
        (
            serde_json::json!({"mail": [PRAXIS_MAIL], "komLeData": [{"mail": HBA_MAIL, "version": "1.5"}]})
                .to_string(),
            "mail",
            "Inkonsistenz zwischen FAD1.mail und FAD1.komLeData.mail",
        ),
    ];
    for (b, name, error) in cases {
        let (status, text) = curl(&vzd, "PUT", &path, Some(TOKEN), Some(&b)).await;
        assert_eq!(status, 400, "{text}");
        assert_eq!(
            inner_error(&text),
            (name.to_owned(), error.to_owned()),
            "{text}"
        );
    }
    // Nothing of the refused writes reached the directory.
    assert_eq!(
        entry_count(&ldap_mail(&vzd, "a0@test.kim.telematik").await),
        0
    );

    let (status, text) = curl(&vzd, "PUT", &path, Some(TOKEN), Some("{not json")).await;
    assert_eq!(status, 400, "{text}");
    let unknown = fachdaten_path("9-9.99.999");
    let (status, text) = curl(&vzd, "GET", &unknown, Some(TOKEN), None).await;
    assert_eq!(status, 404, "{text}");
    assert!(serde_json::from_str::<Value>(&text).unwrap()["message"].is_string());
    let (status, _) = curl(&vzd, "GET", &path, None, None).await;
    assert_eq!(status, 401);
    let (status, text) = curl(&vzd, "GET", &path, Some("wrong-token"), None).await;
    assert_eq!(status, 401);
    assert!(serde_json::from_str::<Value>(&text).unwrap()["errors"].is_array());
    let other = format!("/DirectoryEntries/{PRAXIS_TID}/KOM-LE_Fachdaten/other-fad");
    let (status, _) = curl(&vzd, "DELETE", &other, Some(TOKEN), None).await;
    assert_eq!(status, 403);
    assert_eq!(
        entry_count(&ldap_mail(&vzd, PRAXIS_MAIL).await),
        1,
        "403 changed nothing"
    );
}
