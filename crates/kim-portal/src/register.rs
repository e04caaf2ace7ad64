//! `/registrieren`: registration in three steps (manual §3.1). Steps 1 and 2 (contact data,
//! contract id) come first; once the contract id is valid, step 3 (the address with the
//! contract's domains) is added to the form. Completing it reserves the address.

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use kim_account_manager::cert::{check_common_name, issue};
use kim_store::{Contract, Profile, Reservation, StoreError};

use crate::html::{Field, escape, hidden, notice, page};
use crate::mail::Mail;
use crate::{FormFields, PortalState, field, form_fields, german_time, store_failure};

/// Field errors of the form, by field name.
#[derive(Debug, Default)]
struct Errors {
    list: Vec<(&'static str, String)>,
}

impl Errors {
    fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.list.push((field, message.into()));
    }
    fn get(&self, field: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

pub(crate) async fn form() -> Response {
    render(&FormFields::new(), &Errors::default(), None, None)
}

/// The form with the values of `fields`, the errors beside their fields, and step 3 when the
/// contract's domains are known.
fn render(
    fields: &FormFields,
    errors: &Errors,
    domains: Option<&[String]>,
    message: Option<&str>,
) -> Response {
    let v = |name: &str| field(fields, name);
    let mut body = String::new();
    if let Some(m) = message {
        body.push_str(&notice(m, true));
    } else if !errors.is_empty() {
        body.push_str(&notice("Bitte prüfen Sie die markierten Angaben.", true));
    }
    body.push_str(
        "<p>In drei Schritten registrieren Sie eine KIM-Adresse. Pflichtfelder sind mit * \
         gekennzeichnet.</p>\n<form method=\"post\" action=\"/registrieren\" novalidate>\n\
         <fieldset><legend>Schritt 1: Registrierungsinformationen</legend>\n",
    );
    body.push_str(
        &Field::new("email", "Ihre E-Mail-Adresse", "email", true)
            .value(v("email"))
            .hint("An diese öffentlich erreichbare Adresse senden wir die weiteren Informationen zur Registrierung.")
            .error(errors.get("email"))
            .render(),
    );
    for (name, label, hint) in [
        (
            "lanr",
            "LANR",
            "Lebenslange Arztnummer, 9 Ziffern (optional)",
        ),
        (
            "bsnr",
            "BSNR",
            "Betriebsstättennummer, 9 Ziffern (optional)",
        ),
        (
            "kzv",
            "KZV-Abrechnungsnummer",
            "Für Zahnärztinnen und Zahnärzte, nur Ziffern (optional)",
        ),
        (
            "ik",
            "IK-Nummer (Institutskennzeichen)",
            "9 Ziffern (optional)",
        ),
    ] {
        body.push_str(
            &Field::new(name, label, "text", false)
                .value(v(name))
                .hint(hint)
                .error(errors.get(name))
                .render(),
        );
    }
    body.push_str("</fieldset>\n<fieldset><legend>Schritt 2: Vertragsinformationen</legend>\n");
    body.push_str(
        &Field::new("contract", "Contract ID", "text", true)
            .value(v("contract"))
            .hint("Die Contract ID hat Ihnen Ihr Anbieter mitgeteilt.")
            .error(errors.get("contract"))
            .render(),
    );
    body.push_str("</fieldset>\n");
    match domains {
        Some(domains) => {
            body.push_str("<fieldset><legend>Schritt 3: KIM-Adresse wählen</legend>\n");
            body.push_str(
                &Field::new("local", "KIM-Adresse (Teil vor dem @)", "text", true)
                    .value(v("local"))
                    .hint(
                        "1 bis 59 Zeichen: Buchstaben ohne Umlaute, Ziffern sowie „.“, „_“ \
                         und „-“, die Sonderzeichen nicht am Anfang oder Ende. Die ganze \
                         Adresse darf höchstens 254 Zeichen lang sein.",
                    )
                    .error(errors.get("local"))
                    .render(),
            );
            let error = errors.get("domain");
            body.push_str("<label for=\"domain\">Maildomäne *</label>\n");
            if let Some(e) = error {
                body.push_str(&format!(
                    "<p class=\"error\" id=\"domain-error\">{}</p>\n",
                    escape(e)
                ));
            }
            body.push_str(&format!(
                "<select id=\"domain\" name=\"domain\" required{}>\n",
                if error.is_some() {
                    " aria-describedby=\"domain-error\" aria-invalid=\"true\""
                } else {
                    ""
                }
            ));
            for d in domains {
                let selected = if d.eq_ignore_ascii_case(v("domain")) {
                    " selected"
                } else {
                    ""
                };
                body.push_str(&format!(
                    "<option value=\"{0}\"{selected}>@{0}</option>\n",
                    escape(d)
                ));
            }
            body.push_str("</select>\n</fieldset>\n");
            body.push_str(&hidden("schritt", "3"));
            body.push_str("<button type=\"submit\">Registrierung abschließen</button>\n");
        }
        None => {
            body.push_str(&hidden("schritt", "2"));
            body.push_str("<button type=\"submit\">Weiter</button>\n");
        }
    }
    body.push_str("</form>\n");
    let status = if errors.is_empty() && message.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(status, "KIM-Adresse registrieren", &body)
}

/// A plausible public e-mail address: one `@`, a dotted domain, no spaces or controls.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && local
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"<>()[]\\,;:\"".contains(c))
}

