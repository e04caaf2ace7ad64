//! Routes and pages. Every POST checks the session's CSRF token first; every Account Manager
//! call gets a JWT of the session's card (re-signed when older than [`JWT_REUSE_SECS`]).

// Early-return pages travel as `Err(Response)` once per request; boxing buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kim_admin::{AdminError, AuthCard, CardKind};
use zeroize::Zeroizing;

use crate::html::{
    self, Field, FormErrors, Header, Input, button, checkbox, esc, form_start, general_error,
};
use crate::session::{self, ChosenCard, IssuedCert, Login, Sessions};
use crate::{AdminWebConfig, KeyStoreTarget};

mod texts;
mod time_fmt;

/// A JWT is re-signed when older than this (the Account Manager's lifetime is ≥ 300 s).
const JWT_REUSE_SECS: i64 = 120;

/// How long the provider's password policy is reused before ServiceInformation is asked
/// again.
const POLICY_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The password policy: (regex, German hint with the provider's display text).
type Policy = (Option<String>, String);

struct Inner {
    config: AdminWebConfig,
    sessions: Sessions,
    port: u16,
    policy: std::sync::Mutex<Option<(std::time::Instant, Policy)>>,
}

#[derive(Clone)]
struct App(Arc<Inner>);

/// The session id of a request (set by the middleware).
#[derive(Clone, Debug)]
struct Sid(String);

/// Submitted form fields.
#[derive(Debug, Default)]
struct Fields(HashMap<String, String>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
    fn checked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

pub fn router(config: AdminWebConfig, port: u16) -> Router {
    let app = App(Arc::new(Inner {
        config,
        sessions: Sessions::default(),
        port,
        policy: std::sync::Mutex::new(None),
    }));
    Router::new()
        .route("/", get(start_page))
        .route("/stil.css", get(css))
        .route("/karte", post(choose_card))
        .route("/karte/wechseln", post(change_card))
        .route("/anmelden", post(login))
        .route("/abmelden", post(end_session))
        .route("/registrieren", get(registration_page).post(register))
        .route("/konto", get(account_page))
        .route("/konto/version", post(set_version))
        .route("/konto/abwesenheit", post(out_of_office))
        .route("/konto/passwort", post(change_password))
        .route("/konto/telematik-id", get(tid_page).post(request_otp))
        .route("/konto/telematik-id/karte", post(move_to_card))
        .route("/konto/zertifikat", post(create_cert))
        .route("/konto/zertifikat.p12", get(download_cert))
        .route("/konto/zertifikat/import", post(import_cert))
        .route("/konto/deregistrieren", post(deregister))
        .route("/konto/widerrufen", post(revoke))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), frame))
        .with_state(app)
}

// --- plumbing ----------------------------------------------------------------------------

