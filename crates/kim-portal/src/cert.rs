//! `/zertifikat`: the Clientmodul certificates of an account (manual §3.4). Login with
//! address, contract id, password and certificate number opens a short download session;
//! the list shows number, size, date and whether each file was downloaded.
//!
//! An account without stored certificate (registered without the portal) logs in with an
//! empty certificate number; a certificate is issued then, protected by the account's
//! password.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kim_store::{Account, PortalToken, RegState, TokenPurpose};
use serde::Deserialize;

use crate::confirm::password_ok;
use crate::html::{Field, escape, notice, page};
use crate::{FormFields, PortalState, field, form_fields, german_time, store_failure};

fn login_page(fields: &FormFields, error: Option<(&str, &str)>) -> Response {
    let err = |name: &str| error.filter(|(f, _)| *f == name).map(|(_, m)| m);
    let mut body = String::from(
        "<p>Hier laden Sie das Zertifikat für Ihr KIM-Clientmodul herunter. Die \
         Zertifikatsnummer steht in Ihrer Willkommens-E-Mail.</p>\n\
         <form method=\"post\" action=\"/zertifikat\" novalidate>\n",
    );
    body.push_str(
        &Field::new("address", "KIM-Adresse", "email", true)
            .value(field(fields, "address"))
            .error(err("address"))
            .render(),
    );
    body.push_str(
        &Field::new("contract", "Contract ID", "text", true)
            .value(field(fields, "contract"))
            .error(err("contract"))
            .render(),
    );
    body.push_str(
        &Field::new("number", "Zertifikatsnummer", "text", false)
            .value(field(fields, "number"))
            .hint("Leer lassen, wenn Sie noch kein Zertifikat erhalten haben.")
            .error(err("number"))
            .render(),
    );
    body.push_str(
        &Field::new("password", "Passwort der KIM-Adresse", "password", true)
            .error(err("password"))
            .render(),
    );
    body.push_str("<button type=\"submit\">Anmelden</button>\n</form>\n");
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(status, "Zertifikat herunterladen", &body)
}

pub(crate) async fn form() -> Response {
    login_page(&FormFields::new(), None)
}

const NO_MATCH: &str = "KIM-Adresse, Contract ID, Zertifikatsnummer und Passwort passen nicht \
                        zusammen.";

pub(crate) async fn login(
    State(state): State<PortalState>,
    form: Result<axum::Form<FormFields>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    for (name, text) in [
        ("address", "Bitte geben Sie Ihre KIM-Adresse an."),
        ("contract", "Bitte geben Sie Ihre Contract ID an."),
        (
            "password",
            "Bitte geben Sie das Passwort Ihrer KIM-Adresse an.",
        ),
    ] {
        if field(&fields, name).is_empty() {
            return login_page(&fields, Some((name, text)));
        }
    }
    let number_text = field(&fields, "number");
    let number = if number_text.is_empty() {
        None
    } else if let Ok(n) = number_text.parse::<i64>() {
        Some(n)
    } else {
        return login_page(
            &fields,
            Some(("number", "Die Zertifikatsnummer besteht nur aus Ziffern.")),
        );
    };
    let address = field(&fields, "address").to_ascii_lowercase();
    let account = match state.store().account(&address).await {
        Ok(a) => a.filter(|a| a.reference_id == field(&fields, "contract")),
        Err(e) => return store_failure(&e),
    };
    // Unknown account and wrong password look the same.
    let Some(account) = account else {
        return login_page(&fields, Some(("password", NO_MATCH)));
    };
    let password = fields.get("password").map_or("", String::as_str);
    match password_ok(&state, &account, password).await {
        Ok(true) => {}
        Ok(false) => return login_page(&fields, Some(("password", NO_MATCH))),
        Err(e) => return store_failure(&e),
    }
    if account.locked {
        return login_page(
            &fields,
            Some((
                "address",
                "Dieses Konto ist gesperrt. Bitte entsperren Sie es zuerst.",
            )),
        );
    }
    if matches!(account.state, RegState::Deregistered { .. }) {
        return login_page(
            &fields,
            Some(("address", "Dieses Konto ist deregistriert.")),
        );
    }
    let mut certificates = match state.store().certificates(&account.address).await {
        Ok(c) => c,
        Err(e) => return store_failure(&e),
    };
    match number {
        Some(n) if certificates.iter().any(|c| c.number == n) => {}
        None if certificates.is_empty() => {
            let now = state.now();
            let password = zeroize::Zeroizing::new(password.to_owned());
            match crate::register::issue_with_password(&state, &account.address, now, password)
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "certificate not issued");
                    return page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Zertifikat herunterladen",
                        &notice(
                            "Das Zertifikat konnte nicht ausgestellt werden. Bitte versuchen \
                             Sie es später erneut.",
                            true,
                        ),
                    );
                }
            }
            certificates = match state.store().certificates(&account.address).await {
                Ok(c) => c,
                Err(e) => return store_failure(&e),
            };
        }
        None => {
            return login_page(
                &fields,
                Some(("number", "Bitte geben Sie Ihre Zertifikatsnummer an.")),
            );
        }
        Some(_) => return login_page(&fields, Some(("number", NO_MATCH))),
    }
    list(&state, &account, &certificates, number.is_none()).await
}