fn optional_digits(
    errors: &mut Errors,
    fields: &FormFields,
    name: &'static str,
    label: &str,
    len: Option<usize>,
) {
    let value = field(fields, name);
    if value.is_empty() {
        return;
    }
    let digits = value.chars().all(|c| c.is_ascii_digit());
    match len {
        Some(n) if !digits || value.len() != n => {
            errors.add(name, format!("Die {label} besteht aus genau {n} Ziffern."));
        }
        None if !digits || value.len() > 20 => {
            errors.add(
                name,
                format!("Die {label} besteht nur aus Ziffern (höchstens 20)."),
            );
        }
        _ => {}
    }
}

fn optional(fields: &FormFields, name: &str) -> Option<String> {
    Some(field(fields, name).to_owned()).filter(|v| !v.is_empty())
}

/// Steps 1 and 2: contact data and contract. Returns the contract if it may register.
async fn check_steps_1_2(
    state: &PortalState,
    fields: &FormFields,
    errors: &mut Errors,
) -> Result<Option<Contract>, StoreError> {
    let email = field(fields, "email");
    if email.is_empty() {
        errors.add("email", "Bitte geben Sie Ihre E-Mail-Adresse an.");
    } else if !valid_email(email) {
        errors.add(
            "email",
            "Diese E-Mail-Adresse ist ungültig. Bitte geben Sie eine Adresse wie \
             praxis@beispiel.de an.",
        );
    }
    optional_digits(errors, fields, "lanr", "LANR", Some(9));
    optional_digits(errors, fields, "bsnr", "BSNR", Some(9));
    optional_digits(errors, fields, "kzv", "KZV-Abrechnungsnummer", None);
    optional_digits(errors, fields, "ik", "IK-Nummer", Some(9));
    let id = field(fields, "contract");
    if id.is_empty() {
        errors.add("contract", "Bitte geben Sie Ihre Contract ID an.");
        return Ok(None);
    }
    if id.chars().count() > 256 {
        errors.add("contract", "Diese Contract ID ist nicht bekannt.");
        return Ok(None);
    }
    let Some(contract) = state.store().contract(id).await? else {
        errors.add(
            "contract",
            "Diese Contract ID ist nicht bekannt. Bitte prüfen Sie die Angabe Ihres Anbieters.",
        );
        return Ok(None);
    };
    if contract.locked {
        errors.add(
            "contract",
            "Ihr Vertrag ist vom Anbieter gesperrt. Zu einem gesperrten Vertrag können keine \
             neuen KIM-Konten registriert werden; bitte wenden Sie sich an Ihren Anbieter.",
        );
        return Ok(None);
    }
    let accounts = state
        .store()
        .list_accounts(Some(&contract.reference_id))
        .await?
        .len();
    if accounts >= contract.max_accounts as usize {
        errors.add(
            "contract",
            format!(
                "Zu dieser Contract ID können keine weiteren KIM-Konten registriert werden \
                 (höchstens {}).",
                contract.max_accounts
            ),
        );
        return Ok(None);
    }
    Ok(Some(contract))
}

/// Step 3: the address, by the registration rules and the contract's domains.
async fn check_address(
    state: &PortalState,
    fields: &FormFields,
    contract: &Contract,
    errors: &mut Errors,
) -> Result<Option<String>, StoreError> {
    let local = field(fields, "local");
    let domain = field(fields, "domain").to_ascii_lowercase();
    if !contract
        .domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&domain))
    {
        errors.add("domain", "Bitte wählen Sie eine Maildomäne Ihres Vertrags.");
        return Ok(None);
    }
    if local.is_empty() {
        errors.add(
            "local",
            "Bitte geben Sie den Teil Ihrer KIM-Adresse vor dem @ an.",
        );
        return Ok(None);
    }
    let address = match kim_account_manager::rules::registration_address(
        &format!("{local}@{domain}"),
        &contract.domains,
    ) {
        Ok(a) => a,
        Err(_) => {
            errors.add(
                "local",
                "Diese KIM-Adresse ist nicht zulässig: erlaubt sind 1 bis 59 Zeichen vor dem @ \
                 aus Buchstaben ohne Umlaute, Ziffern sowie „.“, „_“ und „-“; die \
                 Sonderzeichen dürfen nicht am Anfang oder Ende stehen.",
            );
            return Ok(None);
        }
    };
    if state.store().account(&address).await?.is_some() {
        errors.add(
            "local",
            "Diese KIM-Adresse ist bereits vergeben. Bitte wählen Sie eine andere.",
        );
        return Ok(None);
    }
    Ok(Some(address))
}

