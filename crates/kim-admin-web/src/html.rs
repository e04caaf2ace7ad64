//! HTML building blocks: escaping, the page frame, accessible form fields (label,
//! `aria-describedby` with hint and error, `aria-invalid`) and the one style sheet.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Errors of a submitted form: by field name, and `""` for the form as a whole.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(BTreeMap<&'static str, String>);

impl FormErrors {
    pub fn set(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A form-wide error (not tied to a field).
    pub fn general(message: impl Into<String>) -> FormErrors {
        let mut e = FormErrors::default();
        e.set("", message);
        e
    }
}

/// Escapes text for element content and attribute values.
#[must_use]
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query parameter value.
#[must_use]
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The input types a field can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    Email,
    Password,
    NewPassword,
    DateTime,
    TextArea,
}

/// One labelled form field.
#[derive(Debug)]
pub struct Field<'a> {
    pub name: &'static str,
    pub label: &'a str,
    pub input: Input,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub required: bool,
    pub autocomplete: Option<&'static str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'static str, label: &'a str, input: Input) -> Field<'a> {
        Field {
            name,
            label,
            input,
            value: "",
            hint: None,
            required: true,
            autocomplete: None,
        }
    }
    #[must_use]
    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }
    #[must_use]
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    #[must_use]
    pub fn autocomplete(mut self, token: &'static str) -> Self {
        self.autocomplete = Some(token);
        self
    }

    /// The field with its label, hint and (if `errors` has one for it) error message; the
    /// input names both in `aria-describedby` and is `aria-invalid` when in error.
    pub fn render(&self, errors: &FormErrors) -> String {
        let id = format!("feld-{}", self.name);
        let hint_id = format!("{id}-hinweis");
        let error_id = format!("{id}-fehler");
        let error = errors.get(self.name);
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.as_str());
        }
        if error.is_some() {
            described.push(error_id.as_str());
        }
        let mut attrs = format!(
            "id=\"{id}\" name=\"{name}\"",
            name = self.name,
            id = esc(&id)
        );
        if !described.is_empty() {
            let _ = write!(attrs, " aria-describedby=\"{}\"", described.join(" "));
        }
        if error.is_some() {
            attrs.push_str(" aria-invalid=\"true\"");
        }
        if self.required {
            attrs.push_str(" required");
        }
        if let Some(token) = self.autocomplete {
            let _ = write!(attrs, " autocomplete=\"{token}\"");
        }
        let control = match self.input {
            Input::TextArea => format!(
                "<textarea {attrs} rows=\"5\" maxlength=\"2048\">{}</textarea>",
                esc(self.value)
            ),
            other => {
                let kind = match other {
                    Input::Email => "email",
                    Input::Password | Input::NewPassword => "password",
                    Input::DateTime => "datetime-local",
                    _ => "text",
                };
                // Passwords are never written back into a page.
                let value = if matches!(other, Input::Password | Input::NewPassword) {
                    String::new()
                } else {
                    format!(" value=\"{}\"", esc(self.value))
                };
                format!("<input type=\"{kind}\" {attrs}{value}>")
            }
        };
        let mut out = format!(
            "<div class=\"feld{}\">\n<label for=\"{id}\">{}{}</label>\n{control}\n",
            if error.is_some() { " mit-fehler" } else { "" },
            esc(self.label),
            if self.required {
                ""
            } else {
                " <span class=\"optional\">(optional)</span>"
            },
        );
        if let Some(hint) = self.hint {
            let _ = writeln!(
                out,
                "<p id=\"{hint_id}\" class=\"hinweis\">{}</p>",
                esc(hint)
            );
        }
        if let Some(error) = error {
            let _ = writeln!(
                out,
                "<p id=\"{error_id}\" class=\"fehler\">{}</p>",
                esc(error)
            );
        }
        out.push_str("</div>\n");
        out
    }
}

/// A checkbox with its label and optional description/error.
pub fn checkbox(
    name: &'static str,
    label: &str,
    checked: bool,
    hint_id: Option<&str>,
    errors: &FormErrors,
) -> String {
    let id = format!("feld-{name}");
    let error_id = format!("{id}-fehler");
    let error = errors.get(name);
    let mut described: Vec<&str> = hint_id.into_iter().collect();
    if error.is_some() {
        described.push(&error_id);
    }
    let mut out = format!(
        "<div class=\"feld kontrollkaestchen{}\">\n<input type=\"checkbox\" id=\"{id}\" name=\"{name}\" value=\"ja\"{}{}{}>\n<label for=\"{id}\">{}</label>\n",
        if error.is_some() { " mit-fehler" } else { "" },
        if checked { " checked" } else { "" },
        if described.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"{}\"", described.join(" "))
        },
        if error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        },
        esc(label),
    );
    if let Some(error) = error {
        let _ = writeln!(
            out,
            "<p id=\"{error_id}\" class=\"fehler\">{}</p>",
            esc(error)
        );
    }
    out.push_str("</div>\n");
    out
}

/// The opening of a POST form with its CSRF token.
pub fn form_start(action: &str, csrf: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\" aria-label=\"{}\" novalidate>\n<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
        esc(action),
        esc(label),
        esc(csrf)
    )
}

/// The form-wide error (if any) as an alert box at the top of a form.
pub fn general_error(errors: &FormErrors) -> String {
    match errors.get("") {
        Some(e) => format!(
            "<div class=\"meldung fehlerbox\" role=\"alert\"><p>{}</p></div>\n",
            esc(e)
        ),
        None if !errors.is_empty() => "<div class=\"meldung fehlerbox\" role=\"alert\"><p>Bitte prüfen Sie die markierten Eingaben.</p></div>\n".into(),
        None => String::new(),
    }
}

