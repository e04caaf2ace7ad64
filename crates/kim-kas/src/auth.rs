//! HTTP Basic authentication with the mailbox credentials (`KIMBasicAuth` of
//! `CommonSchemas.yaml`), checked by [`Fachdienst::login`]: wrong passwords count towards the
//! lock after three failures (KOM-LE-A_2167-05).

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use kim_fachdienst::{AuthFailure, Fachdienst, Purpose};
use kim_store::Account;

use crate::KasError;

/// User name and password from an `Authorization: Basic …` header.
pub(crate) fn credentials(headers: &HeaderMap) -> Result<(String, String), KasError> {
    let missing = || KasError::Unauthorized("Basic authentication required".into());
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(missing());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| missing())?;
    let decoded = String::from_utf8(decoded).map_err(|_| missing())?;
    let (user, password) = decoded.split_once(':').ok_or_else(missing)?;
    Ok((user.to_owned(), password.to_owned()))
}

/// Logs the caller in for `purpose`.
pub(crate) async fn login(
    fd: &Fachdienst,
    headers: &HeaderMap,
    purpose: Purpose,
) -> Result<Account, KasError> {
    let (user, password) = credentials(headers)?;
    fd.login(&user, &password, purpose)
        .await
        .map_err(|failure| match failure {
            AuthFailure::Temporary => KasError::AuthBackend,
            other => KasError::Unauthorized(other.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(header::AUTHORIZATION, v);
        }
        headers
    }

    #[test]
    fn basic_credentials_are_decoded() {
        // "a@b.kim.telematik:pa:ss" – the password may contain colons.
        let headers = with("Basic YUBiLmtpbS50ZWxlbWF0aWs6cGE6c3M=");
        let (user, password) = credentials(&headers).unwrap_or_default();
        assert_eq!(user, "a@b.kim.telematik");
        assert_eq!(password, "pa:ss");
    }

    #[test]
    fn anything_else_is_401() {
        for value in ["", "Bearer abc", "Basic !!!", "Basic YWJj"] {
            let result = credentials(&with(value));
            assert!(
                matches!(result, Err(KasError::Unauthorized(_))),
                "{value:?}: {result:?}"
            );
        }
    }
}
