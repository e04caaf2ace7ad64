//! Admin API (JSON, loopback peers only, same server and authentication as the SOAP
//! services):
//!
//! | Method and path | Body | Effect |
//! |---|---|---|
//! | `GET /admin/cards` | — | all cards (handle, terminal, slot, PIN states, key pairs) |
//! | `POST /admin/cards/<ICCSN>/insert` | `{"terminal":"CT1","slot":2}` (optional) | insert, new handle |
//! | `POST /admin/cards/<ICCSN>/remove` | — | remove, handle invalid, PINs unverified |
//! | `POST /admin/cards/<ICCSN>/pin` | `{"pin":"PIN.SMC","status":"BLOCKED","left_tries":0,"script":["wrong"]}` | PIN state and scripted entries |
//! | `GET /admin/knobs` | — | current knobs |
//! | `PUT /admin/knobs/<Operation>` | `{"delay":0,"unavailable":"fault4002","fail_next":2,"fail_code":4085,"stall":false}` | set a knob (`{}` clears) |
//! | `PUT /admin/ocsp` | `{"unavailable":true}` | certificate status checks unavailable (4264) |
//!
//! Answers: 200 with JSON, 400 with `{"error": "..."}` naming what was wrong, 404 for
//! unknown paths.

use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;

use crate::cards::PinOutcome;
use crate::knobs::{Knob, Operation};
use crate::model::{PinStatus, PinType};
use crate::server::{Shared, reply};

const MAX_ADMIN_BODY: usize = 64 * 1024;

type Reply = http::Response<http_body_util::Full<bytes::Bytes>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InsertBody {
    terminal: Option<String>,
    slot: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PinBody {
    pin: String,
    status: Option<String>,
    left_tries: Option<u32>,
    #[serde(default)]
    script: Vec<PinOutcome>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OcspBody {
    unavailable: bool,
}

fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    reply(
        status,
        "application/json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

fn bad(what: impl std::fmt::Display) -> Reply {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": what.to_string() }),
    )
}

fn ok<T: serde::Serialize>(value: &T) -> Reply {
    match serde_json::to_value(value) {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => bad(e),
    }
}

async fn read_json<T: serde::de::DeserializeOwned + Default>(
    body: Incoming,
    allow_empty: bool,
) -> Result<T, Reply> {
    let limited = http_body_util::Limited::new(body, MAX_ADMIN_BODY);
    let bytes = limited
        .collect()
        .await
        .map_err(|e| bad(format!("body: {e}")))?
        .to_bytes();
    if bytes.is_empty() && allow_empty {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("JSON: {e}")))
}

/// Handles one admin request.
pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let cards = &shared.konnektor.cards;
    match (method, parts.as_slice()) {
        (Method::GET, ["admin", "cards"]) => ok(&cards.list(None)),
        (Method::POST, ["admin", "cards", iccsn, "insert"]) => {
            let body: InsertBody = match read_json(req.into_body(), true).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let place = match (body.terminal, body.slot) {
                (Some(t), Some(s)) => match shared.konnektor.model.slots(&t) {
                    Some(n) if (1..=n).contains(&s) => Some((t, s)),
                    _ => return bad(format!("terminal {t} slot {s} does not exist")),
                },
                (None, None) => None,
                _ => return bad("give terminal and slot together"),
            };
            cards.insert(iccsn, place).map_or_else(bad, |v| ok(&v))
        }
        (Method::POST, ["admin", "cards", iccsn, "remove"]) => {
            cards.remove(iccsn).map_or_else(bad, |v| ok(&v))
        }
        (Method::POST, ["admin", "cards", iccsn, "pin"]) => {
            let body: PinBody = match read_json(req.into_body(), false).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(pin) = PinType::from_wire(&body.pin) else {
                return bad(format!(
                    "pin {:?}: allowed PIN.SMC, PIN.CH, PIN.QES",
                    body.pin
                ));
            };
            let status = match body.status.as_deref().map(PinStatus::from_wire) {
                None => None,
                Some(Some(s)) => Some(s),
                Some(None) => {
                    return bad(
                        "status: allowed VERIFIABLE, VERIFIED, TRANSPORT_PIN, BLOCKED, EMPTY_PIN, DISABLED",
                    );
                }
            };
            cards
                .set_pin(iccsn, pin, status, body.left_tries, body.script)
                .map_or_else(bad, |v| ok(&v))
        }
        (Method::GET, ["admin", "knobs"]) => {
            let snapshot = shared.knobs.snapshot();
            let map: std::collections::BTreeMap<&str, &Knob> = snapshot
                .per_operation
                .iter()
                .map(|(o, k)| (o.name(), k))
                .collect();
            ok(&map)
        }
        (Method::PUT, ["admin", "knobs", op]) => {
            let Some(op) = Operation::from_name(op) else {
                return bad(format!("unknown operation {op}"));
            };
            let knob: Knob = match read_json(req.into_body(), true).await {
                Ok(k) => k,
                Err(r) => return r,
            };
            if !(4000..=4999).contains(&knob.fail_code) {
                return bad(format!("fail_code {}: allowed 4000..=4999", knob.fail_code));
            }
            shared.knobs.set(op, knob.clone());
            ok(&knob)
        }
        (Method::PUT, ["admin", "ocsp"]) => {
            let body: OcspBody = match read_json(req.into_body(), false).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            shared.konnektor.set_ocsp_unavailable(body.unavailable);
            ok(&serde_json::json!({ "unavailable": body.unavailable }))
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec()),
    }
}
