//! The REST APIs of the KIM Fachdienst besides the Account Manager: the attachment service
//! KAS (`AttachmentService.yaml` 2.4.0), I_AccountLimit_Service (`AccountLimit.yaml` 1.1.4)
//! and I_ServiceInformation (`ServiceInformation.yaml` 1.0.3), as axum routers on the storage
//! of `kim-store` and the logins of `kim-fachdienst`.
//!
//! Main items:
//! - [`kas_router`] over a [`KasState`] ([`KasConfig`]): `addMailData`, `readMailData`,
//!   `HEAD` (A_24002) and `deleteMailData` under [`KAS_BASE_PATH`]; [`purge_expired`] and
//!   [`spawn_purge`] delete objects past their `expires`.
//! - [`account_limit_router`] over a [`LimitState`] ([`AccountLimitConfig`]): `getLimits`
//!   under [`ACCOUNT_LIMIT_BASE_PATH`].
//! - [`service_information_router`] over a [`ServiceInformation`]: `getServiceInformation`
//!   under [`SERVICE_INFORMATION_BASE_PATH`].
//! - [`KasError`]: every failure, mapped once to the status codes and `Error` bodies
//!   (`{"message", "traceId"}`) of the yamls; client errors are never answered with a 5xx.
//!
//! Invariants:
//! - An upload is streamed chunk by chunk into a [`kim_store::BlobWriter`]; memory use does
//!   not grow with the object size (up to `maxMailSize`, 700 MiB, A_19378-02).
//! - `201` is sent only after the blob is committed and the record pointing at it is
//!   committed; a half-written or rejected upload is never visible (the writer is dropped
//!   without commit).
//! - Only a listed recipient (`recipient` header) reads an object, only the uploader deletes
//!   it; expired objects are answered `404` even before the purge removes them.
//!
//! The routers carry the full paths (base path from the yaml's `servers` + operation path), so
//! the daemon merges them and wraps them in TLS (mutual TLS with C.CM.TLS-CS, A_19362).
//! The routers set no fallback; [`json_not_found`] is one the daemon can use.

mod auth;
mod error;
mod kas;
mod limits;
mod purge;
mod service_info;

pub use error::KasError;
pub use kas::{KAS_BASE_PATH, KasConfig, KasState, kas_router};
pub use limits::{
    ACCOUNT_LIMIT_BASE_PATH, AccountLimitConfig, LimitState, account_limit_router, remain_quota,
};
pub use purge::{purge_expired, spawn_purge};
pub use service_info::{
    SERVICE_INFORMATION_BASE_PATH, ServiceInformation, service_information_router,
};

/// `maxMailSize` of KIM 1.5: 700 MiB (734 003 200 bytes).
pub const MAX_MAIL_SIZE: u64 = 734_003_200;

/// A JSON `404` in the shape of the yamls' `Error` schema, for use as the daemon's fallback.
pub async fn json_not_found() -> axum::response::Response {
    axum::response::IntoResponse::into_response(KasError::NotFound)
}

/// Current time in Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
