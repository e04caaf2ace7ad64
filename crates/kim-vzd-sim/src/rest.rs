//! The KOM-LE Fachdaten operations of `I_Directory_Application_Maintenance` (api-vzd
//! `DirectoryApplicationMaintenance.yaml` 1.4.9, vendored in `spec/vzd/`):
//!
//! | Operation | Route | Success |
//! |---|---|---|
//! | add_Directory_FA-Attributes | `POST /DirectoryEntries/{telematikID}/KOM-LE_Fachdaten` | 201 |
//! | get_Directory_FA-Attributes | `GET /DirectoryEntries/{telematikID}/KOM-LE_Fachdaten/{fad}` | 200 `FAD1` |
//! | modify_Directory_FA-Attributes | `PUT …/KOM-LE_Fachdaten/{fad}` | 200 |
//! | delete_Directory_FA-Attributes | `DELETE …/KOM-LE_Fachdaten/{fad}` | 200 |
//! | search_Directory_FA-Attributes | `GET /DirectoryEntries/KOM-LE_Fachdaten?mail=&komLeData=&kimData=` | 200 `DirectoryEntries` |
//!
//! Authentication: the yaml names mutual TLS, the client's FAD coming from its certificate.
//! The simulator accepts a configured client certificate (HTTPS with client authentication,
//! the leaf compared byte for byte) or, for plain-HTTP tests and tools,
//! `Authorization: Bearer <token>`; each configured client maps to one FAD. No or an unknown
//! credential → 401, a `{fad}` other than the caller's → 403. Errors carry the yaml's `Error` body
//! `{"message": …, "errors": [{"attributeName": …, "attributeError": …}]}`.
//!
//! Add refuses (400) when the entry already has non-empty Fachdaten; changes go through PUT
//! with the whole list (the yaml's read-modify-write rule). Writes reach SQLite before the
//! response and are visible to LDAP searches at once.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::model::{Entry, Fachdaten, FadError, FadRequest, HolderKind};

/// Largest number of entries a search returns (yaml: "nur 100 gefundene Einträge").
const SEARCH_MAX: usize = 100;

/// DER of the TLS client certificate of the connection, if any.
#[derive(Debug, Clone, Default)]
pub struct PeerCert(pub Option<Vec<u8>>);

/// The router of the maintenance API for one connection.
pub fn router(shared: Arc<Shared>, peer: PeerCert) -> Router {
    Router::new()
        .route("/DirectoryEntries/KOM-LE_Fachdaten", get(search))
        .route("/DirectoryEntries/{tid}/KOM-LE_Fachdaten", post(add))
        .route(
            "/DirectoryEntries/{tid}/KOM-LE_Fachdaten/{fad}",
            get(read).put(modify).delete(remove),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "unknown resource", None) })
        .with_state(shared)
        .layer(axum::Extension(peer))
}

/// An HTTP error with the yaml's `Error` body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    inner: Option<(&'static str, &'static str)>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors: Vec<Value> = self
            .inner
            .map(|(n, e)| json!({"attributeName": n, "attributeError": e}))
            .into_iter()
            .collect();
        let body = json!({"message": self.message, "errors": errors});
        (self.status, axum::Json(body)).into_response()
    }
}

fn api_error(
    status: StatusCode,
    message: &str,
    inner: Option<(&'static str, &'static str)>,
) -> ApiError {
    ApiError {
        status,
        message: message.to_owned(),
        inner,
    }
}

fn error(
    status: StatusCode,
    message: &str,
    inner: Option<(&'static str, &'static str)>,
) -> Response {
    api_error(status, message, inner).into_response()
}

fn fad_error(e: &FadError) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &e.to_string(),
        Some(e.inner_error()),
    )
}

fn internal(what: &str) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, what, None)
}

/// The FAD of the caller, or the 401 response.
fn caller(shared: &Shared, headers: &HeaderMap, peer: &PeerCert) -> Result<String, ApiError> {
    if let Some(leaf) = &peer.0
        && let Some((fad, _)) = shared.client_certs.iter().find(|(_, der)| der == leaf)
    {
        return Ok(fad.clone());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let client = token.and_then(|t| {
        shared
            .config
            .api_clients
            .iter()
            .find(|c| c.token.as_deref() == Some(t))
    });
    match client {
        Some(c) => Ok(c.fad.clone()),
        None => Err(api_error(
            StatusCode::UNAUTHORIZED,
            "no known client certificate and no valid Bearer token",
            None,
        )),
    }
}

/// Caller authenticated and allowed to act on `{fad}`.
fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    peer: &PeerCert,
    fad: &str,
) -> Result<String, ApiError> {
    let own = caller(shared, headers, peer)?;
    if own != fad {
        return Err(api_error(
            StatusCode::FORBIDDEN,
            "the FAD in the path is not the caller's FAD",
            None,
        ));
    }
    Ok(own)
}

