//! I_AccountLimit_Service (`AccountLimit.yaml` 1.1.4, kim-spec §7): `GET /limit` with the
//! mailbox credentials answers the account's `dataTimeToLive`, `maxMailSize`, `quota` and
//! `remainQuota` (−1 = unlimited). The Clientmodul may cache the answer for 24 hours.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use kim_fachdienst::{Fachdienst, Purpose};
use serde::Serialize;

use crate::error::json;
use crate::{KasError, MAX_MAIL_SIZE, auth};

/// Base path of the AccountLimit API (the yaml's `servers`).
pub const ACCOUNT_LIMIT_BASE_PATH: &str = "/AccountLimit/v1.1";

/// Settings of the AccountLimit API.
#[derive(Debug, Clone)]
pub struct AccountLimitConfig {
    /// `maxMailSize` announced; the yaml demands at least [`MAX_MAIL_SIZE`].
    pub max_mail_size: u64,
}

impl Default for AccountLimitConfig {
    fn default() -> Self {
        Self {
            max_mail_size: MAX_MAIL_SIZE,
        }
    }
}

impl AccountLimitConfig {
    /// Checks every value.
    ///
    /// # Errors
    /// [`KasError::Config`] if `max_mail_size` is below [`MAX_MAIL_SIZE`].
    pub fn validate(&self) -> Result<(), KasError> {
        if self.max_mail_size < MAX_MAIL_SIZE {
            return Err(KasError::Config {
                key: "max_mail_size",
                value: self.max_mail_size.to_string(),
                reason: format!("≥ {MAX_MAIL_SIZE} (AccountLimit.yaml)"),
            });
        }
        Ok(())
    }
}

/// What the AccountLimit handler shares.
#[derive(Debug, Clone)]
pub struct LimitState {
    fd: Fachdienst,
    config: Arc<AccountLimitConfig>,
}

impl LimitState {
    /// State over the Fachdienst's accounts.
    ///
    /// # Errors
    /// [`KasError::Config`] if `config` is invalid.
    pub fn new(fd: Fachdienst, config: AccountLimitConfig) -> Result<Self, KasError> {
        config.validate()?;
        Ok(Self {
            fd,
            config: Arc::new(config),
        })
    }
}

/// The `AccountLimit` schema.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountLimit {
    data_time_to_live: u16,
    max_mail_size: u64,
    quota: i64,
    remain_quota: i64,
}

/// `GET /AccountLimit/v1.1/limit`.
pub fn account_limit_router(state: LimitState) -> Router {
    Router::new()
        .route(&format!("{ACCOUNT_LIMIT_BASE_PATH}/limit"), get(limits))
        .with_state(state)
}

/// Deregistered accounts still retrieve until `deregDate`, so they may still see their limits.
async fn limits(State(state): State<LimitState>, headers: HeaderMap) -> Result<Response, KasError> {
    let account = auth::login(&state.fd, &headers, Purpose::Retrieve).await?;
    let used = used_bytes(&state.fd, &account.address).await?;
    let quota = account.quota.max(-1);
    let body = AccountLimit {
        data_time_to_live: account.data_time_to_live,
        max_mail_size: state.config.max_mail_size,
        quota,
        remain_quota: remain_quota(quota, used),
    };
    Ok(json(StatusCode::OK, &body))
}

/// Bytes an account holds: its mailbox plus the KAS objects it uploaded.
pub(crate) async fn used_bytes(fd: &Fachdienst, address: &str) -> Result<u64, KasError> {
    let mailbox = fd.meta.usage(address).await?.bytes;
    let kas = fd.meta.owner_usage(address).await?;
    Ok(mailbox.saturating_add(kas))
}

/// `remainQuota` for `quota` (−1 = unlimited) and `used` bytes: −1, or what is left (≥ 0).
#[must_use]
pub fn remain_quota(quota: i64, used: u64) -> i64 {
    if quota < 0 {
        return -1;
    }
    quota
        .saturating_sub(i64::try_from(used).unwrap_or(i64::MAX))
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remain_quota_rules() {
        assert_eq!(remain_quota(-1, 5), -1);
        assert_eq!(remain_quota(100, 30), 70);
        assert_eq!(remain_quota(100, 300), 0);
        assert_eq!(remain_quota(0, 0), 0);
    }

    #[test]
    fn max_mail_size_below_700_mib_is_refused() {
        let config = AccountLimitConfig {
            max_mail_size: MAX_MAIL_SIZE - 1,
        };
        assert!(matches!(
            config.validate(),
            Err(KasError::Config {
                key: "max_mail_size",
                ..
            })
        ));
        assert!(AccountLimitConfig::default().validate().is_ok());
    }
}
