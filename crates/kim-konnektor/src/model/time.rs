//! `xs:dateTime` and `xs:date` values kept in their lexical form (the Konnektor interfaces
//! only carry and compare them; no calendar arithmetic is needed here).

use super::ValueError;

/// `xs:dateTime` kept in its lexical form (`YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]`).
/// Invariant: the lexical form matches that pattern (field ranges are checked loosely).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime(String);

impl DateTime {
    /// Validates the lexical form.
    ///
    /// # Errors
    /// [`ValueError`] when the text is not an `xs:dateTime`.
    pub fn new(value: &str) -> Result<Self, ValueError> {
        if lex_date_time(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValueError::new(
                "dateTime",
                value,
                "not an xs:dateTime (YYYY-MM-DDThh:mm:ss[Z])",
            ))
        }
    }

    /// The lexical form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `xs:date` kept in its lexical form (`YYYY-MM-DD[Z|±hh:mm]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(String);

impl Date {
    /// Validates the lexical form.
    ///
    /// # Errors
    /// [`ValueError`] when the text is not an `xs:date`.
    pub fn new(value: &str) -> Result<Self, ValueError> {
        let b = value.as_bytes();
        let ok = b.len() >= 10
            && lex_date(b.get(..10).unwrap_or_default())
            && lex_zone(b.get(10..).unwrap_or_default());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValueError::new(
                "date",
                value,
                "not an xs:date (YYYY-MM-DD)",
            ))
        }
    }

    /// The lexical form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

fn lex_date(b: &[u8]) -> bool {
    matches!(b, [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1]
        if digits(&[*y0, *y1, *y2, *y3]) && digits(&[*m0, *m1]) && digits(&[*d0, *d1])
            && (b'0'..=b'1').contains(m0) && (b'0'..=b'3').contains(d0))
}

fn lex_zone(b: &[u8]) -> bool {
    match b {
        [] | [b'Z'] => true,
        [s, h0, h1, b':', m0, m1] => matches!(s, b'+' | b'-') && digits(&[*h0, *h1, *m0, *m1]),
        _ => false,
    }
}

fn lex_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(date), Some(rest)) = (b.get(..10), b.get(10..)) else {
        return false;
    };
    if !lex_date(date) {
        return false;
    }
    let Some((b'T', rest)) = rest.split_first() else {
        return false;
    };
    let (Some(hms), Some(mut rest)) = (rest.get(..8), rest.get(8..)) else {
        return false;
    };
    let time_ok = matches!(hms, [h0, h1, b':', m0, m1, b':', s0, s1]
        if digits(&[*h0, *h1, *m0, *m1, *s0, *s1]));
    if !time_ok {
        return false;
    }
    if let Some((b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or_default();
    }
    lex_zone(rest)
}