fn not_found(tid: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("no directory entry with telematikID {tid}"),
        None,
    )
}

/// Validates `body` against the entry's `maxKOMLEadr`, persists and publishes it.
fn write(shared: &Shared, tid: &str, fad: &str, body: &[u8], create: bool) -> Response {
    let req: FadRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, &format!("request body: {e}"), None);
        }
    };
    let Ok(mut dir) = shared.directory.write() else {
        return internal("directory lock poisoned");
    };
    let Some(entry) = dir.by_telematik_id(tid) else {
        return not_found(tid);
    };
    let existing = &entry.fachdaten;
    if create && !(existing.mail.is_empty() && existing.addresses.is_empty()) {
        let m = "KOM-LE Fachdaten exist already; use PUT to replace them";
        return error(StatusCode::BAD_REQUEST, m, None);
    }
    let fachdaten = match req.validate(fad, entry.base.max_kom_le_adr) {
        Ok(f) => f,
        Err(e) => return fad_error(&e),
    };
    if let Err(r) = persist(shared, tid, &fachdaten) {
        return r.into_response();
    }
    dir.set_fachdaten(tid, fachdaten);
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    status.into_response()
}

fn persist(shared: &Shared, tid: &str, fachdaten: &Fachdaten) -> Result<(), ApiError> {
    let fail = |m: &str| api_error(StatusCode::INTERNAL_SERVER_ERROR, m, None);
    let store = shared
        .store
        .lock()
        .map_err(|_| fail("store lock poisoned"))?;
    store.put(tid, fachdaten).map_err(|e| {
        tracing::error!(error = %e, "persisting Fachdaten failed");
        fail("storing the Fachdaten failed")
    })
}

async fn add(
    State(shared): State<Arc<Shared>>,
    Path(tid): Path<String>,
    headers: HeaderMap,
    Extension(peer): Extension<PeerCert>,
    body: Bytes,
) -> Response {
    match caller(&shared, &headers, &peer) {
        Ok(fad) => write(&shared, &tid, &fad, &body, true),
        Err(r) => r.into_response(),
    }
}

