//! CAPA (RFC 2449 §5): the capability list, which depends on the state.

use super::ServerConfig;

/// Appends the multi-line CAPA response. USER and SASL are listed only before login.
pub(crate) fn write(out: &mut Vec<u8>, cfg: &ServerConfig, authorized: bool) {
    out.extend_from_slice(b"+OK Capability list follows\r\n");
    let mut lines: Vec<&str> = vec!["TOP", "UIDL"];
    if !authorized {
        if cfg.allow_user_pass {
            lines.push("USER");
        }
        lines.push("SASL PLAIN");
    }
    lines.extend(["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]);
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(name) = &cfg.implementation {
        out.extend_from_slice(b"IMPLEMENTATION ");
        out.extend(name.bytes().filter(|b| (0x20..0x7F).contains(b)));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn lists_login_mechanisms_only_before_login() {
        let cfg = ServerConfig {
            implementation: Some("kim-rs\r\nX".into()),
            ..ServerConfig::default()
        };
        let mut out = Vec::new();
        write(&mut out, &cfg, false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\n\
             AUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION kim-rsX\r\n.\r\n"
        );
        let cfg = ServerConfig {
            allow_user_pass: false,
            ..ServerConfig::default()
        };
        let mut out = Vec::new();
        write(&mut out, &cfg, true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n\
             PIPELINING\r\n.\r\n"
        );
    }
}