const RESERVED: &str = "Diese KIM-Adresse ist für eine laufende Registrierung reserviert. Bitte \
                        wählen Sie eine andere.";

pub(crate) async fn submit(
    State(state): State<PortalState>,
    form: Result<axum::Form<FormFields>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mut errors = Errors::default();
    let contract = match check_steps_1_2(&state, &fields, &mut errors).await {
        Ok(c) => c,
        Err(e) => return store_failure(&e),
    };
    let Some(contract) = contract else {
        return render(&fields, &errors, None, None);
    };
    if !errors.is_empty() || field(&fields, "schritt") != "3" {
        return render(&fields, &errors, Some(&contract.domains), None);
    }
    let address = match check_address(&state, &fields, &contract, &mut errors).await {
        Ok(Some(a)) => a,
        Ok(None) => return render(&fields, &errors, Some(&contract.domains), None),
        Err(e) => return store_failure(&e),
    };
    match reserve(&state, &fields, &contract, &address).await {
        Ok(Outcome::Reserved(done)) => done,
        Ok(Outcome::Taken) => {
            errors.add("local", RESERVED);
            render(&fields, &errors, Some(&contract.domains), None)
        }
        Ok(Outcome::NotAnnounced) => render(
            &fields,
            &errors,
            Some(&contract.domains),
            Some(
                "Die E-Mail mit dem Registrierungslink konnte nicht versendet werden. Die \
                 Adresse wurde nicht reserviert; bitte versuchen Sie es später erneut.",
            ),
        ),
        Err(e) => store_failure(&e),
    }
}

enum Outcome {
    Reserved(Response),
    Taken,
    NotAnnounced,
}