/// The certificate table with download links of a fresh session.
async fn list(
    state: &PortalState,
    account: &Account,
    certificates: &[kim_store::PortalCertificate],
    issued_with_account_password: bool,
) -> Response {
    let session = match crate::random_token() {
        Ok(t) => t,
        Err(e) => return store_failure(&e),
    };
    let record = PortalToken {
        hash: kim_store::password::token_digest(&session),
        purpose: TokenPurpose::Download,
        address: account.address.clone(),
        expires: state.now().saturating_add(state.config().session_secs),
    };
    if let Err(e) = state.store().put_token(&record).await {
        return store_failure(&e);
    }
    let mut body = String::new();
    if issued_with_account_password {
        body.push_str(&notice(
            "Für Ihr Konto wurde ein Zertifikat ausgestellt. Es ist mit dem Passwort Ihrer \
             KIM-Adresse geschützt.",
            false,
        ));
    }
    body.push_str(&format!(
        "<p>Zertifikate für {}. Bitte bewahren Sie die Dateien sorgfältig auf.</p>\n\
         <table>\n<caption>Zertifikate</caption>\n<thead><tr><th scope=\"col\">Zertifikat</th>\
         <th scope=\"col\">Größe</th><th scope=\"col\">Datum</th><th scope=\"col\">Status</th>\
         <th scope=\"col\">Download</th></tr></thead>\n<tbody>\n",
        escape(&account.address)
    ));
    for c in certificates {
        let (status, action) = if c.downloaded {
            ("heruntergeladen", "Erneut herunterladen")
        } else {
            ("noch nicht heruntergeladen", "Herunterladen")
        };
        body.push_str(&format!(
            "<tr><td>{n}</td><td>{size} Byte</td><td>{date}</td><td>{status}</td>\
             <td><a href=\"/zertifikat/download?sitzung={session}&amp;nr={n}\">{action}\
             <span class=\"hint\"> (Zertifikat {n})</span></a></td></tr>\n",
            n = c.number,
            size = c.pkcs12.len(),
            date = german_time(c.created),
        ));
    }
    body.push_str("</tbody>\n</table>\n");
    body.push_str(&format!(
        "<p>Die Download-Links sind {} Minuten gültig.</p>",
        state.config().session_secs / 60
    ));
    page(StatusCode::OK, "Ihre Zertifikate", &body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct DownloadQuery {
    #[serde(default)]
    sitzung: String,
    #[serde(default)]
    nr: String,
}

pub(crate) async fn download(
    State(state): State<PortalState>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Response {
    let expired = || {
        page(
            StatusCode::FORBIDDEN,
            "Zertifikat herunterladen",
            &notice(
                "Diese Download-Sitzung ist ungültig oder abgelaufen. Bitte melden Sie sich \
                 erneut an.",
                true,
            ),
        )
    };
    let Ok(Query(q)) = query else {
        return expired();
    };
    let session = match state
        .store()
        .token(&kim_store::password::token_digest(&q.sitzung))
        .await
    {
        Ok(Some(t)) if t.purpose == TokenPurpose::Download && t.expires > state.now() => t,
        Ok(_) => return expired(),
        Err(e) => return store_failure(&e),
    };
    let certificates = match state.store().certificates(&session.address).await {
        Ok(c) => c,
        Err(e) => return store_failure(&e),
    };
    let Some(certificate) =
        q.nr.parse::<i64>()
            .ok()
            .and_then(|n| certificates.into_iter().find(|c| c.number == n))
    else {
        return page(
            StatusCode::NOT_FOUND,
            "Zertifikat herunterladen",
            &notice("Dieses Zertifikat gibt es nicht.", true),
        );
    };
    if let Err(e) = state.store().mark_downloaded(certificate.number).await {
        return store_failure(&e);
    }
    let mut response = (StatusCode::OK, certificate.pkcs12).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pkcs12"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"kim-clientmodul-{}.p12\"",
        certificate.number
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
