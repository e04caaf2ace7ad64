//! `/deregistrieren` (manual §3.2), `/accountEntsperren` (§3.3) and `/bestaetigen`, where
//! the mailed link leads: the link shows the request, the button carries it out. Links work
//! once and expire after [`crate::PortalConfig::confirmation_validity_secs`].

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kim_account_manager::DEREGISTRATION_DAYS;
use kim_store::{Account, PortalToken, RegState, StoreError, TokenPurpose};
use serde::Deserialize;

use crate::html::{Field, escape, hidden, notice, page};
use crate::mail::Mail;
use crate::{
    FormFields, LOCK_THRESHOLD, PortalState, field, form_fields, german_time, store_failure,
    verify_password,
};

const CONTRACT_LOCKED: &str = "Ihr Vertrag ist vom Anbieter gesperrt. Die Konten eines gesperrten \
                               Vertrags können Sie nicht selbst entsperren; bitte wenden Sie \
                               sich an Ihren Anbieter. Deregistrieren können Sie ein Konto \
                               weiterhin.";

struct Errors(Vec<(&'static str, &'static str)>);

impl Errors {
    fn get(&self, name: &str) -> Option<&'static str> {
        self.0.iter().find(|(f, _)| *f == name).map(|(_, m)| *m)
    }
}

/// A request form that a mailed confirmation link completes: address, the password if
/// `with_password`, contract id.
struct RequestForm {
    action: &'static str,
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    with_password: bool,
}

const DEREGISTER_FORM: RequestForm = RequestForm {
    action: "/deregistrieren",
    title: "KIM-Konto deregistrieren",
    intro: "Nach dem Absenden erhalten Sie an die bei der Registrierung hinterlegte E-Mail-Adresse \
            einen Link, mit dem Sie die Deregistrierung bestätigen. Danach können Sie noch 30 \
            Tage lang Nachrichten abrufen; anschließend wird das Konto gelöscht.",
    button: "Konto deregistrieren",
    with_password: true,
};

const UNLOCK_FORM: RequestForm = RequestForm {
    action: "/accountEntsperren",
    title: "KIM-Konto entsperren",
    intro: "Ein Konto wird nach dreimaliger falscher Passworteingabe gesperrt. Geben Sie die \
            KIM-Adresse und die Contract ID an; den Link zum Entsperren senden wir an die bei \
            der Registrierung hinterlegte E-Mail-Adresse.",
    button: "Konto entsperren",
    with_password: false,
};

fn request_page(
    form: &RequestForm,
    fields: &FormFields,
    errors: &Errors,
    message: Option<&str>,
) -> Response {
    let mut body = String::new();
    if let Some(m) = message {
        body.push_str(&notice(m, true));
    }
    body.push_str(&format!(
        "<p>{}</p>\n<form method=\"post\" action=\"{}\" novalidate>\n",
        form.intro, form.action
    ));
    body.push_str(
        &Field::new("address", "KIM-Adresse", "email", true)
            .value(field(fields, "address"))
            .error(errors.get("address"))
            .render(),
    );
    if form.with_password {
        body.push_str(
            &Field::new("password", "Passwort der KIM-Adresse", "password", true)
                .error(errors.get("password"))
                .render(),
        );
    }
    body.push_str(
        &Field::new("contract", "Contract ID", "text", true)
            .value(field(fields, "contract"))
            .error(errors.get("contract"))
            .render(),
    );
    body.push_str(&format!(
        "<button type=\"submit\">{}</button>\n</form>\n",
        form.button
    ));
    let status = if errors.0.is_empty() && message.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(status, form.title, &body)
}

fn deregister_page(fields: &FormFields, errors: &Errors, message: Option<&str>) -> Response {
    request_page(&DEREGISTER_FORM, fields, errors, message)
}

fn unlock_page(fields: &FormFields, errors: &Errors, message: Option<&str>) -> Response {
    request_page(&UNLOCK_FORM, fields, errors, message)
}

pub(crate) async fn deregister_form() -> Response {
    deregister_page(&FormFields::new(), &Errors(Vec::new()), None)
}

pub(crate) async fn unlock_form() -> Response {
    unlock_page(&FormFields::new(), &Errors(Vec::new()), None)
}