/// Reserves the address, issues the Clientmodul certificate and sends the three mails.
async fn reserve(
    state: &PortalState,
    fields: &FormFields,
    contract: &Contract,
    address: &str,
) -> Result<Outcome, StoreError> {
    let now = state.now();
    let token = crate::random_token()?;
    let token_hash = kim_store::password::token_digest(&token);
    let email = field(fields, "email").to_owned();
    let expires = now.saturating_add(state.config().registration_validity_secs);
    let reservation = Reservation {
        address: address.to_owned(),
        reference_id: contract.reference_id.clone(),
        token_hash: token_hash.clone(),
        profile: Profile {
            address: address.to_owned(),
            recovery_email: email.clone(),
            lanr: optional(fields, "lanr"),
            bsnr: optional(fields, "bsnr"),
            kzv: optional(fields, "kzv"),
            ik: optional(fields, "ik"),
        },
        created: now,
        expires,
    };
    match state.store().reserve(&reservation, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => return Ok(Outcome::Taken),
        Err(e) => return Err(e),
    }
    let config = state.config();
    let link = format!(
        "{}/registrieren?contract={}&address={}&token={}",
        config.cm_ui_base,
        url_encode(&contract.reference_id),
        url_encode(address),
        token
    );
    let link_mail = Mail {
        to: email.clone(),
        subject: "Ihr Registrierungslink für KIM".into(),
        body: format!(
            "Guten Tag,\n\nIhre KIM-Adresse {address} ist für Sie reserviert.\n\n\
             Schließen Sie die Registrierung mit Ihrer Praxiskarte (SMC-B) oder Ihrem \
             Heilberufsausweis ab. Öffnen Sie dazu den folgenden Link auf dem Rechner, auf dem \
             das KIM-Clientmodul installiert und eingerichtet ist:\n\n{link}\n\n\
             Der Link ist gültig bis {}. Danach wird die Reservierung verworfen und die \
             Registrierung muss neu begonnen werden.\n",
            german_time(expires)
        ),
    };
    if state.send(&link_mail, "registration link").await.is_err() {
        state
            .store()
            .cancel_reservation(address, &token_hash)
            .await?;
        return Ok(Outcome::NotAnnounced);
    }
    let mut warnings = Vec::new();
    let certificate = match issue_certificate(state, address, now).await {
        Ok((number, password)) => {
            let password_mail = Mail {
                to: email.clone(),
                subject: "Passwort zu Ihren KIM-Schlüsselinformationen".into(),
                body: format!(
                    "Guten Tag,\n\ndas Zertifikat Nr. {number} für das Clientmodul Ihrer \
                     KIM-Adresse {address} ist mit diesem Passwort geschützt:\n\n{}\n\n\
                     Bewahren Sie es sorgfältig auf; Sie benötigen es beim Einbinden des \
                     Zertifikats in das Clientmodul.\n",
                    password.as_str()
                ),
            };
            if state.send(&password_mail, "key password").await.is_err() {
                warnings.push("Die E-Mail mit dem Passwort zum Zertifikat konnte nicht versendet werden. Bitte wenden Sie sich an Ihren Anbieter.");
            }
            Some(number)
        }
        Err(e) => {
            tracing::error!(error = %e, "certificate for a reservation not issued");
            warnings.push("Das Zertifikat für das Clientmodul konnte noch nicht ausgestellt werden. Sie können es nach der Registrierung auf der Zertifikatsseite beziehen.");
            None
        }
    };
    let certificate_line = match certificate {
        Some(n) => format!("Ihre Zertifikatsnummer: {n}\n"),
        None => String::new(),
    };
    let welcome = Mail {
        to: email.clone(),
        subject: "Willkommen bei KIM".into(),
        body: format!(
            "Guten Tag,\n\nwillkommen bei KIM! Ihre KIM-Adresse {address} ist reserviert.\n\n\
             So geht es weiter:\n\
             1. Installieren und konfigurieren Sie das KIM-Clientmodul.\n\
             2. Öffnen Sie den Registrierungslink aus unserer separaten E-Mail auf dem Rechner \
             mit dem Clientmodul und bestätigen Sie die Registrierung mit Ihrer Karte.\n\
             3. Laden Sie danach das Zertifikat für das Clientmodul herunter:\n   {}/zertifikat\n\n\
             {certificate_line}Das Passwort zum Zertifikat erhalten Sie in einer separaten \
             E-Mail.\n",
            config.public_url
        ),
    };
    if state.send(&welcome, "welcome").await.is_err() {
        warnings.push("Die Willkommens-E-Mail konnte nicht versendet werden.");
    }
    tracing::info!("address reserved by the registration portal");
    let mut body = notice(
        &format!(
            "Die KIM-Adresse {address} ist für Sie reserviert bis {}.",
            german_time(expires)
        ),
        false,
    );
    for w in warnings {
        body.push_str(&notice(w, true));
    }
    body.push_str(&format!(
        "<p>Wir haben E-Mails an {} gesendet: eine Willkommens-E-Mail mit der \
         Zertifikatsnummer, das Passwort zum Zertifikat und den Registrierungslink.</p>\n\
         <p>Öffnen Sie den Registrierungslink auf dem Rechner, auf dem das KIM-Clientmodul \
         installiert ist, und bestätigen Sie die Registrierung mit Ihrer Praxiskarte oder Ihrem \
         Heilberufsausweis. Wird die Registrierung nicht innerhalb von 96 Stunden abgeschlossen, \
         verfällt die Reservierung.</p>\n",
        escape(&email)
    ));
    Ok(Outcome::Reserved(page(
        StatusCode::OK,
        "Registrierung begonnen",
        &body,
    )))
}

/// Issues a Clientmodul certificate for `address`, stores it, returns its number and the
/// PKCS#12 password.
pub(crate) async fn issue_certificate(
    state: &PortalState,
    address: &str,
    now: i64,
) -> Result<(i64, zeroize::Zeroizing<String>), StoreError> {
    let password = crate::random_password()?;
    let number = issue_with_password(state, address, now, password.clone()).await?;
    Ok((number, password))
}

/// Issues and stores a certificate protected by `password`; returns its number.
pub(crate) async fn issue_with_password(
    state: &PortalState,
    address: &str,
    now: i64,
    password: zeroize::Zeroizing<String>,
) -> Result<i64, StoreError> {
    let local = address.split('@').next().unwrap_or(address);
    let cn = check_common_name(local).map_err(|e| StoreError::Task(e.to_string()))?;
    let days = state.config().cert_validity_days;
    let worker = state.clone();
    let friendly = address.to_owned();
    let issued = tokio::task::spawn_blocking(move || {
        issue(worker.ca(), &cn, now, days, &password, &friendly)
    })
    .await
    .map_err(|e| StoreError::Task(format!("certificate task: {e}")))?
    .map_err(|e| StoreError::Task(e.to_string()))?;
    state
        .store()
        .add_certificate(address, &issued.pkcs12, now)
        .await
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters stay).
pub(crate) fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["praxis@beispiel.de", "a.b+c@x-y.example.org"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "praxis",
            "@x.de",
            "a@b",
            "a b@x.de",
            "a@x..de",
            "a@x.de\r\nBcc: y@z.de",
            "<a@x.de>",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_encode("a@b.de"), "a%40b.de");
        assert_eq!(url_encode("V 1/ä"), "V%201%2F%C3%A4");
    }
}
