//! The attachment service driven by curl and python.

use kim_kas::purge_expired;
use kim_store::{BlobStore, KasObject, KasStore, Namespace};

use crate::harness::{
    APOTHEKE, ARZT, DOWNLOADS, Env, KLEIN, MAX, OPFER, PASSWORD, PRAXIS, PUBLIC_BASE, in_days,
    upload, upload_ok,
};

fn recipient(r: &str) -> String {
    format!("recipient: {r}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_upload_and_download_round_trip_byte_exact() {
    let env = Env::start().await;
    let file = env.data_file("blob", 3 * 1024 * 1024 + 17);
    let link = upload_ok(&env, &file, &[ARZT, "Apotheke.Mueller@Test.kim.telematik"]).await;
    assert!(
        link.starts_with(&format!("{PUBLIC_BASE}/attachments/v2.4/attachment/")),
        "{link}"
    );
    for r in [ARZT, APOTHEKE] {
        let (status, body) = env.curl(&["-H", &recipient(r), &env.local(&link)]).await;
        assert_eq!(status, 200);
        assert!(
            body == std::fs::read(&file).unwrap(),
            "bytes differ for {r}"
        );
    }
    let id = link.rsplit('/').next().unwrap();
    let object = env.fd.meta.object(id).await.unwrap().unwrap();
    assert_eq!(object.owner, PRAXIS);
    assert_eq!(object.recipients, [ARZT, APOTHEKE]);
    assert_eq!(object.message_id, "<4711@test.kim.telematik>");
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_upload_with_part_content_length_head_and_urllib_download() {
    let env = Env::start().await;
    let out = env
        .python(&format!(
            r#"
import os, requests, urllib.request
data = os.urandom(1000003)
files = [
    ("messageID", (None, "<1@test.kim.telematik>")),
    ("recipients", (None, "{ARZT}")),
    ("expires", (None, "{expires}")),
    ("attachment", ("attachment.enc", data, "application/octet-stream",
                    {{"Content-Length": str(len(data))}})),
]
r = requests.post(base + "/attachments/v2.4/attachment/", files=files, auth=("{PRAXIS}", "{PASSWORD}"))
assert r.status_code == 201, (r.status_code, r.text)
assert r.headers["Content-Type"] == "application/json; charset=utf-8", r.headers
link = r.json()["sharedLink"]
local = base + link[len("{PUBLIC_BASE}"):]
h = requests.head(local, headers={{"recipient": "{ARZT}"}})
assert h.status_code == 200, h.status_code
assert h.headers["Content-Length"] == str(len(data)), h.headers
req = urllib.request.Request(local, headers={{"recipient": "{ARZT}"}})
with urllib.request.urlopen(req) as resp:
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.read() == data
print("ok")
"#,
            expires = in_days(3)
        ))
        .await;
    assert_eq!(out.trim(), "ok");
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_with_curl_reports_the_size() {
    let env = Env::start().await;
    let file = env.data_file("blob", 12345);
    let link = upload_ok(&env, &file, &[ARZT]).await;
    let output = crate::harness::run(
        "curl",
        vec![
            "-s".into(),
            "-I".into(),
            "-H".into(),
            recipient(ARZT),
            env.local(&link),
        ],
    )
    .await;
    let head = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-length: 12345\r\n"), "{head}");
    let (status, _) = env
        .curl(&["-I", "-H", &recipient(PRAXIS), &env.local(&link)])
        .await;
    assert_eq!(status, 403, "HEAD by a non-recipient");
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_recipient_gets_403_and_missing_header_400() {
    let env = Env::start().await;
    let file = env.data_file("blob", 1000);
    let link = upload_ok(&env, &file, &[ARZT]).await;
    let (status, body) = env
        .curl(&["-H", &recipient(APOTHEKE), &env.local(&link)])
        .await;
    assert_eq!(status, 403);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["message"].as_str().unwrap().contains("recipient"));
    assert_eq!(json["traceId"].as_str().unwrap().len(), 16);
    let (status, _) = env.curl(&[&env.local(&link)]).await;
    assert_eq!(status, 400);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_expired_objects_are_404() {
    let env = Env::start().await;
    for id in ["0b7f5a6e-8c7e-4c1e-9d43-6a1d2b9d7f00", "nicht-da"] {
        let url = env.url(&format!("/attachments/v2.4/attachment/{id}"));
        let (status, _) = env.curl(&["-H", &recipient(ARZT), &url]).await;
        assert_eq!(status, 404, "{id}");
    }
    // An object whose expiry has passed but that the purge has not removed yet.
    let mut writer = env.fd.blobs.create(Namespace::Kas).await.unwrap();
    writer.write(b"old").await.unwrap();
    let blob = writer.commit().await.unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    env.fd
        .meta
        .put_object(&KasObject {
            id: id.clone(),
            owner: PRAXIS.into(),
            blob,
            size: 3,
            message_id: "<old@test.kim.telematik>".into(),
            recipients: vec![ARZT.into()],
            expires: 1_000,
            created: 0,
        })
        .await
        .unwrap();
    let url = env.url(&format!("/attachments/v2.4/attachment/{id}"));
    let (status, _) = env.curl(&["-H", &recipient(ARZT), &url]).await;
    assert_eq!(status, 404);
    let (status, _) = env.curl(&["-I", "-H", &recipient(ARZT), &url]).await;
    assert_eq!(status, 404);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_is_413_and_leaves_nothing_behind() {
    let env = Env::start().await;
    // Declared Content-Length beyond maxMailSize + form overhead: refused before reading.
    let big = env.data_file("big", (MAX as usize) * 2);
    let (status, body) = upload(&env, PRAXIS, &big, &[ARZT]).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    // Within the declared bound but more mail data than maxMailSize: refused while counting.
    let over = env.data_file("over", MAX as usize + 100_000);
    let (status, _) = upload(&env, PRAXIS, &over, &[ARZT]).await;
    assert_eq!(status, 413);
    assert_eq!(env.kas_blobs().await, 0, "no blob of a refused upload");
    assert_eq!(env.fd.meta.owner_usage(PRAXIS).await.unwrap(), 0);
    // Exactly maxMailSize is fine.
    let exact = env.data_file("exact", MAX as usize);
    upload_ok(&env, &exact, &[ARZT]).await;
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_is_507() {
    let env = Env::start().await;
    let file = env.data_file("blob", 700 * 1024);
    let (status, _) = upload(&env, KLEIN, &file, &[ARZT]).await;
    assert_eq!(status, 201, "first upload fits the 1 MiB quota");
    let (status, body) = upload(&env, KLEIN, &file, &[ARZT]).await;
    assert_eq!(status, 507, "{}", String::from_utf8_lossy(&body));
    assert_eq!(env.kas_blobs().await, 1);
    // Declared part length beyond the quota: refused before the bytes are read.
    let out = env
        .python(&format!(
            r#"
import requests
data = b"x" * 400000
files = [("messageID", (None, "m")), ("recipients", (None, "{ARZT}")),
         ("expires", (None, "{expires}")),
         ("attachment", ("attachment.enc", data, "application/octet-stream",
                         {{"Content-Length": str(len(data))}}))]
r = requests.post(base + "/attachments/v2.4/attachment/", files=files, auth=("{KLEIN}", "{PASSWORD}"))
print(r.status_code)
"#,
            expires = in_days(3)
        ))
        .await;
    assert_eq!(out.trim(), "507");
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_downloads_is_429() {
    let env = Env::start().await;
    let file = env.data_file("blob", 100);
    let link = upload_ok(&env, &file, &[ARZT, APOTHEKE]).await;
    for _ in 0..DOWNLOADS {
        let (status, _) = env.curl(&["-H", &recipient(ARZT), &env.local(&link)]).await;
        assert_eq!(status, 200);
    }
    let (status, _) = env.curl(&["-H", &recipient(ARZT), &env.local(&link)]).await;
    assert_eq!(status, 429);
    let (status, _) = env
        .curl(&["-H", &recipient(APOTHEKE), &env.local(&link)])
        .await;
    assert_eq!(status, 200, "counted per recipient");
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_by_the_uploader_only() {
    let env = Env::start().await;
    let file = env.data_file("blob", 100);
    let link = upload_ok(&env, &file, &[ARZT]).await;
    let url = env.local(&link);
    let (status, _) = env.curl(&["-X", "DELETE", &url]).await;
    assert_eq!(status, 401, "without credentials");
    let (status, _) = env
        .curl(&["-X", "DELETE", "-u", &format!("{ARZT}:{PASSWORD}"), &url])
        .await;
    assert_eq!(status, 403, "by a recipient");
    let (status, _) = env
        .curl(&["-X", "DELETE", "-u", &format!("{PRAXIS}:{PASSWORD}"), &url])
        .await;
    assert_eq!(status, 200);
    assert_eq!(env.kas_blobs().await, 0);
    let (status, _) = env.curl(&["-H", &recipient(ARZT), &url]).await;
    assert_eq!(status, 404);
    let (status, _) = env
        .curl(&["-X", "DELETE", "-u", &format!("{PRAXIS}:{PASSWORD}"), &url])
        .await;
    assert_eq!(status, 404);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_401_and_the_third_locks() {
    let env = Env::start().await;
    let file = env.data_file("blob", 100);
    let (status, _) = upload(&env, OPFER, &file, &[ARZT]).await;
    assert_eq!(status, 201, "the right password works before");
    let url = env.url("/attachments/v2.4/attachment/");
    for _ in 0..3 {
        let (status, _) = env
            .curl(&["-u", &format!("{OPFER}:falsch"), "-F", "messageID=m", &url])
            .await;
        assert_eq!(status, 401);
    }
    let (status, body) = upload(&env, OPFER, &file, &[ARZT]).await;
    assert_eq!(status, 401, "locked even with the right password");
    assert!(String::from_utf8_lossy(&body).contains("locked"));
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_form_is_400_without_a_blob() {
    let env = Env::start().await;
    let file = env.data_file("blob", 1000);
    let url = env.url("/attachments/v2.4/attachment/");
    let auth = format!("{PRAXIS}:{PASSWORD}");
    let attachment = format!("attachment=@{}", file.display());
    let expires = format!("expires={}", in_days(1));
    let cases: [&[&str]; 4] = [
        &["-F", &attachment, "-F", &expires, "-F", "messageID=m"],
        &["-F", &attachment, "-F", "recipients=nobody", "-F", &expires],
        &[
            "-F",
            &attachment,
            "-F",
            "recipients=a@b",
            "-F",
            "expires=morgen",
        ],
        &["-F", "recipients=a@b", "-F", &expires, "-F", "messageID=m"],
    ];
    for case in cases {
        let mut args = vec!["-u", &auth];
        args.extend_from_slice(case);
        args.push(&url);
        let (status, body) = env.curl(&args).await;
        assert_eq!(status, 400, "{case:?}: {}", String::from_utf8_lossy(&body));
    }
    let (status, _) = env
        .curl(&["-u", &auth, "--data-binary", "@/dev/null", &url])
        .await;
    assert_eq!(status, 400, "not multipart");
    assert_eq!(env.kas_blobs().await, 0);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_removes_expired_objects_and_blobs() {
    let env = Env::start().await;
    let file = env.data_file("blob", 5000);
    let link = upload_ok(&env, &file, &[ARZT]).await;
    let now = kim_kas_now();
    let (meta, blobs): (&dyn KasStore, &dyn BlobStore) = (&*env.fd.meta, &*env.fd.blobs);
    assert_eq!(purge_expired(meta, blobs, now).await.unwrap(), 0);
    assert_eq!(env.kas_blobs().await, 1);
    let later = now + 11 * 86_400;
    assert_eq!(purge_expired(meta, blobs, later).await.unwrap(), 1);
    assert_eq!(env.kas_blobs().await, 0);
    let (status, _) = env.curl(&["-H", &recipient(ARZT), &env.local(&link)]).await;
    assert_eq!(status, 404);
    env.stop();
}

fn kim_kas_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upload_without_content_length_is_400() {
    let env = Env::start().await;
    let file = env.data_file("blob", 1000);
    let (status, body) = env
        .curl(&[
            "-u",
            &format!("{PRAXIS}:{PASSWORD}"),
            "-H",
            "Transfer-Encoding: chunked",
            "--form-string",
            "messageID=m",
            "--form-string",
            &format!("recipients={ARZT}"),
            "--form-string",
            &format!("expires={}", in_days(1)),
            "-F",
            &format!("attachment=@{}", file.display()),
            &env.url("/attachments/v2.4/attachment/"),
        ])
        .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("Content-Length"));
    assert_eq!(env.kas_blobs().await, 0);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_capped_at_the_accounts_data_time_to_live() {
    let env = Env::start().await;
    let file = env.data_file("blob", 10);
    let (status, body) = env
        .curl(&[
            "-u",
            &format!("{PRAXIS}:{PASSWORD}"),
            "--form-string",
            "messageID=m",
            "--form-string",
            &format!("recipients={ARZT}"),
            "--form-string",
            &format!("expires={}", in_days(400)),
            "-F",
            &format!("attachment=@{}", file.display()),
            &env.url("/attachments/v2.4/attachment/"),
        ])
        .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let id = json["sharedLink"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let object = env.fd.meta.object(id).await.unwrap().unwrap();
    let ttl = 90 * 86_400;
    assert!(
        object.expires <= object.created + ttl && object.expires > object.created + ttl - 60,
        "expires {} created {}",
        object.expires,
        object.created
    );
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_task_runs_until_cancelled() {
    let env = Env::start().await;
    let mut writer = env.fd.blobs.create(Namespace::Kas).await.unwrap();
    writer.write(b"old").await.unwrap();
    let blob = writer.commit().await.unwrap();
    env.fd
        .meta
        .put_object(&KasObject {
            id: uuid::Uuid::new_v4().to_string(),
            owner: PRAXIS.into(),
            blob,
            size: 3,
            message_id: "m".into(),
            recipients: vec![ARZT.into()],
            expires: 1_000,
            created: 0,
        })
        .await
        .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = kim_kas::spawn_purge(
        env.fd.clone(),
        std::time::Duration::from_secs(3600),
        cancel.clone(),
    );
    // The first round runs at once; wait for its effect (bounded, not a timing assertion).
    for _ in 0..200 {
        if env.kas_blobs().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(env.kas_blobs().await, 0);
    assert!(
        env.fd
            .meta
            .expired_objects(i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    cancel.cancel();
    task.await.unwrap();
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_upload_leaves_no_blob_and_no_record() {
    let env = Env::start().await;
    let kas = env.dir.path().join("blobs/kas");
    let out = env
        .python(&format!(
            r#"
import base64, os, socket, time, urllib.parse
u = urllib.parse.urlparse(base)
b = "xyz"
head = ("--" + b + "\r\nContent-Disposition: form-data; name=\"recipients\"\r\n\r\n{ARZT}\r\n"
        "--" + b + "\r\nContent-Disposition: form-data; name=attachment; filename=attachment.enc\r\n"
        "Content-Type: application/octet-stream\r\n\r\n").encode()
auth = base64.b64encode(b"{PRAXIS}:{PASSWORD}").decode()
req = ("POST /attachments/v2.4/attachment/ HTTP/1.1\r\nHost: kas\r\n"
       "Authorization: Basic " + auth + "\r\n"
       "Content-Type: multipart/form-data; boundary=" + b + "\r\n"
       "Content-Length: 2000000\r\n\r\n").encode()
s = socket.create_connection((u.hostname, u.port))
s.sendall(req + head + b"\0" * 500000)
# Close only once the server is writing the blob.
for _ in range(200):
    if any(os.listdir(os.path.join({kas:?}, d)) for d in os.listdir({kas:?})):
        print("writing")
        break
    time.sleep(0.05)
s.close()
"#
        ))
        .await;
    assert_eq!(out.trim(), "writing", "the server never started the blob");
    // The handler notices the end of the connection and drops its writer, removing the
    // unfinished file (bounded wait for that, no timing assertion).
    for _ in 0..200 {
        if env.kas_blobs().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(env.kas_blobs().await, 0, "unfinished blob left");
    assert_eq!(env.fd.meta.owner_usage(PRAXIS).await.unwrap(), 0);
    env.stop();
}