const NO_MATCH: &str = "KIM-Adresse, Passwort und Contract ID passen nicht zusammen.";
const NO_MATCH_UNLOCK: &str = "KIM-Adresse und Contract ID passen nicht zusammen.";

/// The account named by `address` under `contract`, if both match.
async fn account_of(
    state: &PortalState,
    address: &str,
    contract: &str,
) -> Result<Option<Account>, StoreError> {
    let key = address.to_ascii_lowercase();
    Ok(state
        .store()
        .account(&key)
        .await?
        .filter(|a| a.reference_id == contract))
}

/// Checks the password; a wrong one counts towards the account lock.
pub(crate) async fn password_ok(
    state: &PortalState,
    account: &Account,
    password: &str,
) -> Result<bool, StoreError> {
    if verify_password(password, &account.password_hash).await {
        return Ok(true);
    }
    let failure = state
        .store()
        .record_login_failure(&account.address, LOCK_THRESHOLD)
        .await?;
    tracing::info!(
        failures = failure.count,
        locked = failure.locked,
        "failed portal login"
    );
    Ok(false)
}

/// Required fields of a form; an error beside each missing one.
fn missing(fields: &FormFields, names: &[(&'static str, &'static str)]) -> Errors {
    Errors(
        names
            .iter()
            .filter(|(name, _)| field(fields, name).is_empty())
            .copied()
            .collect(),
    )
}

pub(crate) async fn deregister_submit(
    State(state): State<PortalState>,
    form: Result<axum::Form<FormFields>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let errors = missing(
        &fields,
        &[
            ("address", "Bitte geben Sie Ihre KIM-Adresse an."),
            (
                "password",
                "Bitte geben Sie das Passwort Ihrer KIM-Adresse an.",
            ),
            ("contract", "Bitte geben Sie Ihre Contract ID an."),
        ],
    );
    if !errors.0.is_empty() {
        return deregister_page(&fields, &errors, None);
    }
    let (address, contract) = (field(&fields, "address"), field(&fields, "contract"));
    let password = fields.get("password").map_or("", String::as_str);
    let account = match account_of(&state, address, contract).await {
        Ok(a) => a,
        Err(e) => return store_failure(&e),
    };
    // Unknown account and wrong password look the same.
    let Some(account) = account else {
        return deregister_page(&fields, &Errors(vec![("password", NO_MATCH)]), None);
    };
    match password_ok(&state, &account, password).await {
        Ok(true) => {}
        Ok(false) => {
            return deregister_page(&fields, &Errors(vec![("password", NO_MATCH)]), None);
        }
        Err(e) => return store_failure(&e),
    }
    if let RegState::Deregistered { until, .. } = account.state {
        return deregister_page(
            &fields,
            &Errors(Vec::new()),
            Some(&format!(
                "Dieses Konto ist bereits deregistriert. Nachrichten können bis {} abgerufen \
                 werden.",
                german_time(until)
            )),
        );
    }
    send_link(&state, &account, TokenPurpose::Deregister).await
}

pub(crate) async fn unlock_submit(
    State(state): State<PortalState>,
    form: Result<axum::Form<FormFields>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let errors = missing(
        &fields,
        &[
            ("address", "Bitte geben Sie Ihre KIM-Adresse an."),
            ("contract", "Bitte geben Sie Ihre Contract ID an."),
        ],
    );
    if !errors.0.is_empty() {
        return unlock_page(&fields, &errors, None);
    }
    let (address, contract_id) = (field(&fields, "address"), field(&fields, "contract"));
    let account = match account_of(&state, address, contract_id).await {
        Ok(a) => a,
        Err(e) => return store_failure(&e),
    };
    let Some(account) = account else {
        return unlock_page(&fields, &Errors(vec![("address", NO_MATCH_UNLOCK)]), None);
    };
    match state.store().contract(&account.reference_id).await {
        Ok(Some(c)) if c.locked => {
            return unlock_page(&fields, &Errors(vec![("contract", CONTRACT_LOCKED)]), None);
        }
        Ok(_) => {}
        Err(e) => return store_failure(&e),
    }
    if !account.locked {
        return unlock_page(
            &fields,
            &Errors(vec![(
                "address",
                "Dieses Konto ist nicht gesperrt. Sie können sich mit Ihrem Passwort anmelden.",
            )]),
            None,
        );
    }
    send_link(&state, &account, TokenPurpose::Unlock).await
}

