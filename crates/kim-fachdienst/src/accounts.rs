//! Login against the stored accounts, shared by SMTP AUTH and POP3.

use kim_store::{Account, RegState};

use crate::{Fachdienst, LOCK_THRESHOLD, now};

/// What the login is for: sending is refused for deregistered accounts, retrieval is not
/// until `deregDate` (KOM-LE-A_2149/2150).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// SMTP submission.
    Send,
    /// POP3 retrieval.
    Retrieve,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// Unknown user or wrong password (not distinguished towards the client).
    #[error("authentication failed")]
    Invalid,
    /// The account is locked after failed logins (KOM-LE-A_2167-05).
    #[error(
        "account locked after repeated failed logins; unlock it through the account management"
    )]
    Locked,
    /// The provider locked the contract (manual §3.6).
    #[error("account locked by the provider")]
    ContractLocked,
    /// Deregistered: no sending; retrieval ended at `deregDate`.
    #[error("account deregistered")]
    Deregistered,
    /// Storage failed.
    #[error("temporary storage failure")]
    Temporary,
}

impl Fachdienst {
    /// Checks `user`/`password` for `purpose`. A wrong password counts towards the lock.
    ///
    /// # Errors
    /// [`AuthFailure`] naming why.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        purpose: Purpose,
    ) -> Result<Account, AuthFailure> {
        let address = user.trim().to_ascii_lowercase();
        let account = self
            .meta
            .account(&address)
            .await
            .map_err(|e| temporary(&e))?
            .ok_or(AuthFailure::Invalid)?;
        if account.locked {
            return Err(AuthFailure::Locked);
        }
        let (pw, phc) = (password.to_owned(), account.password_hash.clone());
        let cache = std::sync::Arc::clone(&self.passwords);
        let ok = tokio::task::spawn_blocking(move || cache.verify(&pw, &phc))
            .await
            .map_err(|_| AuthFailure::Temporary)?;
        if !ok {
            let failure = self
                .meta
                .record_login_failure(&address, LOCK_THRESHOLD)
                .await
                .map_err(|e| temporary(&e))?;
            tracing::info!(
                failures = failure.count,
                locked = failure.locked,
                "failed login"
            );
            return Err(if failure.locked {
                AuthFailure::Locked
            } else {
                AuthFailure::Invalid
            });
        }
        if account.failed_logins > 0 {
            self.meta
                .clear_login_failures(&address)
                .await
                .map_err(|e| temporary(&e))?;
        }
        let contract = self
            .meta
            .contract(&account.reference_id)
            .await
            .map_err(|e| temporary(&e))?;
        if contract.is_some_and(|c| c.locked) {
            return Err(AuthFailure::ContractLocked);
        }
        match (account.state, purpose) {
            (RegState::Registered, _) => Ok(account),
            (RegState::Deregistered { until, .. }, Purpose::Retrieve) if now() < until => {
                Ok(account)
            }
            (RegState::Deregistered { .. }, _) => Err(AuthFailure::Deregistered),
        }
    }

    /// Whether `address` is a local account that may receive mail now.
    ///
    /// # Errors
    /// Storage failed.
    pub async fn can_receive(&self, address: &str) -> Result<bool, kim_store::StoreError> {
        let Some(account) = self.meta.account(address).await? else {
            return Ok(false);
        };
        if account.state != RegState::Registered {
            return Ok(false);
        }
        let contract = self.meta.contract(&account.reference_id).await?;
        Ok(!contract.is_some_and(|c| c.locked))
    }
}

fn temporary(e: &kim_store::StoreError) -> AuthFailure {
    tracing::error!(error = %e, "storage failure during login");
    AuthFailure::Temporary
}
