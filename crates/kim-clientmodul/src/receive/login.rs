//! Login of the practice software (gemSpec_CM_KOMLE 3.4.2.2; A_21518-02, KOM-LE-A_2037-01):
//! the user name is parsed (`-ERR` naming the broken field), its KonnektorId must name a
//! configured Konnektor (`-ERR` naming the id), the Konnektor context is checked (faults
//! 4004–4006 → `-ERR`), and the Fachdienst's POP3 server is logged in to with the bare KIM
//! address.

use kim_konnektor::client::Konnektor;
use kim_konnektor::model::Context;
use kim_types::Pop3UserName;

use super::Shared;
use super::konnektor::Receiver;
use super::process::Recipient;
use super::upstream::{self, Target, Upstream};
use crate::fd_cert::CertGate;

/// Konnektor fault codes that mean the user name's context is wrong.
const CONTEXT_FAULTS: [u32; 3] = [4004, 4005, 4006];

/// Default POP3S port of the Fachdienst.
const POP3S_PORT: u16 = 995;

/// Logs in; the error is the `-ERR` text for the client.
pub(crate) async fn login<K: Konnektor + 'static>(
    shared: &Shared<K>,
    user: &str,
    password: &str,
) -> Result<(Upstream, Recipient), String> {
    let name = Pop3UserName::parse(user).map_err(|e| {
        tracing::info!(problem = %e, "POP3 user name refused");
        format!("invalid user name: {e}")
    })?;
    let receiver = receiver(&name)?;
    check_context(shared, &receiver).await?;
    let target = target(shared, &name)?;
    let address = name.address().to_string();
    let selected = shared
        .konnektors
        .get(receiver.konnektor_id.as_ref())
        .ok_or_else(|| "invalid user name: field 6 (KonnektorId): not configured".to_string())?;
    let gate = CertGate {
        check: &shared.config.fachdienst_cert_check,
        konnektor: selected.konnektor(),
        context: &receiver.context,
    };
    let timer = crate::perf::timer("pop3_login");
    let upstream = upstream::connect(
        &target,
        gate,
        &shared.fachdienst_tls,
        shared.config.timeout_server,
        &address,
        password,
    )
    .await?;
    drop(timer);
    tracing::info!("POP3 session logged in at the Fachdienst");
    Ok((
        upstream,
        Recipient {
            address,
            konnektor: receiver,
            hostname: shared.config.hostname.clone(),
        },
    ))
}

fn receiver(name: &Pop3UserName) -> Result<Receiver, String> {
    let ctx = name.context();
    let mut context = Context::new(
        ctx.mandant_id.as_str(),
        ctx.client_system_id.as_str(),
        ctx.workplace_id.as_str(),
    )
    .map_err(|reason| format!("invalid user name: Konnektor context: {reason}"))?;
    if let Some(user_id) = &ctx.user_id {
        context = context
            .with_user_id(user_id.as_str())
            .map_err(|e| format!("invalid user name: field 5 (UserId): {e}"))?;
    }
    Ok(Receiver {
        konnektor_id: name.konnektor_id().cloned(),
        context,
        hba: ctx.user_id.is_some(),
    })
}

/// GetCards in the context: a context fault is the user's (`-ERR`); an unreachable
/// Konnektor is not: RETR then delivers E2 with result 03.
async fn check_context<K: Konnektor>(
    shared: &Shared<K>,
    receiver: &Receiver,
) -> Result<(), String> {
    let Some(selected) = shared.konnektors.get(receiver.konnektor_id.as_ref()) else {
        let id = receiver.konnektor_id.as_ref().map(|i| i.as_str());
        tracing::info!(
            konnektor_id = id,
            "POP3 user name names an unknown Konnektor"
        );
        return Err(format!(
            "invalid user name: field 6 (KonnektorId): no Konnektor {} configured",
            id.unwrap_or_default()
        ));
    };
    let check = crate::send::smcb_cards(selected.raw(), &receiver.context);
    let timer = crate::perf::timer("cards");
    let cards = tokio::time::timeout(shared.config.konnektor_timeout, check).await;
    drop(timer);
    match cards {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.code().is_some_and(|c| CONTEXT_FAULTS.contains(&c)) => Err(format!(
            "Konnektor context refused ({})",
            e.code().unwrap_or_default()
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "Konnektor not usable at login");
            Ok(())
        }
        Err(_) => {
            tracing::warn!("Konnektor did not answer at login");
            Ok(())
        }
    }
}

fn target<K>(shared: &Shared<K>, name: &Pop3UserName) -> Result<Target, String> {
    if let Some(server) = name.server() {
        return Ok(Target {
            host: server.host().to_string(),
            port: server.port().unwrap_or(POP3S_PORT),
        });
    }
    shared
        .config
        .default_pop3
        .as_ref()
        .map(|(host, port)| Target {
            host: host.clone(),
            port: *port,
        })
        .ok_or_else(|| "invalid user name: field 1 (server): no POP3 server named".to_string())
}