/// Stores a confirmation token and mails its link to the account's recovery address.
async fn send_link(state: &PortalState, account: &Account, purpose: TokenPurpose) -> Response {
    let (title, what) = match purpose {
        TokenPurpose::Unlock => ("KIM-Konto entsperren", "Entsperrung"),
        _ => ("KIM-Konto deregistrieren", "Deregistrierung"),
    };
    let profile = match state.store().profile(&account.address).await {
        Ok(p) => p,
        Err(e) => return store_failure(&e),
    };
    let Some(profile) = profile else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            &notice(
                "Für dieses Konto ist keine E-Mail-Adresse für Benachrichtigungen hinterlegt. \
                 Bitte wenden Sie sich an Ihren Anbieter.",
                true,
            ),
        );
    };
    let now = state.now();
    let token = match crate::random_token() {
        Ok(t) => t,
        Err(e) => return store_failure(&e),
    };
    let expires = now.saturating_add(state.config().confirmation_validity_secs);
    let record = PortalToken {
        hash: kim_store::password::token_digest(&token),
        purpose,
        address: account.address.clone(),
        expires,
    };
    if let Err(e) = state.store().put_token(&record).await {
        return store_failure(&e);
    }
    let link = format!("{}/bestaetigen?token={token}", state.config().public_url);
    let mail = Mail {
        to: profile.recovery_email.clone(),
        subject: format!("Bestätigung der {what} Ihres KIM-Kontos"),
        body: format!(
            "Guten Tag,\n\nfür Ihr KIM-Konto {} wurde die {what} angefordert. Bitte bestätigen \
             Sie sie über diesen Link:\n\n{link}\n\nDer Link ist einmal verwendbar und gültig \
             bis {}. Wenn Sie die {what} nicht angefordert haben, ignorieren Sie diese \
             E-Mail.\n",
            account.address,
            german_time(expires)
        ),
    };
    if state.send(&mail, "confirmation link").await.is_err() {
        let _ = state.store().take_token(&record.hash).await;
        return page(
            StatusCode::BAD_GATEWAY,
            title,
            &notice(
                "Die E-Mail mit dem Bestätigungslink konnte nicht versendet werden. Bitte \
                 versuchen Sie es später erneut.",
                true,
            ),
        );
    }
    page(
        StatusCode::OK,
        title,
        &notice(
            &format!(
                "Wir haben Ihnen einen Link zur Bestätigung der {what} an die hinterlegte \
                 E-Mail-Adresse gesendet. Er ist gültig bis {}.",
                german_time(expires)
            ),
            false,
        ),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Why a link cannot be used.
fn link_problem(status: StatusCode, text: &str) -> Response {
    page(status, "Bestätigungslink", &notice(text, true))
}

const LINK_INVALID: &str = "Dieser Link ist ungültig oder wurde bereits verwendet.";
const LINK_EXPIRED: &str = "Dieser Link ist abgelaufen. Bitte stellen Sie Ihre Anfrage erneut.";

/// Checks a token of a confirmation link (not a download session).
fn usable(token: Option<PortalToken>, now: i64) -> Result<PortalToken, Box<Response>> {
    match token {
        Some(t) if t.purpose == TokenPurpose::Download => {
            Err(Box::new(link_problem(StatusCode::NOT_FOUND, LINK_INVALID)))
        }
        Some(t) if t.expires <= now => Err(Box::new(link_problem(StatusCode::GONE, LINK_EXPIRED))),
        Some(t) => Ok(t),
        None => Err(Box::new(link_problem(StatusCode::NOT_FOUND, LINK_INVALID))),
    }
}

pub(crate) async fn show(
    State(state): State<PortalState>,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let token = query.map(|Query(q)| q.token).unwrap_or_default();
    let found = match state
        .store()
        .token(&kim_store::password::token_digest(token.trim()))
        .await
    {
        Ok(t) => t,
        Err(e) => return store_failure(&e),
    };
    let record = match usable(found, state.now()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let (title, text, button) = match record.purpose {
        TokenPurpose::Unlock => (
            "Entsperrung bestätigen",
            format!("Soll das KIM-Konto {} entsperrt werden?", record.address),
            "Entsperrung bestätigen",
        ),
        _ => (
            "Deregistrierung bestätigen",
            format!(
                "Soll das KIM-Konto {} deregistriert werden? Nachrichten können Sie danach noch \
                 {DEREGISTRATION_DAYS} Tage lang abrufen; anschließend wird das Konto \
                 gelöscht.",
                record.address
            ),
            "Deregistrierung bestätigen",
        ),
    };
    let body = format!(
        "<p>{}</p>\n<form method=\"post\" action=\"/bestaetigen\">\n{}\
         <button type=\"submit\">{button}</button>\n</form>\n",
        escape(&text),
        hidden("token", token.trim())
    );
    page(StatusCode::OK, title, &body)
}

pub(crate) async fn execute(
    State(state): State<PortalState>,
    form: Result<axum::Form<FormFields>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let hash = kim_store::password::token_digest(field(&fields, "token"));
    let taken = match state.store().take_token(&hash).await {
        Ok(t) => t,
        Err(e) => return store_failure(&e),
    };
    let record = match usable(taken, state.now()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let account = match state.store().account(&record.address).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return link_problem(
                StatusCode::NOT_FOUND,
                "Dieses KIM-Konto gibt es nicht mehr.",
            );
        }
        Err(e) => return store_failure(&e),
    };
    match record.purpose {
        TokenPurpose::Unlock => unlock(&state, account).await,
        _ => deregister(&state, account, &record).await,
    }
}

async fn unlock(state: &PortalState, mut account: Account) -> Response {
    match state.store().contract(&account.reference_id).await {
        Ok(Some(c)) if c.locked => {
            return page(
                StatusCode::FORBIDDEN,
                "KIM-Konto entsperren",
                &notice(CONTRACT_LOCKED, true),
            );
        }
        Ok(_) => {}
        Err(e) => return store_failure(&e),
    }
    account.locked = false;
    account.failed_logins = 0;
    if let Err(e) = state.store().update_account(&account).await {
        return store_failure(&e);
    }
    tracing::info!("account unlocked through the portal");
    page(
        StatusCode::OK,
        "KIM-Konto entsperrt",
        &notice(
            &format!(
                "Das KIM-Konto {} ist entsperrt. Sie können sich wieder mit Ihrem Passwort \
                 anmelden.",
                account.address
            ),
            false,
        ),
    )
}

async fn deregister(state: &PortalState, mut account: Account, record: &PortalToken) -> Response {
    if let RegState::Deregistered { until, .. } = account.state {
        return page(
            StatusCode::OK,
            "KIM-Konto deregistriert",
            &notice(
                &format!(
                    "Das KIM-Konto {} ist bereits deregistriert. Nachrichten können bis {} \
                     abgerufen werden.",
                    account.address,
                    german_time(until)
                ),
                false,
            ),
        );
    }
    if let Some(vzd) = state.vzd() {
        let removed =
            kim_account_manager::vzd::remove(vzd, &account.telematik_id, &account.address).await;
        if let Err(e) = removed {
            tracing::error!(error = %e, "VZD removal for a portal deregistration failed");
            // The link stays usable for another attempt.
            let _ = state.store().put_token(record).await;
            return page(
                StatusCode::BAD_GATEWAY,
                "Deregistrierung bestätigen",
                &notice(
                    "Der Verzeichnisdienst ist zurzeit nicht erreichbar. Bitte versuchen Sie es \
                     später über denselben Link erneut.",
                    true,
                ),
            );
        }
    }
    let now = state.now();
    let until = now.saturating_add(DEREGISTRATION_DAYS * 86_400);
    account.state = RegState::Deregistered { since: now, until };
    if let Err(e) = state.store().update_account(&account).await {
        return store_failure(&e);
    }
    tracing::info!("account deregistered through the portal");
    page(
        StatusCode::OK,
        "KIM-Konto deregistriert",
        &notice(
            &format!(
                "Das KIM-Konto {} ist deregistriert. Nachrichten können Sie noch bis {} \
                 abrufen; danach wird das Konto gelöscht.",
                account.address,
                german_time(until)
            ),
            false,
        ),
    )
}
