//! I_ServiceInformation (`ServiceInformation.yaml` 1.0.3, kim-spec §7): `GET /serviceinfo`,
//! without authentication, publishes the service version, the password policy (A_2163) and
//! whether registration needs a `referenceID` and an initial password.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::KasError;
use crate::error::json;

/// Base path of the ServiceInformation API (the yaml's `servers`).
pub const SERVICE_INFORMATION_BASE_PATH: &str = "/ServiceInformation/v1.0";

/// The `ServiceInformation` document, served as configured (field names as in the yaml).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceInformation {
    /// Versions of the service, `;`-separated, e.g. `1.5.3;1.5.2`.
    pub kim_service_version: String,
    /// Password policy as a Java-compatible regular expression.
    pub password_policy_reg_ex: String,
    /// The password policy for humans.
    pub password_policy_display: String,
    /// Lifetime of Account Manager JWTs in seconds, 300..=21600.
    pub jwt_expiration: u32,
    /// Whether registration needs a `referenceID`.
    pub reference_id_required: bool,
    /// Whether registration needs an initial password.
    pub initial_password_required: bool,
}

impl ServiceInformation {
    /// Checks every value.
    ///
    /// # Errors
    /// [`KasError::Config`] naming the key, the value and the allowed range.
    pub fn validate(&self) -> Result<(), KasError> {
        let error = |key, value: String, reason: &str| KasError::Config {
            key,
            value,
            reason: reason.into(),
        };
        if !(300..=21_600).contains(&self.jwt_expiration) {
            return Err(error(
                "jwt_expiration",
                self.jwt_expiration.to_string(),
                "300..=21600 seconds",
            ));
        }
        let version_ok = !self.kim_service_version.is_empty()
            && self
                .kim_service_version
                .split(';')
                .all(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
        if !version_ok {
            return Err(error(
                "kim_service_version",
                self.kim_service_version.clone(),
                "versions like 1.5.3, separated by ';'",
            ));
        }
        if self.password_policy_reg_ex.is_empty() {
            return Err(error("password_policy_reg_ex", String::new(), "not empty"));
        }
        Ok(())
    }
}

/// `GET /ServiceInformation/v1.0/serviceinfo`.
///
/// # Errors
/// [`KasError::Config`] if `info` is invalid.
pub fn service_information_router(info: ServiceInformation) -> Result<Router, KasError> {
    info.validate()?;
    Ok(Router::new()
        .route(
            &format!("{SERVICE_INFORMATION_BASE_PATH}/serviceinfo"),
            get(serviceinfo),
        )
        .with_state(Arc::new(info)))
}

async fn serviceinfo(State(info): State<Arc<ServiceInformation>>) -> Response {
    json(StatusCode::OK, &*info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ServiceInformation {
        ServiceInformation {
            kim_service_version: "1.5.3;1.5.2".into(),
            password_policy_reg_ex: "^.{12,256}$".into(),
            password_policy_display: "12 to 256 characters".into(),
            jwt_expiration: 300,
            reference_id_required: true,
            initial_password_required: true,
        }
    }

    #[test]
    fn serialises_with_the_yaml_field_names() {
        let value = serde_json::to_value(info()).unwrap_or_default();
        let mut keys: Vec<&str> = value
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "initialPasswordRequired",
                "jwtExpiration",
                "kimServiceVersion",
                "passwordPolicyDisplay",
                "passwordPolicyRegEx",
                "referenceIdRequired"
            ]
        );
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let mut bad = info();
        bad.jwt_expiration = 299;
        assert!(matches!(
            bad.validate(),
            Err(KasError::Config {
                key: "jwt_expiration",
                ..
            })
        ));
        let mut bad = info();
        bad.kim_service_version = "1.5;".into();
        assert!(matches!(
            bad.validate(),
            Err(KasError::Config {
                key: "kim_service_version",
                ..
            })
        ));
        assert!(info().validate().is_ok());
    }
}