async fn modify(
    State(shared): State<Arc<Shared>>,
    Path((tid, fad)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(peer): Extension<PeerCert>,
    body: Bytes,
) -> Response {
    match authorize(&shared, &headers, &peer, &fad) {
        Ok(fad) => write(&shared, &tid, &fad, &body, false),
        Err(r) => r.into_response(),
    }
}

async fn remove(
    State(shared): State<Arc<Shared>>,
    Path((tid, fad)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(peer): Extension<PeerCert>,
) -> Response {
    if let Err(r) = authorize(&shared, &headers, &peer, &fad) {
        return r.into_response();
    }
    let Ok(mut dir) = shared.directory.write() else {
        return internal("directory lock poisoned");
    };
    if dir.by_telematik_id(&tid).is_none() {
        return not_found(&tid);
    }
    let empty = Fachdaten {
        fad,
        ..Fachdaten::default()
    };
    if let Err(r) = persist(&shared, &tid, &empty) {
        return r.into_response();
    }
    dir.set_fachdaten(&tid, empty);
    StatusCode::OK.into_response()
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path((tid, fad)): Path<(String, String)>,
    headers: HeaderMap,
    Extension(peer): Extension<PeerCert>,
) -> Response {
    if let Err(r) = authorize(&shared, &headers, &peer, &fad) {
        return r.into_response();
    }
    let Ok(dir) = shared.directory.read() else {
        return internal("directory lock poisoned");
    };
    match dir.by_telematik_id(&tid) {
        Some(entry) => axum::Json(fad1(entry)).into_response(),
        None => not_found(&tid),
    }
}

/// Query of search_Directory_FA-Attributes.
#[derive(Debug, Deserialize)]
struct SearchQuery {
    mail: Option<String>,
    #[serde(rename = "komLeData")]
    kom_le_data: Option<String>,
    #[serde(rename = "kimData")]
    kim_data: Option<String>,
}

async fn search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Extension(peer): Extension<PeerCert>,
    Query(q): Query<SearchQuery>,
) -> Response {
    if let Err(r) = caller(&shared, &headers, &peer) {
        return r.into_response();
    }
    let Ok(dir) = shared.directory.read() else {
        return internal("directory lock poisoned");
    };
    let found: Vec<Value> = dir
        .visible()
        .filter(|e| {
            let mail: Vec<String> = e.fachdaten.mail.iter().map(ToString::to_string).collect();
            param_matches(q.mail.as_deref(), &mail)
                && param_matches(q.kom_le_data.as_deref(), &e.kom_le_data())
                && param_matches(q.kim_data.as_deref(), &e.kim_data())
        })
        .take(SEARCH_MAX)
        .map(directory_entry)
        .collect();
    axum::Json(Value::Array(found)).into_response()
}

/// A search parameter: absent matches all; `""` matches absent or empty attributes; `*` is a
/// wildcard; comparison ignores case.
fn param_matches(param: Option<&str>, values: &[String]) -> bool {
    match param {
        None => true,
        Some("") => values.iter().all(String::is_empty),
        Some(p) => values
            .iter()
            .any(|v| glob(&p.to_lowercase(), &v.to_lowercase())),
    }
}

fn glob(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(pos) => rest = rest.get(pos + m.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn dn(entry: &Entry) -> Value {
    json!({"uid": entry.uid, "dc": ["data", "vzd"]})
}

/// The `FAD1` JSON of an entry.
fn fad1(entry: &Entry) -> Value {
    let f = &entry.fachdaten;
    let mail: Vec<String> = f.mail.iter().map(ToString::to_string).collect();
    let kom: Vec<Value> = f
        .addresses
        .iter()
        .filter(|a| !a.no_vzd_mail_entry)
        .map(|a| json!({"mail": a.mail.to_string(), "version": a.version.as_str()}))
        .collect();
    let kim: Vec<Value> = f
        .addresses
        .iter()
        .map(|a| {
            json!({"mail": a.mail.to_string(), "version": a.version.as_str(), "appTags": a.app_tags})
        })
        .collect();
    json!({"dn": dn(entry), "mail": mail, "komLeData": kom, "kimData": kim})
}

/// The `DirectoryEntry` JSON (base data, certificates, Fachdaten) of an entry.
fn directory_entry(entry: &Entry) -> Value {
    let b = &entry.base;
    let mut base = json!({
        "dn": dn(entry),
        "cn": b.holder,
        "displayName": b.holder,
        "telematikID": b.telematik_id.as_str(),
        "personalEntry": b.kind == HolderKind::Person,
        "professionOID": [b.profession_oid],
        "domainID": b.domain_ids,
    });
    if let Value::Object(map) = &mut base {
        if let Some(max) = b.max_kom_le_adr {
            map.insert("maxKOMLEadr".into(), json!(max.to_string()));
        }
        if !b.entry_type.is_empty() {
            map.insert("entryType".into(), json!([b.entry_type]));
        }
        if let Some(sn) = &b.surname {
            map.insert("sn".into(), json!(sn));
        }
        if let Some(g) = &b.given_name {
            map.insert("givenName".into(), json!(g));
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let certs: Vec<Value> = b
        .certificates
        .iter()
        .map(|c| {
            json!({
                "dn": dn(entry),
                "telematikID": b.telematik_id.as_str(),
                "userCertificate": b64.encode(c),
                "active": true,
            })
        })
        .collect();
    json!({
        "DirectoryEntryBase": base,
        "userCertificates": certs,
        "Fachdaten": [{"dn": dn(entry), "FAD1": [fad1(entry)]}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_parameters_match_like_the_yaml_describes() {
        let v = vec!["1.5+,a@x.kim.telematik".to_owned()];
        assert!(param_matches(None, &v));
        assert!(param_matches(Some("1.5+,A@x.kim.telematik"), &v));
        assert!(param_matches(Some("*a@x*"), &v));
        assert!(param_matches(Some("1.5*"), &v));
        assert!(!param_matches(Some("1.0*"), &v));
        assert!(!param_matches(Some(""), &v));
        assert!(param_matches(Some(""), &[]));
        assert!(!param_matches(Some("x"), &[]));
    }
}
