//! One line per event: the field visitor (with redaction) and the two line formats.
//!
//! Operation log: `<ts> <LEVEL> <target> op=<id> msg=<message> <field>=<value> …`
//! Performance log: `<ts> op=<id> step=<step> ms=<ms> <field>=<value> …`
//!
//! `<ts>` is RFC 3339 UTC with milliseconds, `op` is `-` without a correlation id. Values
//! that are empty or contain blanks, quotes, `=`, backslashes or control characters are
//! written in double quotes with `\"`, `\\`, `\n`, `\r`, `\t` and `\u{…}` escapes, so an
//! event is always exactly one line and a value cannot forge another field or line. Values
//! and messages longer than [`MAX_VALUE_CHARS`] characters are cut there and end in `…`.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};

use crate::clock::rfc3339_ms;
use crate::redact::{REDACTED, is_denied, mask_addresses};

/// The span and event field carrying the correlation id (KOM-LE-A_2079 … A_2090).
pub const OP_FIELD: &str = "op";

/// Longest value or message written, in characters.
pub const MAX_VALUE_CHARS: usize = 2048;

/// The fields of one event, sorted into what the line formats place specially.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub message: Option<String>,
    pub op: Option<String>,
    pub step: Option<String>,
    pub ms: Option<String>,
    /// ` key=value` pairs in event order, already escaped and redacted.
    pub rest: String,
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        let name = field.name();
        if is_denied(name) {
            push_pair(&mut self.rest, name, REDACTED);
            return;
        }
        let mut value = match mask_addresses(&value) {
            std::borrow::Cow::Borrowed(_) => value,
            std::borrow::Cow::Owned(masked) => masked,
        };
        if let Some((cut, _)) = value.char_indices().nth(MAX_VALUE_CHARS) {
            value.truncate(cut);
            value.push('…');
        }
        match name {
            "message" => self.message = Some(value),
            OP_FIELD => self.op = Some(value),
            "step" => self.step = Some(value),
            "ms" => self.ms = Some(value),
            _ => push_pair(&mut self.rest, name, &value),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string());
    }
}

/// Reads only the correlation id of a span's fields.
#[derive(Debug, Default)]
pub(crate) struct OpVisitor(pub Option<String>);

impl Visit for OpVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == OP_FIELD {
            self.0 = Some(mask_addresses(&format!("{value:?}")).into_owned());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == OP_FIELD {
            self.0 = Some(mask_addresses(value).into_owned());
        }
    }
}

/// The operation-log line (without the newline).
pub(crate) fn operation_line(
    unix_ms: i64,
    level: &str,
    target: &str,
    op: Option<&str>,
    fields: &Fields,
) -> String {
    let mut line = format!("{} {level} ", rfc3339_ms(unix_ms));
    push_value(&mut line, target);
    push_pair(&mut line, OP_FIELD, op.unwrap_or("-"));
    push_pair(&mut line, "msg", fields.message.as_deref().unwrap_or(""));
    if let Some(step) = &fields.step {
        push_pair(&mut line, "step", step);
    }
    if let Some(ms) = &fields.ms {
        push_pair(&mut line, "ms", ms);
    }
    line.push_str(&fields.rest);
    line
}

/// The performance-log line (without the newline); the event message is left out.
pub(crate) fn performance_line(unix_ms: i64, op: Option<&str>, fields: &Fields) -> String {
    let mut line = rfc3339_ms(unix_ms);
    push_pair(&mut line, OP_FIELD, op.unwrap_or("-"));
    push_pair(&mut line, "step", fields.step.as_deref().unwrap_or("-"));
    push_pair(&mut line, "ms", fields.ms.as_deref().unwrap_or("-"));
    line.push_str(&fields.rest);
    line
}

/// Appends ` name=value`.
fn push_pair(line: &mut String, name: &str, value: &str) {
    line.push(' ');
    push_value(line, name);
    line.push('=');
    push_value(line, value);
}

/// Appends `value`, quoted and escaped when it needs to be.
fn push_value(line: &mut String, value: &str) {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '=' | '\\'));
    if plain {
        line.push_str(value);
        return;
    }
    line.push('"');
    for c in value.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let _ = write!(line, "\\u{{{:x}}}", u32::from(c));
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> String {
        let mut s = String::new();
        push_value(&mut s, v);
        s
    }

    #[test]
    fn values_are_escaped_onto_one_line() {
        assert_eq!(value("plain-1.2"), "plain-1.2");
        assert_eq!(value(""), "\"\"");
        assert_eq!(value("a b"), "\"a b\"");
        assert_eq!(value("x=1"), "\"x=1\"");
        assert_eq!(value("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
        assert_eq!(value("q\"\\"), "\"q\\\"\\\\\"");
        assert_eq!(value("\u{1b}[31m"), "\"\\u{1b}[31m\"");
        assert_eq!(value("a\u{2028}b"), "\"a\\u{2028}b\"");
    }

    #[test]
    fn line_layouts() {
        let fields = Fields {
            message: Some("mail accepted".into()),
            step: None,
            ms: None,
            op: None,
            rest: " recipients=3".into(),
        };
        assert_eq!(
            operation_line(0, "INFO", "kim_clientmodul::send", Some("a1"), &fields),
            "1970-01-01T00:00:00.000Z INFO kim_clientmodul::send op=a1 msg=\"mail accepted\" recipients=3"
        );
        let perf = Fields {
            step: Some("vzd".into()),
            ms: Some("12".into()),
            ..Fields::default()
        };
        assert_eq!(
            performance_line(1, None, &perf),
            "1970-01-01T00:00:00.001Z op=- step=vzd ms=12"
        );
    }
}