/// Host check, session cookie and the security headers of every response.
async fn frame(State(app): State<App>, mut request: Request, next: Next) -> Response {
    if !host_allowed(request.headers(), app.0.port) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "Die Kontoverwaltung ist nur über 127.0.0.1, [::1] oder localhost erreichbar.",
        )
            .into_response();
    }
    let cookie = session::cookie_id(request.headers());
    let (id, new) = app.0.sessions.ensure(cookie.as_deref());
    request.extensions_mut().insert(Sid(id.clone()));
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if new && let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id)) {
        h.append(header::SET_COOKIE, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Accepts `127.0.0.1`, `[::1]` and `localhost`, with the UI's port or none.
fn host_allowed(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let (name, host_port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && !p.contains(']') => (n, Some(p)),
        _ => (host, None),
    };
    let name_ok = matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "[::1]" | "localhost"
    );
    let port_ok = host_port.is_none_or(|p| p == port.to_string());
    name_ok && port_ok
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A page showing form errors is answered 422.
fn unprocessable_if(mut response: Response, errors: &FormErrors) -> Response {
    if !errors.is_empty() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

async fn css() -> Response {
    let mut r = html::CSS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r
}

async fn not_found(State(app): State<App>, Extension(sid): Extension<Sid>) -> Response {
    let header = app.header(&sid);
    html_response(
        StatusCode::NOT_FOUND,
        html::page(
            "Seite nicht gefunden",
            &header,
            None,
            "<p>Diese Seite gibt es nicht. <a href=\"/\">Zur Startseite</a></p>\n",
        ),
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The card as one line: kind, holder, Telematik-ID.
fn card_line(card: &AuthCard) -> String {
    format!(
        "{} {} (Telematik-ID {})",
        kind_name(card.kind),
        card.holder,
        card.telematik_id
    )
}

/// How a card is named in forms: its ICCSN, else its Telematik-ID.
fn card_key(card: &AuthCard) -> String {
    card.iccsn
        .clone()
        .unwrap_or_else(|| card.telematik_id.clone())
}

fn kind_name(kind: CardKind) -> &'static str {
    match kind {
        CardKind::SmcB => "SMC-B",
        CardKind::Hba => "HBA",
    }
}

impl App {
    fn config(&self) -> &AdminWebConfig {
        &self.0.config
    }

    fn with<R>(&self, sid: &Sid, f: impl FnOnce(&mut session::Session) -> R) -> Option<R> {
        self.0.sessions.with(Some(&sid.0), f)
    }

    fn csrf(&self, sid: &Sid) -> String {
        self.with(sid, |s| s.csrf.clone()).unwrap_or_default()
    }

    fn header(&self, sid: &Sid) -> Header {
        self.with(sid, |s| Header {
            card: s.card.as_ref().map(|c| card_line(&c.card)),
            account: s.login.as_ref().map(|l| l.username.clone()),
            csrf: (s.card.is_some() || s.login.is_some()).then(|| s.csrf.clone()),
        })
        .unwrap_or_default()
    }

    fn take_notice(&self, sid: &Sid) -> Option<String> {
        self.with(sid, |s| s.notice.take()).flatten()
    }

    fn notify(&self, sid: &Sid, text: impl Into<String>) {
        let text = text.into();
        self.with(sid, |s| s.notice = Some(text));
    }

    fn page(&self, sid: &Sid, title: &str, body: &str) -> Response {
        let notice = self.take_notice(sid);
        html_response(
            StatusCode::OK,
            html::page(title, &self.header(sid), notice.as_deref(), body),
        )
    }

    /// The form's fields if its CSRF token matches the session's, else the refusal page.
    fn checked_form(
        &self,
        sid: &Sid,
        form: Result<Form<HashMap<String, String>>, FormRejection>,
    ) -> Result<Fields, Response> {
        let refused = |app: &App, text: &str| {
            let body = format!(
                "<div class=\"meldung fehlerbox\" role=\"alert\"><p>{}</p></div>\n<p><a href=\"/\">Zur Startseite</a></p>\n",
                esc(text)
            );
            let mut r = app.page(sid, "Formular abgelehnt", &body);
            *r.status_mut() = StatusCode::FORBIDDEN;
            r
        };
        let Ok(Form(map)) = form else {
            return Err(refused(self, "Das Formular konnte nicht gelesen werden."));
        };
        let expected = self.csrf(sid);
        let given = map.get("csrf").map_or("", String::as_str);
        if expected.is_empty() || !session::tokens_equal(&expected, given) {
            return Err(refused(
                self,
                "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden \
                 Sie die Seite neu und versuchen Sie es noch einmal.",
            ));
        }
        Ok(Fields(map))
    }

    fn chosen(&self, sid: &Sid) -> Option<ChosenCard> {
        self.with(sid, |s| s.card.clone()).flatten()
    }

    fn login_of(&self, sid: &Sid) -> Option<(String, Zeroizing<String>)> {
        self.with(sid, |s| {
            s.login
                .as_ref()
                .map(|l| (l.username.clone(), l.password.clone()))
        })
        .flatten()
    }

    /// A JWT of the session's card (cached for [`JWT_REUSE_SECS`]).
    async fn jwt(&self, sid: &Sid) -> Result<Zeroizing<String>, AdminError> {
        let now = now();
        if let Some(jwt) = self
            .with(sid, |s| {
                s.jwt
                    .as_ref()
                    .filter(|(_, at)| now - at < JWT_REUSE_SECS)
                    .map(|(j, _)| j.clone())
            })
            .flatten()
        {
            return Ok(jwt);
        }
        let chosen = self
            .chosen(sid)
            .ok_or_else(|| AdminError::NoCard("no card chosen in this session".into()))?;
        let jwt = self.sign(&chosen, now).await?;
        self.with(sid, |s| s.jwt = Some((jwt.clone(), now)));
        Ok(jwt)
    }

    async fn sign(&self, chosen: &ChosenCard, now: i64) -> Result<Zeroizing<String>, AdminError> {
        let k = self
            .config()
            .konnektors
            .get(chosen.konnektor)
            .ok_or_else(|| AdminError::Input("unknown Konnektor".into()))?;
        let ctx = k
            .contexts
            .get(chosen.context)
            .ok_or_else(|| AdminError::Input("unknown context".into()))?;
        kim_admin::sign_jwt(k.client.as_ref(), ctx, &chosen.card, now)
            .await
            .map(Zeroizing::new)
    }

    /// Every card of every configured context: (konnektor, context, label, cards or error).
    async fn all_cards(&self) -> Vec<(usize, usize, String, Result<Vec<AuthCard>, AdminError>)> {
        let mut out = Vec::new();
        for (ki, k) in self.config().konnektors.iter().enumerate() {
            for (ci, ctx) in k.contexts.iter().enumerate() {
                let label = format!(
                    "{} – Mandant {}, Clientsystem {}, Arbeitsplatz {}{}",
                    k.label,
                    ctx.mandant_id(),
                    ctx.client_system_id(),
                    ctx.workplace_id(),
                    ctx.user_id()
                        .map(|u| format!(", Nutzer {u}"))
                        .unwrap_or_default()
                );
                let cards = kim_admin::list_cards(k.client.as_ref(), ctx).await;
                out.push((ki, ci, label, cards));
            }
        }
        out
    }

    /// The card `value` (`<konnektor>:<context>:<ICCSN>`) as listed by the Konnektor now.
    async fn find_card(&self, value: &str) -> Result<ChosenCard, String> {
        let mut parts = value.splitn(3, ':');
        let (Some(ki), Some(ci), Some(iccsn)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("Bitte wählen Sie eine Karte aus.".into());
        };
        let (Ok(ki), Ok(ci)) = (ki.parse::<usize>(), ci.parse::<usize>()) else {
            return Err("Bitte wählen Sie eine Karte aus.".into());
        };
        let Some(k) = self.config().konnektors.get(ki) else {
            return Err("Bitte wählen Sie eine Karte aus.".into());
        };
        let Some(ctx) = k.contexts.get(ci) else {
            return Err("Bitte wählen Sie eine Karte aus.".into());
        };
        let cards = kim_admin::list_cards(k.client.as_ref(), ctx)
            .await
            .map_err(|e| e.german_message())?;
        cards
            .into_iter()
            .find(|c| card_key(c) == iccsn)
            .map(|card| ChosenCard {
                konnektor: ki,
                context: ci,
                card,
            })
            .ok_or_else(|| {
                "Die gewählte Karte ist nicht mehr gesteckt. Bitte wählen Sie erneut.".into()
            })
    }

    /// The card choice as radio buttons (every context), `exclude`: a Telematik-ID not
    /// offered (the old card of a move).
    async fn card_fieldsets(&self, errors: &FormErrors, exclude: Option<&str>) -> String {
        let mut out = String::new();
        let error = errors.get("karte");
        let mut first = true;
        for (ki, ci, label, cards) in self.all_cards().await {
            let _ = write!(
                out,
                "<fieldset{}>\n<legend>{}</legend>\n",
                if error.is_some() {
                    " aria-describedby=\"feld-karte-fehler\""
                } else {
                    ""
                },
                esc(&label)
            );
            match cards {
                Err(e) => {
                    let _ = writeln!(out, "<p class=\"fehler\">{}</p>", esc(&e.german_message()));
                }
                Ok(cards) if cards.is_empty() => {
                    out.push_str("<p>Keine SMC-B oder HBA gesteckt.</p>\n");
                }
                Ok(cards) => {
                    for card in cards
                        .iter()
                        .filter(|c| Some(c.telematik_id.as_str()) != exclude)
                    {
                        let key = card_key(card);
                        let value = format!("{ki}:{ci}:{key}");
                        let id = format!("karte-{ki}-{ci}-{key}");
                        let _ = write!(
                            out,
                            "<div class=\"karte\"><input type=\"radio\" name=\"karte\" id=\"{id}\" value=\"{value}\"{req}{inv}>\n\
<label for=\"{id}\"><strong>{kind}</strong> {holder}<br>Telematik-ID {tid}, ICCSN {iccsn}, PIN: {pin}</label></div>\n",
                            id = esc(&id),
                            value = esc(&value),
                            req = if first { " required" } else { "" },
                            inv = if error.is_some() {
                                " aria-invalid=\"true\""
                            } else {
                                ""
                            },
                            kind = kind_name(card.kind),
                            holder = esc(&card.holder),
                            tid = esc(&card.telematik_id),
                            iccsn = esc(card.iccsn.as_deref().unwrap_or("–")),
                            pin = esc(texts::pin_status(card.pin_status)),
                        );
                        first = false;
                    }
                }
            }
            out.push_str("</fieldset>\n");
        }
        if let Some(error) = error {
            let _ = writeln!(
                out,
                "<p id=\"feld-karte-fehler\" class=\"fehler\">{}</p>",
                esc(error)
            );
        }
        out
    }
}

/// Only local paths are followed after the card choice.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

// --- start: card, login ------------------------------------------------------------------

#[derive(Debug, serde::Deserialize, Default)]
struct StartQuery {
    weiter: Option<String>,
}

async fn start_page(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let (card, logged_in) = app
        .with(&sid, |s| (s.card.is_some(), s.login.is_some()))
        .unwrap_or_default();
    if logged_in {
        return see_other("/konto");
    }
    if card {
        return login_page(&app, &sid, &FormErrors::default(), "").await;
    }
    card_page(&app, &sid, &FormErrors::default(), q.weiter.as_deref()).await
}

async fn card_page(app: &App, sid: &Sid, errors: &FormErrors, next: Option<&str>) -> Response {
    let csrf = app.csrf(sid);
    let mut body = String::from(
        "<p>Die Kontoverwaltung meldet sich mit einer Karte Ihrer Einrichtung beim KIM-Fachdienst \
         an: mit der SMC-B der Praxis bzw. Einrichtung oder mit einem Heilberufsausweis (HBA). \
         Der Konnektor signiert dazu ein Anmelde-Token mit der Karte.</p>\n",
    );
    body.push_str(&form_start("/karte", &csrf, "Karte wählen"));
    body.push_str(&general_error(errors));
    if let Some(next) = next.and_then(safe_next) {
        let _ = writeln!(
            body,
            "<input type=\"hidden\" name=\"weiter\" value=\"{}\">",
            esc(next)
        );
    }
    body.push_str(&app.card_fieldsets(errors, None).await);
    body.push_str(&button("Mit dieser Karte anmelden", ""));
    body.push_str("</form>\n");
    unprocessable_if(app.page(sid, "Karte wählen", &body), errors)
}

async fn choose_card(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = match app.checked_form(&sid, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let next = safe_next(f.get("weiter")).map(str::to_owned);
    let chosen = match app.find_card(f.get("karte")).await {
        Ok(c) => c,
        Err(text) => {
            let mut e = FormErrors::default();
            e.set("karte", text);
            return card_page(&app, &sid, &e, next.as_deref()).await;
        }
    };
    let now = now();
    let jwt = match app.sign(&chosen, now).await {
        Ok(j) => j,
        Err(e) => {
            tracing::info!(error = %e, "card authentication failed");
            let mut errors = FormErrors::default();
            errors.set(
                "karte",
                format!(
                    "Anmeldung mit der Karte fehlgeschlagen: {}",
                    e.german_message()
                ),
            );
            return card_page(&app, &sid, &errors, next.as_deref()).await;
        }
    };
    let line = card_line(&chosen.card);
    app.with(&sid, |s| {
        s.card = Some(chosen);
        s.jwt = Some((jwt, now));
        s.leave_account();
        s.notice = Some(format!("Angemeldet mit {line}."));
    });
    see_other(next.as_deref().unwrap_or("/"))
}

async fn change_card(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Err(r) = app.checked_form(&sid, form) {
        return r;
    }
    app.with(&sid, |s| {
        s.card = None;
        s.jwt = None;
        s.leave_account();
    });
    see_other("/")
}

async fn end_session(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Err(r) = app.checked_form(&sid, form) {
        return r;
    }
    app.0.sessions.remove(&sid.0);
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        session::COOKIE
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(app: &App, sid: &Sid, errors: &FormErrors, address: &str) -> Response {
    let csrf = app.csrf(sid);
    let mut body = String::new();
    body.push_str("<section aria-labelledby=\"h-anmelden\">\n<h2 id=\"h-anmelden\">Vorhandenes KIM-Konto verwalten</h2>\n");
    body.push_str(&form_start("/anmelden", &csrf, "Am KIM-Konto anmelden"));
    body.push_str(&general_error(errors));
    body.push_str(
        &Field::new("adresse", "KIM-Adresse", Input::Email)
            .value(address)
            .autocomplete("username")
            .render(errors),
    );
    body.push_str(
        &Field::new("passwort", "Passwort des KIM-Kontos", Input::Password)
            .autocomplete("current-password")
            .render(errors),
    );
    body.push_str(&button("Anmelden", ""));
    body.push_str("</form>\n</section>\n");
    body.push_str(
        "<section aria-labelledby=\"h-neu\">\n<h2 id=\"h-neu\">Neue KIM-Adresse</h2>\n\
<p>Mit der Vertragsnummer (Referenz-ID) und dem Initialpasswort Ihres KIM-Anbieters registrieren \
Sie eine neue KIM-Adresse für die gewählte Karte.</p>\n<p><a href=\"/registrieren\">KIM-Adresse registrieren</a></p>\n</section>\n",
    );
    body.push_str(&form_start("/karte/wechseln", &csrf, "Andere Karte wählen"));
    body.push_str(&button("Andere Karte wählen", "leise"));
    body.push_str("</form>\n");
    unprocessable_if(app.page(sid, "KIM-Konto", &body), errors)
}

async fn login(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = match app.checked_form(&sid, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if app.chosen(&sid).is_none() {
        return see_other("/");
    }
    let address = f.get("adresse").trim().to_ascii_lowercase();
    let password = Zeroizing::new(f.get("passwort").to_owned());
    let mut errors = FormErrors::default();
    if address.is_empty() {
        errors.set("adresse", "Bitte geben Sie die KIM-Adresse ein.");
    }
    if password.is_empty() {
        errors.set("passwort", "Bitte geben Sie das Passwort ein.");
    }
    if !errors.is_empty() {
        return login_page(&app, &sid, &errors, &address).await;
    }
    let result = match app.jwt(&sid).await {
        Ok(jwt) => {
            app.config()
                .account_manager
                .get(&jwt, &address, &password)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            app.with(&sid, |s| {
                s.login = Some(Login {
                    username: address.clone(),
                    password,
                });
                s.notice = Some(format!("Angemeldet am KIM-Konto {address}."));
            });
            see_other("/konto")
        }
        Err(e) => {
            let errors = texts::login_error(&e);
            login_page(&app, &sid, &errors, &address).await
        }
    }
}

// --- registration ---------------------------------------------------------------------------

#[derive(Debug, serde::Deserialize, Default)]
struct RegQuery {
    #[serde(alias = "contract")]
    vertrag: Option<String>,
    #[serde(alias = "address")]
    adresse: Option<String>,
    /// The reservation token of the provider portal's registration link; it is the initial
    /// password of the reserved address.
    token: Option<String>,
}

async fn registration_page(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    query: Result<Query<RegQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let contract = q.vertrag.unwrap_or_default();
    let address = q.adresse.unwrap_or_default();
    let token = q.token.unwrap_or_default();
    if app.chosen(&sid).is_none() {
        let mut back = format!(
            "/registrieren?vertrag={}&adresse={}",
            html::url_encode(&contract),
            html::url_encode(&address)
        );
        if !token.is_empty() {
            back.push_str(&format!("&token={}", html::url_encode(&token)));
        }
        return see_other(&format!("/?weiter={}", html::url_encode(&back)));
    }
    registration_form(
        &app,
        &sid,
        &FormErrors::default(),
        &contract,
        &address,
        &token,
    )
    .await
}

async fn registration_form(
    app: &App,
    sid: &Sid,
    errors: &FormErrors,
    contract: &str,
    address: &str,
    token: &str,
) -> Response {
    let csrf = app.csrf(sid);
    let policy = app.password_policy().await;
    let card = app
        .chosen(sid)
        .map(|c| card_line(&c.card))
        .unwrap_or_default();
    let mut body = format!(
        "<p>Die neue KIM-Adresse wird an die Telematik-ID der gewählten Karte gebunden: {}.</p>\n",
        esc(&card)
    );
    body.push_str(&form_start(
        "/registrieren",
        &csrf,
        "KIM-Adresse registrieren",
    ));
    body.push_str(&general_error(errors));
    body.push_str(
        &Field::new("vertrag", "Vertragsnummer (Referenz-ID)", Input::Text)
            .value(contract)
            .hint("Steht in den Vertragsunterlagen Ihres KIM-Anbieters.")
            .render(errors),
    );
    body.push_str(
        &Field::new("adresse", "Gewünschte KIM-Adresse", Input::Email)
            .value(address)
            .hint(texts::ADDRESS_RULES)
            .autocomplete("username")
            .render(errors),
    );
    if token.is_empty() {
        body.push_str(
            &Field::new("initialpasswort", "Initialpasswort", Input::Password)
                .hint("Das Initialpasswort aus den Vertragsunterlagen.")
                .autocomplete("off")
                .render(errors),
        );
    } else {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"linktoken\" value=\"{}\">\n",
            esc(token)
        ));
        // Not when the Account Manager has just said the reservation is gone.
        if errors.get("adresse") != Some(texts::LINK_EXPIRED) {
            body.push_str(
                "<p>Die Adresse ist über den Registrierungslink Ihres KIM-Anbieters reserviert; \
                 ein Initialpasswort ist nicht nötig.</p>\n",
            );
        }
        if let Some(e) = errors.get("initialpasswort") {
            body.push_str(&format!(
                "<p class=\"fehler\" role=\"alert\">{}</p>\n",
                esc(e)
            ));
        }
    }
    body.push_str(
        &Field::new(
            "passwort",
            "Neues Passwort für das KIM-Konto",
            Input::NewPassword,
        )
        .hint(&policy.1)
        .autocomplete("new-password")
        .render(errors),
    );
    body.push_str(
        &Field::new(
            "passwort2",
            "Neues Passwort wiederholen",
            Input::NewPassword,
        )
        .autocomplete("new-password")
        .render(errors),
    );
    body.push_str(&button("KIM-Adresse registrieren", ""));
    body.push_str("</form>\n");
    unprocessable_if(app.page(sid, "KIM-Adresse registrieren", &body), errors)
}

impl App {
    /// The provider's password policy: (regex, German hint with the provider's display text).
    async fn password_policy(&self) -> Policy {
        let cached = self
            .0
            .policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|(at, _)| at.elapsed() < POLICY_TTL)
            .map(|(_, p)| p.clone());
        if let Some(policy) = cached {
            return policy;
        }
        let am = &self.config().account_manager;
        match am.service_information(am.origin()).await {
            Ok(info) => {
                let hint = match &info.password_policy_display {
                    Some(display) => {
                        format!("{} Vorgabe des Anbieters: {display}", texts::PASSWORD_HINT)
                    }
                    None => texts::PASSWORD_HINT.to_owned(),
                };
                let policy = (info.password_policy_reg_ex, hint);
                *self
                    .0
                    .policy
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some((std::time::Instant::now(), policy.clone()));
                policy
            }
            Err(e) => {
                tracing::info!(error = %e, "ServiceInformation not available");
                (None, texts::PASSWORD_HINT.to_owned())
            }
        }
    }

    /// Checks a new password and its repetition; errors at `field` / `repeat_field`.
    async fn check_new_password(
        &self,
        errors: &mut FormErrors,
        password: &str,
        repeat: &str,
        field: &'static str,
        repeat_field: &'static str,
    ) {
        if password.is_empty() {
            errors.set(field, "Bitte geben Sie ein neues Passwort ein.");
            return;
        }
        let (regex, hint) = self.password_policy().await;
        if let Some(regex) = regex
            && !kim_admin::check_password(&regex, password)
        {
            errors.set(
                field,
                format!("Das Passwort erfüllt die Passwortrichtlinie nicht. {hint}"),
            );
            return;
        }
        if password != repeat {
            errors.set(repeat_field, "Die beiden Passwörter stimmen nicht überein.");
        }
    }
}

async fn register(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = match app.checked_form(&sid, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if app.chosen(&sid).is_none() {
        return see_other("/?weiter=/registrieren");
    }
    let contract = f.get("vertrag").trim().to_owned();
    let address = f.get("adresse").trim().to_ascii_lowercase();
    let token = f.get("linktoken").trim().to_owned();
    let ini = if token.is_empty() {
        Zeroizing::new(f.get("initialpasswort").to_owned())
    } else {
        Zeroizing::new(token.clone())
    };
    let password = Zeroizing::new(f.get("passwort").to_owned());
    let mut errors = FormErrors::default();
    if contract.is_empty() {
        errors.set("vertrag", "Bitte geben Sie die Vertragsnummer ein.");
    }
    if address.is_empty() {
        errors.set("adresse", "Bitte geben Sie die gewünschte KIM-Adresse ein.");
    } else if let Err(text) = kim_admin::check_address(&address) {
        errors.set("adresse", text);
    }
    if ini.is_empty() {
        errors.set(
            "initialpasswort",
            "Bitte geben Sie das Initialpasswort ein.",
        );
    }
    app.check_new_password(
        &mut errors,
        &password,
        f.get("passwort2"),
        "passwort",
        "passwort2",
    )
    .await;
    if !errors.is_empty() {
        return registration_form(&app, &sid, &errors, &contract, &address, &token).await;
    }
    let account = kim_admin::am::NewAccount {
        reference_id: Some(contract.clone()),
        username: address.clone(),
        password: password.clone(),
        ..kim_admin::am::NewAccount::default()
    };
    let result = match app.jwt(&sid).await {
        Ok(jwt) => {
            app.config()
                .account_manager
                .register(&jwt, &account, Some(&ini))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            app.with(&sid, |s| {
                s.login = Some(Login {
                    username: address.clone(),
                    password,
                });
                s.notice = Some(format!(
                    "Die KIM-Adresse {address} ist registriert und im Verzeichnisdienst eingetragen."
                ));
            });
            see_other("/konto")
        }
        Err(e) => {
            let errors = texts::registration_error(&e, !token.is_empty());
            registration_form(&app, &sid, &errors, &contract, &address, &token).await
        }
    }
}

// --- account page ---------------------------------------------------------------------------

/// Which section of the account page a re-rendered form belongs to, with its errors and
/// the submitted values.
#[derive(Debug, Default)]
struct Submitted {
    section: &'static str,
    errors: FormErrors,
    values: Fields,
}

/// The logged-in account's (username, password) or a redirect to the start page.
fn require_login(app: &App, sid: &Sid) -> Result<(String, Zeroizing<String>), Response> {
    app.login_of(sid).ok_or_else(|| see_other("/"))
}

async fn account_page(State(app): State<App>, Extension(sid): Extension<Sid>) -> Response {
    render_account(&app, &sid, &Submitted::default()).await
}

async fn render_account(app: &App, sid: &Sid, sub: &Submitted) -> Response {
    let (user, password) = match require_login(app, sid) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let csrf = app.csrf(sid);
    let am = &app.config().account_manager;
    let fetched = match app.jwt(sid).await {
        Ok(jwt) => match am.get(&jwt, &user, &password).await {
            Ok(account) => am
                .get_out_of_office(&jwt, &user, &password)
                .await
                .map(|ooo| (account, ooo)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (account, ooo) = match fetched {
        Ok(x) => x,
        Err(e) => {
            let body = format!(
                "<div class=\"meldung fehlerbox\" role=\"alert\"><p>Die Kontodaten konnten nicht \
                 gelesen werden: {}</p></div>\n<p><a href=\"/konto\">Erneut versuchen</a></p>\n{}{}</form>\n",
                esc(&e.german_message()),
                form_start("/karte/wechseln", &csrf, "Andere Karte wählen"),
                button("Andere Karte oder anderes Konto wählen", "leise"),
            );
            return app.page(sid, "KIM-Konto", &body);
        }
    };
    let none = FormErrors::default();
    let errors_for = |section: &str| {
        if sub.section == section {
            &sub.errors
        } else {
            &none
        }
    };
    let deregistered = account.reg_stat.as_deref() == Some("deregistered");
    let version = account.kim_version.clone().unwrap_or_default();
    let mut body = String::new();

    // Status.
    body.push_str(
        "<section aria-labelledby=\"h-status\">\n<h2 id=\"h-status\">Status</h2>\n<table>\n",
    );
    let _ = writeln!(
        body,
        "<tr><th scope=\"row\">KIM-Adresse</th><td>{}</td></tr>",
        esc(if account.username.is_empty() {
            &user
        } else {
            &account.username
        })
    );
    let status = if deregistered {
        match account.dereg_date {
            Some(d) => format!(
                "abgemeldet – wird am {} endgültig gelöscht",
                time_fmt::display_date(&d.to_string())
            ),
            None => "abgemeldet".to_owned(),
        }
    } else {
        "registriert".to_owned()
    };
    let _ = writeln!(
        body,
        "<tr><th scope=\"row\">Registrierungsstatus</th><td id=\"status\">{}</td></tr>",
        esc(&status)
    );
    let _ = writeln!(
        body,
        "<tr><th scope=\"row\">KIM-Version</th><td id=\"kim-version\">{}</td></tr>",
        esc(&version)
    );
    if let Some(r) = &account.reference_id {
        let _ = writeln!(
            body,
            "<tr><th scope=\"row\">Vertragsnummer</th><td>{}</td></tr>",
            esc(r)
        );
    }
    body.push_str("</table>\n</section>\n");

    if deregistered {
        body.push_str("<section aria-labelledby=\"h-widerruf\">\n<h2 id=\"h-widerruf\">Abmeldung widerrufen</h2>\n");
        body.push_str(
            "<p>Die KIM-Adresse ist abgemeldet und nicht mehr im Verzeichnisdienst eingetragen. \
             Bis zum Ende der 30-tägigen Frist können Sie die Abmeldung widerrufen; die Adresse \
             wird dann wieder eingetragen und das Postfach bleibt erhalten.</p>\n",
        );
        body.push_str(&form_start(
            "/konto/widerrufen",
            &csrf,
            "Abmeldung widerrufen",
        ));
        body.push_str(&general_error(errors_for("widerruf")));
        body.push_str(&button("Abmeldung widerrufen", ""));
        body.push_str("</form>\n</section>\n");
    }

    // Large messages (A_23505).
    {
        let e = errors_for("version");
        body.push_str("<section aria-labelledby=\"h-gross\">\n<h2 id=\"h-gross\">Große Nachrichten (über 15 MiB)</h2>\n");
        body.push_str(texts::LARGE_MESSAGE_NOTICE);
        body.push_str(&form_start(
            "/konto/version",
            &csrf,
            "Einwilligung große Nachrichten",
        ));
        body.push_str(&general_error(e));
        body.push_str(&checkbox(
            "einwilligung",
            "Ich willige ein, dass diese KIM-Adresse Nachrichten über 15 MiB empfängt (KIM-Version 1.5+), und habe den Hinweis gelesen.",
            version == "1.5+",
            Some("hinweis-gross"),
            e,
        ));
        body.push_str(&button("Einstellung speichern", ""));
        body.push_str("</form>\n</section>\n");
    }

    // Out of office.
    {
        let e = errors_for("abwesenheit");
        let own = sub.section == "abwesenheit";
        let active = if own {
            sub.values.checked("aktiv")
        } else {
            ooo.active
        };
        let start = if own {
            sub.values.get("beginn").to_owned()
        } else {
            ooo.start_date
                .as_deref()
                .map(time_fmt::to_local_input)
                .unwrap_or_default()
        };
        let end = if own {
            sub.values.get("ende").to_owned()
        } else {
            ooo.end_date
                .as_deref()
                .map(time_fmt::to_local_input)
                .unwrap_or_default()
        };
        let message = if own {
            sub.values.get("text").to_owned()
        } else {
            ooo.message.clone().unwrap_or_default()
        };
        body.push_str("<section aria-labelledby=\"h-abwesend\">\n<h2 id=\"h-abwesend\">Abwesenheitsnotiz</h2>\n");
        let _ = writeln!(
            body,
            "<p id=\"abwesenheit-status\">Die Abwesenheitsnotiz ist {}.</p>",
            if ooo.active {
                "eingeschaltet"
            } else {
                "ausgeschaltet"
            }
        );
        body.push_str(&form_start(
            "/konto/abwesenheit",
            &csrf,
            "Abwesenheitsnotiz",
        ));
        body.push_str(&general_error(e));
        body.push_str(&checkbox(
            "aktiv",
            "Abwesenheitsnotiz einschalten",
            active,
            None,
            e,
        ));
        body.push_str(
            &Field::new("beginn", "Beginn", Input::DateTime)
                .value(&start)
                .optional()
                .hint("Deutsche Zeit (MEZ/MESZ), Format: JJJJ-MM-TTTHH:MM, z. B. 2026-12-24T08:00")
                .render(e),
        );
        body.push_str(
            &Field::new("ende", "Ende", Input::DateTime)
                .value(&end)
                .optional()
                .render(e),
        );
        body.push_str(
            &Field::new("text", "Text der Abwesenheitsnotiz", Input::TextArea)
                .value(&message)
                .optional()
                .hint("Höchstens 2048 Zeichen. Absender erhalten diesen Text als automatische Antwort.")
                .render(e),
        );
        body.push_str(&button("Abwesenheitsnotiz speichern", ""));
        body.push_str("</form>\n</section>\n");
    }

    // Password.
    {
        let e = errors_for("passwort");
        let (_, hint) = app.password_policy().await;
        body.push_str("<section aria-labelledby=\"h-passwort\">\n<h2 id=\"h-passwort\">Passwort ändern</h2>\n");
        body.push_str(&form_start("/konto/passwort", &csrf, "Passwort ändern"));
        body.push_str(&general_error(e));
        body.push_str(
            &Field::new("neues_passwort", "Neues Passwort", Input::NewPassword)
                .hint(&hint)
                .autocomplete("new-password")
                .render(e),
        );
        body.push_str(
            &Field::new(
                "neues_passwort2",
                "Neues Passwort wiederholen",
                Input::NewPassword,
            )
            .autocomplete("new-password")
            .render(e),
        );
        body.push_str("<p class=\"hinweis\">Tragen Sie das neue Passwort danach auch im Primärsystem bzw. E-Mail-Programm ein.</p>\n");
        body.push_str(&button("Passwort ändern", ""));
        body.push_str("</form>\n</section>\n");
    }

    // Telematik-ID.
    {
        let e = errors_for("tid");
        body.push_str("<section aria-labelledby=\"h-tid\">\n<h2 id=\"h-tid\">KIM-Adresse auf eine andere Karte übertragen</h2>\n");
        body.push_str(
            "<p>Bei einem Kartenwechsel (neue SMC-B oder neuer HBA mit anderer Telematik-ID) \
             ziehen Sie die KIM-Adresse auf die neue Telematik-ID um: Zuerst wird mit der \
             bisherigen Karte ein Einmalpasswort angefordert, danach wählen Sie die neue Karte, \
             die den Umzug bestätigt.</p>\n",
        );
        body.push_str(&form_start(
            "/konto/telematik-id",
            &csrf,
            "Telematik-ID ändern",
        ));
        body.push_str(&general_error(e));
        body.push_str(&button("Umzug beginnen", ""));
        body.push_str("</form>\n</section>\n");
    }

    // Certificate.
    {
        let e = errors_for("zertifikat");
        body.push_str("<section aria-labelledby=\"h-zert\">\n<h2 id=\"h-zert\">Zertifikat des Clientmoduls</h2>\n");
        body.push_str(
            "<p>Der KIM-Fachdienst stellt ein TLS-Zertifikat (C.CM.TLS-CS) für die Verbindung \
             des Clientmoduls aus. Es wird als passwortgeschützte PKCS#12-Datei geliefert.</p>\n",
        );
        let issued = app
            .with(sid, |s| s.cert.as_ref().map(|c| c.file_name.clone()))
            .flatten();
        if let Some(name) = issued {
            let _ = writeln!(
                body,
                "<p id=\"zertifikat-bereit\">Ein neues Zertifikat liegt bereit: <a href=\"/konto/zertifikat.p12\" download=\"{n}\">{n} herunterladen</a></p>",
                n = esc(&name)
            );
            if app.config().key_store.is_some() {
                body.push_str(&form_start(
                    "/konto/zertifikat/import",
                    &csrf,
                    "Zertifikat importieren",
                ));
                body.push_str(&general_error(errors_for("import")));
                body.push_str(&button(
                    "In den Schlüsselspeicher des Clientmoduls importieren",
                    "",
                ));
                body.push_str("</form>\n");
            }
        }
        body.push_str(&form_start(
            "/konto/zertifikat",
            &csrf,
            "Zertifikat anfordern",
        ));
        body.push_str(&general_error(e));
        let cn_value = if sub.section == "zertifikat" {
            sub.values.get("name").to_owned()
        } else {
            "Clientmodul".to_owned()
        };
        body.push_str(
            &Field::new("name", "Name des Clientmoduls im Zertifikat", Input::Text)
                .value(&cn_value)
                .hint("Zum Beispiel der Rechnername; der Fachdienst hängt „#CM“ an.")
                .render(e),
        );
        body.push_str(
            &Field::new(
                "zert_passwort",
                "Passwort für die PKCS#12-Datei",
                Input::NewPassword,
            )
            .hint("Mindestens 8 Zeichen. Sie benötigen es beim Import.")
            .autocomplete("new-password")
            .render(e),
        );
        body.push_str(&button("Zertifikat anfordern", ""));
        body.push_str("</form>\n</section>\n");
    }

    // Deregistration.
    if !deregistered {
        let e = errors_for("abmeldung");
        body.push_str("<section aria-labelledby=\"h-abmelden\">\n<h2 id=\"h-abmelden\">KIM-Adresse abmelden</h2>\n");
        body.push_str(
            "<p id=\"hinweis-abmeldung\">Nach der Abmeldung wird die KIM-Adresse sofort aus dem \
             Verzeichnisdienst entfernt und kann keine Nachrichten mehr empfangen. Das Konto \
             bleibt noch 30 Tage erhalten; in dieser Zeit können Sie die Abmeldung hier \
             widerrufen. Danach werden Konto und Postfach endgültig gelöscht.</p>\n",
        );
        body.push_str(&form_start(
            "/konto/deregistrieren",
            &csrf,
            "KIM-Adresse abmelden",
        ));
        body.push_str(&general_error(e));
        body.push_str(&checkbox(
            "bestaetigung",
            "Ich möchte diese KIM-Adresse abmelden.",
            false,
            Some("hinweis-abmeldung"),
            e,
        ));
        body.push_str(&button("KIM-Adresse abmelden", "gefahr"));
        body.push_str("</form>\n</section>\n");
    }

    body.push_str(&form_start("/karte/wechseln", &csrf, "Andere Karte wählen"));
    body.push_str(&button("Andere Karte oder anderes Konto wählen", "leise"));
    body.push_str("</form>\n");
    unprocessable_if(app.page(sid, "KIM-Konto verwalten", &body), &sub.errors)
}

/// Re-renders the account page with errors in `section`.
async fn with_errors(
    app: &App,
    sid: &Sid,
    section: &'static str,
    errors: FormErrors,
    values: Fields,
) -> Response {
    render_account(
        app,
        sid,
        &Submitted {
            section,
            errors,
            values,
        },
    )
    .await
}

/// The end of an account action at the Account Manager: on success `done` as the notice and
/// back to the account page; on failure the account page with `errors(e)` in `section`.
async fn finish(
    app: &App,
    sid: &Sid,
    result: Result<(), AdminError>,
    done: &str,
    section: &'static str,
    errors: impl FnOnce(&AdminError) -> FormErrors,
    values: Fields,
) -> Response {
    match result {
        Ok(()) => {
            app.notify(sid, done);
            see_other("/konto")
        }
        Err(e) => with_errors(app, sid, section, errors(&e), values).await,
    }
}

/// The Account Manager's German message as a form-wide error.
fn general(e: &AdminError) -> FormErrors {
    FormErrors::general(e.german_message())
}

/// Common start of the account actions: CSRF, login, JWT.
async fn action(
    app: &App,
    sid: &Sid,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<(Fields, String, Zeroizing<String>, Zeroizing<String>), Response> {
    let f = app.checked_form(sid, form)?;
    let (user, password) = require_login(app, sid)?;
    match app.jwt(sid).await {
        Ok(jwt) => Ok((f, user, password, jwt)),
        Err(e) => Err(with_errors(app, sid, "", general(&e), f).await),
    }
}

async fn set_version(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let version = if f.checked("einwilligung") {
        "1.5+"
    } else {
        "1.5"
    };
    let update = kim_admin::AccountUpdate {
        kim_version: Some(version.to_owned()),
        ..kim_admin::AccountUpdate::default()
    };
    let result = app
        .config()
        .account_manager
        .set(&jwt, &user, &password, &update)
        .await;
    let done = if version == "1.5+" {
        "Einwilligung gespeichert: Die KIM-Adresse empfängt jetzt auch Nachrichten über 15 MiB (KIM-Version 1.5+)."
    } else {
        "Einwilligung zurückgenommen: Die KIM-Adresse empfängt nur Nachrichten bis 15 MiB (KIM-Version 1.5)."
    };
    finish(&app, &sid, result, done, "version", general, f).await
}

async fn out_of_office(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let active = f.checked("aktiv");
    let mut errors = FormErrors::default();
    let start = parse_local(&mut errors, "beginn", f.get("beginn"), active);
    let end = parse_local(&mut errors, "ende", f.get("ende"), active);
    let text = f.get("text").trim().to_owned();
    if active && text.is_empty() {
        errors.set(
            "text",
            "Bitte geben Sie den Text der Abwesenheitsnotiz ein.",
        );
    }
    if text.chars().count() > 2048 {
        errors.set("text", "Der Text ist länger als 2048 Zeichen.");
    }
    if let (Some(s), Some(e)) = (&start, &end)
        && time_fmt::after(s, e)
    {
        errors.set("ende", "Das Ende liegt vor dem Beginn.");
    }
    if !errors.is_empty() {
        return with_errors(&app, &sid, "abwesenheit", errors, f).await;
    }
    let ooo = kim_admin::OutOfOffice {
        active,
        start_date: start,
        end_date: end,
        message: (!text.is_empty()).then_some(text),
    };
    let result = app
        .config()
        .account_manager
        .update_out_of_office(&jwt, &user, &password, &ooo)
        .await;
    let done = if active {
        "Die Abwesenheitsnotiz ist eingeschaltet."
    } else {
        "Die Abwesenheitsnotiz ist gespeichert und ausgeschaltet."
    };
    finish(&app, &sid, result, done, "abwesenheit", texts::ooo_error, f).await
}

/// A `datetime-local` value (German civil time) as RFC 3339 in UTC; empty → `None` (an error
/// if `required`).
fn parse_local(
    errors: &mut FormErrors,
    field: &'static str,
    value: &str,
    required: bool,
) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        if required {
            errors.set(field, "Bitte geben Sie Datum und Uhrzeit an.");
        }
        return None;
    }
    match time_fmt::from_local_input(value) {
        Some(v) => Some(v),
        None => {
            errors.set(
                field,
                "Datum und Uhrzeit bitte im Format JJJJ-MM-TTTHH:MM angeben, z. B. 2026-12-24T08:00.",
            );
            None
        }
    }
}

async fn change_password(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let new = Zeroizing::new(f.get("neues_passwort").to_owned());
    let mut errors = FormErrors::default();
    app.check_new_password(
        &mut errors,
        &new,
        f.get("neues_passwort2"),
        "neues_passwort",
        "neues_passwort2",
    )
    .await;
    if !errors.is_empty() {
        return with_errors(&app, &sid, "passwort", errors, Fields::default()).await;
    }
    let update = kim_admin::AccountUpdate {
        password: Some(new.clone()),
        ..kim_admin::AccountUpdate::default()
    };
    match app
        .config()
        .account_manager
        .set(&jwt, &user, &password, &update)
        .await
    {
        Ok(()) => {
            app.with(&sid, |s| {
                if let Some(l) = s.login.as_mut() {
                    l.password = new;
                }
                s.notice = Some(
                    "Das Passwort ist geändert. Bitte tragen Sie es auch im Primärsystem bzw. E-Mail-Programm ein."
                        .into(),
                );
            });
            see_other("/konto")
        }
        Err(e) => {
            with_errors(
                &app,
                &sid,
                "passwort",
                texts::password_change_error(&e),
                Fields::default(),
            )
            .await
        }
    }
}

async fn request_otp(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match app
        .config()
        .account_manager
        .get_otp(&jwt, &user, &password)
        .await
    {
        Ok(otp) => {
            app.with(&sid, |s| s.otp = Some(otp));
            see_other("/konto/telematik-id")
        }
        Err(e) => with_errors(&app, &sid, "tid", general(&e), f).await,
    }
}

async fn tid_page(State(app): State<App>, Extension(sid): Extension<Sid>) -> Response {
    tid_form(&app, &sid, &FormErrors::default()).await
}

async fn tid_form(app: &App, sid: &Sid, errors: &FormErrors) -> Response {
    if let Err(r) = require_login(app, sid) {
        return r;
    }
    let pending = app.with(sid, |s| s.otp.is_some()).unwrap_or(false);
    if !pending {
        return see_other("/konto");
    }
    let csrf = app.csrf(sid);
    let old = app.chosen(sid);
    let mut body = format!(
        "<p>Das Einmalpasswort für den Umzug wurde mit der bisherigen Karte {} angefordert \
         (gültig sieben Tage). Wählen Sie jetzt die neue Karte; sie bestätigt den Umzug der \
         KIM-Adresse auf ihre Telematik-ID.</p>\n",
        esc(&old.as_ref().map(|c| card_line(&c.card)).unwrap_or_default())
    );
    body.push_str(&form_start(
        "/konto/telematik-id/karte",
        &csrf,
        "Neue Karte wählen",
    ));
    body.push_str(&general_error(errors));
    body.push_str(
        &app.card_fieldsets(errors, old.as_ref().map(|c| c.card.telematik_id.as_str()))
            .await,
    );
    body.push_str(&button("KIM-Adresse auf diese Karte übertragen", ""));
    body.push_str("</form>\n<p><a href=\"/konto\">Abbrechen</a></p>\n");
    unprocessable_if(app.page(sid, "Neue Karte wählen", &body), errors)
}

async fn move_to_card(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = match app.checked_form(&sid, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (user, password) = match require_login(&app, &sid) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some(otp) = app.with(&sid, |s| s.otp.clone()).flatten() else {
        return see_other("/konto");
    };
    let new = match app.find_card(f.get("karte")).await {
        Ok(c) => c,
        Err(text) => {
            let mut e = FormErrors::default();
            e.set("karte", text);
            return tid_form(&app, &sid, &e).await;
        }
    };
    let now = now();
    let jwt = match app.sign(&new, now).await {
        Ok(j) => j,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.set("karte", e.german_message());
            return tid_form(&app, &sid, &errors).await;
        }
    };
    match app
        .config()
        .account_manager
        .set_tid(&jwt, &user, &password, &otp)
        .await
    {
        Ok(()) => {
            let line = card_line(&new.card);
            app.with(&sid, |s| {
                s.card = Some(new);
                s.jwt = Some((jwt, now));
                s.otp = None;
                s.notice = Some(format!(
                    "Die KIM-Adresse gehört jetzt zu {line}. Die Verwaltung läuft ab sofort mit dieser Karte."
                ));
            });
            see_other("/konto")
        }
        Err(e) => {
            if matches!(e.status(), Some(403 | 408)) {
                app.with(&sid, |s| s.otp = None);
                return with_errors(&app, &sid, "tid", texts::tid_error(&e), Fields::default())
                    .await;
            }
            tid_form(&app, &sid, &texts::tid_error(&e)).await
        }
    }
}

async fn create_cert(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let name = f.get("name").trim().to_owned();
    let cert_password = Zeroizing::new(f.get("zert_passwort").to_owned());
    let mut errors = FormErrors::default();
    if name.is_empty() {
        errors.set(
            "name",
            "Bitte geben Sie einen Namen für das Clientmodul ein.",
        );
    } else if name.chars().count() > 40 || name.chars().any(char::is_control) {
        errors.set(
            "name",
            "Der Name darf höchstens 40 druckbare Zeichen haben.",
        );
    }
    if cert_password.chars().count() < 8 {
        errors.set(
            "zert_passwort",
            "Das Passwort für die PKCS#12-Datei muss mindestens 8 Zeichen haben.",
        );
    }
    if !errors.is_empty() {
        return with_errors(&app, &sid, "zertifikat", errors, f).await;
    }
    match app
        .config()
        .account_manager
        .create_cert(&jwt, &user, &password, &name, Some(&cert_password))
        .await
    {
        Ok(p12) => {
            let file_name = format!(
                "clientmodul-{}.p12",
                user.split('@').next().unwrap_or("konto")
            );
            app.with(&sid, |s| {
                s.cert = Some(IssuedCert {
                    p12: Zeroizing::new(p12.to_vec()),
                    password: cert_password,
                    file_name,
                });
                s.notice = Some("Das Zertifikat ist ausgestellt.".into());
            });
            see_other("/konto")
        }
        Err(e) => with_errors(&app, &sid, "zertifikat", texts::cert_error(&e), f).await,
    }
}

async fn download_cert(State(app): State<App>, Extension(sid): Extension<Sid>) -> Response {
    let Some((bytes, name)) = app
        .with(&sid, |s| {
            s.cert
                .as_ref()
                .map(|c| (c.p12.to_vec(), c.file_name.clone()))
        })
        .flatten()
    else {
        return see_other("/konto");
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pkcs12"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

async fn import_cert(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = match app.checked_form(&sid, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = require_login(&app, &sid) {
        return r;
    }
    let Some(target) = app.config().key_store.clone() else {
        return see_other("/konto");
    };
    let Some((p12, password)) = app
        .with(&sid, |s| {
            s.cert.as_ref().map(|c| (c.p12.clone(), c.password.clone()))
        })
        .flatten()
    else {
        return see_other("/konto");
    };
    let live = target.live.is_some();
    let result = tokio::task::spawn_blocking(move || import_into(&target, &p12, &password))
        .await
        .map_err(|e| format!("Import abgebrochen: {e}"))
        .and_then(|r| r);
    match result {
        Ok(summary) => {
            let when = if live {
                "ab sofort für neue Verbindungen"
            } else {
                "ab dem nächsten Start des Clientmoduls"
            };
            app.notify(
                &sid,
                format!(
                    "Das Zertifikat ist im Schlüsselspeicher des Clientmoduls ({summary}). Es gilt {when} zum Fachdienst."
                ),
            );
            see_other("/konto")
        }
        Err(text) => with_errors(&app, &sid, "import", FormErrors::general(text), f).await,
    }
}

/// Imports the PKCS#12 as the Fachdienst partner's key pair, and into the running
/// Clientmodul's identity if the target has it; returns a short summary.
fn import_into(target: &KeyStoreTarget, p12: &[u8], password: &str) -> Result<String, String> {
    use kim_cm_config::{KeyPair, KeyStore, Partner, StorePassword};
    let store_password = StorePassword::load(&target.password_file).map_err(|e| {
        format!("Das Passwort des Schlüsselspeichers konnte nicht gelesen werden: {e}")
    })?;
    let pair = KeyPair::from_pkcs12("createCert", p12, password)
        .map_err(|e| format!("Die PKCS#12-Datei ist nicht lesbar: {e}"))?;
    // Checked before anything is stored, used after.
    let identity = kim_tls::Identity::from_der(pair.chain.clone(), pair.pkcs8.clone())
        .map_err(|e| format!("Schlüssel und Zertifikat sind für TLS nicht verwendbar: {e}"))?;
    let mut store = KeyStore::open(&target.key_store, &store_password)
        .map_err(|e| format!("Der Schlüsselspeicher konnte nicht geöffnet werden: {e}"))?;
    let partner = Partner::Fachdienst;
    store.set_keypair(&partner, pair);
    store
        .save(&store_password)
        .map_err(|e| format!("Der Schlüsselspeicher konnte nicht gespeichert werden: {e}"))?;
    if let Some(live) = &target.live {
        live.replace(&identity).map_err(|e| {
            format!(
                "Das Zertifikat ist gespeichert, aber nicht in Gebrauch genommen ({e}); es gilt \
                 ab dem nächsten Start des Clientmoduls."
            )
        })?;
    }
    Ok(format!("Eintrag {}", partner.keypair_alias()))
}

async fn deregister(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !f.checked("bestaetigung") {
        let mut e = FormErrors::default();
        e.set(
            "bestaetigung",
            "Bitte bestätigen Sie, dass Sie die KIM-Adresse abmelden möchten.",
        );
        return with_errors(&app, &sid, "abmeldung", e, f).await;
    }
    let result = app
        .config()
        .account_manager
        .deregister(&jwt, &user, &password)
        .await;
    let done = "Die KIM-Adresse ist abgemeldet. Sie können die Abmeldung innerhalb von 30 Tagen widerrufen.";
    finish(&app, &sid, result, done, "abmeldung", general, f).await
}

async fn revoke(
    State(app): State<App>,
    Extension(sid): Extension<Sid>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let (f, user, password, jwt) = match action(&app, &sid, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = app
        .config()
        .account_manager
        .revoke_deregistration(&jwt, &user, &password)
        .await;
    let done = "Die Abmeldung ist widerrufen. Die KIM-Adresse ist wieder registriert und im Verzeichnisdienst eingetragen.";
    finish(&app, &sid, result, done, "widerruf", texts::revoke_error, f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used, reason = "test")]
    fn an_imported_certificate_replaces_the_running_identity() {
        let pki = kim_testkit::pki::TestPki::shared_default().unwrap();
        let issued = |tid: &str| {
            pki.card(tid)
                .unwrap()
                .aut(kim_testkit::pki::KeyAlgorithm::Rsa2048)
                .clone()
        };
        let (old, new) = (issued("1-2.58.00000040"), issued("1-1.58.00000050"));
        let mut chain = vec![old.certificate_der.clone()];
        chain.extend(old.chain_der.iter().cloned());
        let running =
            kim_tls::Identity::from_der(chain, old.private_key_pkcs8_der.to_vec()).unwrap();
        let (_identity, live) = running.renewable().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = KeyStoreTarget {
            key_store: dir.path().join("keystore.json"),
            password_file: dir.path().join("store-password"),
            live: Some(live.clone()),
        };
        let password = kim_cm_config::StorePassword::load_or_create(&target.password_file).unwrap();
        let p12 = new.to_pkcs12("Zertifikat-1", [7; 32]).unwrap();
        // A wrong PKCS#12 password changes nothing.
        let refused = import_into(&target, &p12, "falsch").unwrap_err();
        assert!(refused.contains("PKCS#12"), "{refused}");
        assert_eq!(live.leaf_der(), old.certificate_der);
        let summary = import_into(&target, &p12, "Zertifikat-1").unwrap();
        assert!(summary.contains("FD_CERTIFICATE"), "{summary}");
        assert_eq!(live.leaf_der(), new.certificate_der, "in use at once");
        let store = kim_cm_config::KeyStore::open(&target.key_store, &password).unwrap();
        let stored = store.keypair(&kim_cm_config::Partner::Fachdienst).unwrap();
        assert_eq!(stored.chain.first(), Some(&new.certificate_der));
    }

    fn host(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(header::HOST, v);
        }
        h
    }

    #[test]
    fn only_loopback_hosts_are_served() {
        assert!(host_allowed(&host("127.0.0.1:12001"), 12001));
        assert!(host_allowed(&host("localhost:12001"), 12001));
        assert!(host_allowed(&host("[::1]:12001"), 12001));
        assert!(host_allowed(&host("localhost"), 12001));
        assert!(!host_allowed(&host("evil.example:12001"), 12001));
        assert!(!host_allowed(&host("127.0.0.1:80"), 12001));
        assert!(!host_allowed(&HeaderMap::new(), 12001));
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/registrieren?x=1"), Some("/registrieren?x=1"));
        assert_eq!(safe_next("//evil.example/"), None);
        assert_eq!(safe_next("https://evil.example/"), None);
        assert_eq!(safe_next("/\\evil"), None);
    }
}
