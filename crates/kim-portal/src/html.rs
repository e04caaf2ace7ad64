//! Server-rendered HTML without JavaScript: one page layout, escaping, form fields with
//! their error message beside the field (`aria-describedby`, `aria-invalid`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and attribute values.
#[must_use]
pub fn escape(text: &str) -> String {
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

/// A complete page with `title` and the already escaped `body`.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – KIM Teilnehmeranwendung</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><a href=\"/\">KIM Teilnehmeranwendung</a></header>\n\
         <main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
    response
}

const STYLE: &str = "body{font-family:sans-serif;max-width:46em;margin:0 auto;padding:1em;\
line-height:1.5}label{display:block;font-weight:bold;margin-top:1em}\
input,select{font-size:1em;padding:.3em;width:100%;max-width:30em}\
.hint{color:#444;font-size:.9em;margin:.2em 0}\
.error{color:#a00000;font-weight:bold;margin:.2em 0}\
[aria-invalid=true]{border:2px solid #a00000}\
.notice{border-left:4px solid #0a5;padding:.5em 1em;background:#eef8f1}\
.problem{border-left:4px solid #a00000;padding:.5em 1em;background:#fbeeee}\
button{font-size:1em;margin-top:1.5em;padding:.5em 1.5em}\
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:left}";

/// One input field of a form.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// `name` and `id`.
    pub name: &'a str,
    /// The label text.
    pub label: &'a str,
    /// `type` attribute (`text`, `email`, `password`).
    pub kind: &'a str,
    /// Whether the field is required.
    pub required: bool,
    /// The value to show again (never for passwords).
    pub value: &'a str,
    /// A hint under the label.
    pub hint: &'a str,
    /// The error message for this field, if any.
    pub error: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// A field with no value, hint or error.
    #[must_use]
    pub fn new(name: &'a str, label: &'a str, kind: &'a str, required: bool) -> Self {
        Self {
            name,
            label,
            kind,
            required,
            value: "",
            hint: "",
            error: None,
        }
    }

    /// The same field with a value.
    #[must_use]
    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }

    /// The same field with a hint.
    #[must_use]
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = hint;
        self
    }

    /// The same field with an error.
    #[must_use]
    pub fn error(mut self, error: Option<&'a str>) -> Self {
        self.error = error;
        self
    }

    /// The HTML of label, hint, error and input.
    #[must_use]
    pub fn render(&self) -> String {
        let name = escape(self.name);
        let mut described = Vec::new();
        let mut html = format!(
            "<label for=\"{name}\">{}{}</label>\n",
            escape(self.label),
            if self.required { " *" } else { "" }
        );
        if !self.hint.is_empty() {
            html.push_str(&format!(
                "<p class=\"hint\" id=\"{name}-hint\">{}</p>\n",
                escape(self.hint)
            ));
            described.push(format!("{name}-hint"));
        }
        if let Some(error) = self.error {
            html.push_str(&format!(
                "<p class=\"error\" id=\"{name}-error\">{}</p>\n",
                escape(error)
            ));
            described.push(format!("{name}-error"));
        }
        let value = if self.kind == "password" {
            String::new()
        } else {
            format!(" value=\"{}\"", escape(self.value))
        };
        html.push_str(&format!(
            "<input type=\"{}\" id=\"{name}\" name=\"{name}\"{value}{}{}{}>\n",
            escape(self.kind),
            if self.required { " required" } else { "" },
            if described.is_empty() {
                String::new()
            } else {
                format!(" aria-describedby=\"{}\"", described.join(" "))
            },
            if self.error.is_some() {
                " aria-invalid=\"true\""
            } else {
                ""
            },
        ));
        html
    }
}

/// A hidden input.
#[must_use]
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
        escape(name),
        escape(value)
    )
}

/// A paragraph in a notice box (`problem` for failures).
#[must_use]
pub fn notice(text: &str, problem: bool) -> String {
    let class = if problem { "problem" } else { "notice" };
    let role = if problem { "alert" } else { "status" };
    format!(
        "<p class=\"{class}\" role=\"{role}\">{}</p>\n",
        escape(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn errors_are_tied_to_their_field() {
        let html = Field::new("email", "E-Mail", "email", true)
            .value("x<y")
            .error(Some("Falsch"))
            .render();
        assert!(html.contains("aria-describedby=\"email-error\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("value=\"x&lt;y\""));
        let pw = Field::new("password", "Passwort", "password", true)
            .value("geheim")
            .render();
        assert!(!pw.contains("geheim"));
    }
}