/// A submit button.
pub fn button(label: &str, class: &str) -> String {
    format!(
        "<button type=\"submit\" class=\"{}\">{}</button>\n",
        esc(class),
        esc(label)
    )
}

/// What the page header shows about the session.
#[derive(Debug, Default)]
pub struct Header {
    pub card: Option<String>,
    pub account: Option<String>,
    pub csrf: Option<String>,
}

/// A whole page.
pub fn page(title: &str, header: &Header, notice: Option<&str>, body: &str) -> String {
    let mut status = String::new();
    if let Some(card) = &header.card {
        let _ = write!(status, "<p>Karte: <strong>{}</strong></p>", esc(card));
    }
    if let Some(account) = &header.account {
        let _ = write!(status, "<p>Konto: <strong>{}</strong></p>", esc(account));
    }
    if let Some(csrf) = &header.csrf {
        status.push_str(&form_start("/abmelden", csrf, "Sitzung beenden"));
        status.push_str(&button("Sitzung beenden", "leise"));
        status.push_str("</form>");
    }
    let notice = notice
        .map(|n| {
            format!(
                "<div class=\"meldung erfolg\" role=\"status\"><p>{}</p></div>\n",
                esc(n)
            )
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} – KIM-Kontoverwaltung</title>\n<link rel=\"stylesheet\" href=\"/stil.css\">\n</head>\n\
<body>\n<header>\n<p class=\"marke\"><a href=\"/\">KIM-Kontoverwaltung</a></p>\n<div class=\"sitzung\">{status}</div>\n</header>\n\
<main>\n<h1>{title}</h1>\n{notice}{body}</main>\n<footer><p>Clientmodul – nur auf diesem Rechner erreichbar.</p></footer>\n</body>\n</html>\n",
        title = esc(title),
    )
}

/// The style sheet.
pub const CSS: &str = "\
:root{--rand:#6b7280;--akzent:#005a9c;--fehler:#b00020;--ok:#1b6e20}\n\
*{box-sizing:border-box}\n\
body{font-family:system-ui,sans-serif;margin:0;color:#111;background:#fafafa;line-height:1.5}\n\
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:1rem;padding:.5rem 1.5rem;background:var(--akzent);color:#fff}\n\
header a{color:#fff}\n\
.marke{font-weight:bold;font-size:1.2rem;margin:0}\n\
.sitzung{display:flex;gap:1rem;align-items:center}\n\
.sitzung p{margin:0}\n\
main{max-width:48rem;margin:0 auto;padding:1rem 1.5rem}\n\
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem 1.25rem;margin:1rem 0}\n\
h2{margin-top:0;font-size:1.25rem}\n\
.feld{margin:.9rem 0}\n\
.feld label{display:block;font-weight:600}\n\
.kontrollkaestchen{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-start}\n\
.kontrollkaestchen label{display:inline;font-weight:normal;flex:1}\n\
.kontrollkaestchen .fehler{flex-basis:100%}\n\
input[type=text],input[type=email],input[type=password],input[type=datetime-local],textarea{width:100%;padding:.45rem;border:1px solid var(--rand);border-radius:4px;font:inherit}\n\
[aria-invalid=true]{border:2px solid var(--fehler)}\n\
input:focus,textarea:focus,button:focus,a:focus{outline:3px solid #ffbf47;outline-offset:1px}\n\
.hinweis{margin:.2rem 0;color:#444;font-size:.92rem}\n\
.fehler{margin:.2rem 0;color:var(--fehler);font-weight:600}\n\
.optional{font-weight:normal;color:#444}\n\
.meldung{padding:.6rem 1rem;border-radius:4px;margin:1rem 0}\n\
.fehlerbox{background:#fde8ea;border-left:5px solid var(--fehler)}\n\
.erfolg{background:#e6f4ea;border-left:5px solid var(--ok)}\n\
.warnung{background:#fff4e5;border-left:5px solid #b26a00;padding:.6rem 1rem}\n\
button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid var(--akzent);background:var(--akzent);color:#fff;cursor:pointer}\n\
button.leise{background:transparent;color:inherit;border-color:currentColor}\n\
button.gefahr{background:var(--fehler);border-color:var(--fehler)}\n\
table{border-collapse:collapse;width:100%}\n\
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}\n\
fieldset{border:1px solid #ddd;border-radius:4px;margin:.8rem 0}\n\
legend{font-weight:600}\n\
.karte{display:flex;gap:.6rem;align-items:flex-start;padding:.4rem 0}\n\
.karte label{font-weight:normal}\n\
footer{text-align:center;color:#555;font-size:.85rem;padding:2rem}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_encode("a b@c.de"), "a%20b%40c.de");
    }

    #[test]
    fn a_field_in_error_names_its_message() {
        let mut errors = FormErrors::default();
        errors.set("adresse", "Die Adresse ist vergeben.");
        let html = Field::new("adresse", "KIM-Adresse", Input::Email)
            .value("a@b")
            .hint("Nur Kleinbuchstaben")
            .render(&errors);
        assert!(html.contains("aria-describedby=\"feld-adresse-hinweis feld-adresse-fehler\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains(
            "<p id=\"feld-adresse-fehler\" class=\"fehler\">Die Adresse ist vergeben.</p>"
        ));
        assert!(html.contains("<label for=\"feld-adresse\">KIM-Adresse</label>"));
    }

    #[test]
    fn passwords_are_never_echoed() {
        let html = Field::new("passwort", "Passwort", Input::Password)
            .value("geheim")
            .render(&FormErrors::default());
        assert!(!html.contains("geheim"));
    }
}
