//! Line-ending normalisation (RFC 5322 / RFC 5751 canonical form: CRLF).

use std::borrow::Cow;

/// Converts every bare LF and every bare CR to CRLF; existing CRLF pairs stay as they are.
///
/// Returns the input borrowed when it is already canonical.
pub fn to_crlf(input: &[u8]) -> Cow<'_, [u8]> {
    if is_crlf_clean(input) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() + input.len() / 32 + 2);
    let mut iter = input.iter().copied().peekable();
    while let Some(b) = iter.next() {
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if iter.peek() == Some(&b'\n') {
                    iter.next();
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// True if every CR is followed by LF and every LF is preceded by CR (memchr visits only the
/// line-break bytes).
fn is_crlf_clean(input: &[u8]) -> bool {
    memchr::memchr2_iter(b'\r', b'\n', input).all(|i| {
        if input.get(i) == Some(&b'\r') {
            input.get(i + 1) == Some(&b'\n')
        } else {
            i.checked_sub(1).and_then(|p| input.get(p)) == Some(&b'\r')
        }
    })
}

/// True if the buffer ends with a line break (LF, with or without CR).
pub(crate) fn ends_with_newline(data: &[u8]) -> bool {
    data.last() == Some(&b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_bare_lf_and_cr() {
        assert_eq!(to_crlf(b"a\nb\rc\r\nd").as_ref(), b"a\r\nb\r\nc\r\nd");
        assert_eq!(to_crlf(b"\r").as_ref(), b"\r\n");
        assert_eq!(to_crlf(b"\n\n").as_ref(), b"\r\n\r\n");
        assert_eq!(to_crlf(b"\r\r\n").as_ref(), b"\r\n\r\n");
    }

    #[test]
    fn clean_means_every_break_is_crlf() {
        for (input, clean) in [
            (&b""[..], true),
            (b"a", true),
            (b"a\r\nb\r\n", true),
            (b"\r\n\r\n", true),
            (b"\n", false),
            (b"a\nb", false),
            (b"a\r", false),
            (b"\r", false),
            (b"a\rb\r\n", false),
            (b"\r\r\n", false),
            (b"\r\n\n", false),
        ] {
            assert_eq!(is_crlf_clean(input), clean, "{input:?}");
        }
    }

    #[test]
    fn keeps_canonical_input_borrowed() {
        assert!(matches!(to_crlf(b"a\r\nb\r\n"), Cow::Borrowed(_)));
        assert!(matches!(to_crlf(b""), Cow::Borrowed(_)));
        assert!(matches!(to_crlf(b"a\r"), Cow::Owned(_)));
    }
}
