//! Every key `cm.properties` may contain: the Clientmodul manual's configuration table
//! (chapter 4.2, with its defaults, ranges and restart flags; kim-spec §5 Tab_Konf_Param)
//! plus the keys this implementation adds (marked `extension`), and the per-Konnektor
//! sections `clientmodul.konnektor.<KonnektorId>.*` for several Konnektors (the
//! KonnektorId of the SMTP/POP3 user name, A_21519-02 / A_21518-02).

/// The kind of value a key takes and its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number in `min..=max`.
    Int {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// `true` or `false`.
    Bool,
    /// One of these words (upper case as written in the manual).
    Choice(&'static [&'static str]),
    /// An `http(s)://` URL.
    HttpUrl,
    /// An `ldap://` or `ldaps://` URL.
    LdapUrl,
    /// `host:port`.
    HostPort,
    /// An IP address.
    Ip,
    /// A file path (relative to the directory of `cm.properties`).
    Path,
    /// A Konnektor context id (1..=64 characters).
    Id,
    /// Free text (non-empty).
    Text,
}

impl Kind {
    /// The allowed range as shown in error messages.
    pub fn allowed(&self) -> String {
        match self {
            Kind::Int { min, max } => format!("{min}-{max}"),
            Kind::Bool => "true, false".into(),
            Kind::Choice(words) => words.join(", "),
            Kind::HttpUrl => "an https:// or http:// URL".into(),
            Kind::LdapUrl => "an ldaps:// or ldap:// URL".into(),
            Kind::HostPort => "host:port with port 1-65535".into(),
            Kind::Ip => "an IPv4 or IPv6 address".into(),
            Kind::Path => "a file path".into(),
            Kind::Id => "1 to 64 characters".into(),
            Kind::Text => "non-empty text".into(),
        }
    }
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The key as written in the file.
    pub name: &'static str,
    /// Value kind and range.
    pub kind: Kind,
    /// Default as written in the manual (`None`: required or optional without default).
    pub default: Option<&'static str>,
    /// Whether a changed value only takes effect after a restart.
    pub restart: bool,
    /// Added by this implementation (not in the manual's table).
    pub extension: bool,
}

const fn key(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    restart: bool,
) -> KeySpec {
    KeySpec {
        name,
        kind,
        default,
        restart,
        extension: false,
    }
}

const fn ext(name: &'static str, kind: Kind, default: Option<&'static str>) -> KeySpec {
    KeySpec {
        name,
        kind,
        default,
        restart: true,
        extension: true,
    }
}

const PORT: Kind = Kind::Int { min: 1, max: 65535 };
const SECONDS: Kind = Kind::Int { min: 1, max: 86400 };
const THREADS: Kind = Kind::Int { min: 0, max: 200 };
/// `clientmodul.core.konnektor.tlsAuth` values.
pub const TLS_AUTH: &[&str] = &["CERTIFICATE", "PASSWORD", "NONE"];
/// `clientmodul.proxy.tls` values.
pub const PROXY_TLS: &[&str] = &["NONE", "TLS", "TLS_CLIENT_CERTIFICATE"];

/// The manual's table 4 (in its order), then the extensions.
pub const KEYS: &[KeySpec] = &[
    key("clientmodul.proxy.smtp.port", PORT, Some("25"), true),
    key("clientmodul.proxy.pop3.port", PORT, Some("995"), true),
    key(
        "clientmodul.proxy.smtp.timeout.server",
        SECONDS,
        Some("300"),
        true,
    ),
    key(
        "clientmodul.proxy.smtp.timeout.client",
        SECONDS,
        Some("300"),
        true,
    ),
    key(
        "clientmodul.proxy.pop3.timeout.server",
        SECONDS,
        Some("300"),
        true,
    ),
    key(
        "clientmodul.proxy.pop3.timeout.client",
        SECONDS,
        Some("300"),
        false,
    ),
    key("clientmodul.core.konnektor.uri", Kind::HttpUrl, None, true),
    key(
        "clientmodul.core.konnektor.connection.timeout",
        SECONDS,
        Some("10"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.receive.timeout",
        SECONDS,
        Some("60"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.dvd.cache.maxTtl",
        SECONDS,
        Some("3600"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.vzd.cache.maxTtl",
        SECONDS,
        Some("86400"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.vzd.poolSize",
        Kind::Int { min: 1, max: 20 },
        Some("4"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.certificates.cache.maxTtl",
        Kind::Int { min: 1, max: 60 },
        Some("30"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.ntp.updateDelay",
        SECONDS,
        Some("3600"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.context.mandantId",
        Kind::Id,
        None,
        true,
    ),
    key(
        "clientmodul.core.konnektor.context.workplaceId",
        Kind::Id,
        None,
        true,
    ),
    key(
        "clientmodul.core.konnektor.context.clientSystemId",
        Kind::Id,
        None,
        true,
    ),
    key(
        "clientmodul.core.konnektor.context.userId",
        Kind::Id,
        None,
        true,
    ),
    key(
        "clientmodul.auth.service.endpoint",
        Kind::HttpUrl,
        Some("https://localhost:8080/api/rest"),
        true,
    ),
    key(
        "clientmodul.core.log.performance",
        Kind::Bool,
        Some("true"),
        true,
    ),
    key(
        "clientmodul.core.log.operation",
        Kind::Bool,
        Some("false"),
        false,
    ),
    key(
        "clientmodul.core.log.retainDays",
        Kind::Int { min: 1, max: 300 },
        Some("30"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.tlsAuth",
        Kind::Choice(TLS_AUTH),
        Some("CERTIFICATE"),
        true,
    ),
    key(
        "clientmodul.proxy.tls",
        Kind::Choice(PROXY_TLS),
        Some("NONE"),
        true,
    ),
    key("clientmodul.proxy.smtp.threads", THREADS, Some("0"), true),
    key("clientmodul.proxy.pop3.threads", THREADS, Some("0"), true),
    key("clientmodul.auth.service.port", PORT, Some("12001"), true),
    key(
        "clientmodul.auth.client.ui.enabled",
        Kind::Bool,
        Some("true"),
        true,
    ),
    key(
        "clientmodul.auth.client.headless.enabled",
        Kind::Bool,
        Some("false"),
        true,
    ),
    key(
        "clientmodul.proxy.ui.enabled",
        Kind::Bool,
        Some("true"),
        true,
    ),
    key(
        "clientmodul.core.konnektor.vzd.ldaps.port",
        PORT,
        Some("636"),
        true,
    ),
    key("clientmodul.proxy.enabled", Kind::Bool, Some("true"), true),
    key(
        "clientmodul.core.tls.revocation.check",
        Kind::Bool,
        Some("true"),
        true,
    ),
    // Extensions of this implementation.
    ext("clientmodul.proxy.bind", Kind::Ip, Some("127.0.0.1")),
    ext("clientmodul.proxy.hostname", Kind::Text, Some("localhost")),
    ext("clientmodul.core.vzd.uri", Kind::LdapUrl, None),
    ext(
        "clientmodul.core.konnektor.danger_accept_any_hostname",
        Kind::Bool,
        Some("false"),
    ),
    ext("clientmodul.fachdienst.smtp", Kind::HostPort, None),
    ext("clientmodul.fachdienst.pop3", Kind::HostPort, None),
    ext("clientmodul.fachdienst.kas", Kind::HttpUrl, None),
    ext(
        "clientmodul.fachdienst.account_manager",
        Kind::HttpUrl,
        None,
    ),
    ext(
        "clientmodul.fachdienst.renewal.interval",
        SECONDS,
        Some("3600"),
    ),
    ext(
        "clientmodul.fachdienst.renewal.telematikId",
        Kind::Text,
        None,
    ),
    ext(
        "clientmodul.fachdienst.danger_accept_any_hostname",
        Kind::Bool,
        Some("false"),
    ),
    ext("clientmodul.store.keyStore", Kind::Path, Some("keyStore")),
    ext(
        "clientmodul.store.trustStore",
        Kind::Path,
        Some("trustStore"),
    ),
    ext(
        "clientmodul.store.passwordFile",
        Kind::Path,
        Some("store.password"),
    ),
];

/// The manual's misspelling of `…context.workplaceId` (table 4), accepted as the same key.
pub const WORKPLACE_ALIAS: (&str, &str) = (
    "clientmodul.core.konnektor.context.workplaceld",
    "clientmodul.core.konnektor.context.workplaceId",
);

/// Prefix of the sections of further Konnektors: `clientmodul.konnektor.<Id>.<sub key>`.
pub const KONNEKTOR_PREFIX: &str = "clientmodul.konnektor.";

/// Sub keys of a further Konnektor's section.
pub const KONNEKTOR_SUBKEYS: &[KeySpec] = &[
    ext("uri", Kind::HttpUrl, None),
    ext("tlsAuth", Kind::Choice(TLS_AUTH), Some("CERTIFICATE")),
    ext("danger_accept_any_hostname", Kind::Bool, Some("false")),
    ext("context.mandantId", Kind::Id, None),
    ext("context.workplaceId", Kind::Id, None),
    ext("context.clientSystemId", Kind::Id, None),
    ext("context.userId", Kind::Id, None),
];

/// The spec of a top-level key.
pub fn find(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name == name)
}

/// The known key closest to `name` (edit distance at most a third of its length), for
/// "did you mean" hints.
pub fn closest(name: &str) -> Option<String> {
    let candidates = KEYS.iter().map(|k| k.name.to_owned()).chain(
        KONNEKTOR_SUBKEYS
            .iter()
            .map(|k| format!("{KONNEKTOR_PREFIX}<KonnektorId>.{}", k.name)),
    );
    let lower = name.to_ascii_lowercase();
    candidates
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= c.len().div_ceil(3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over bytes (keys are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row.first().copied().unwrap_or_default();
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, &cb) in b.iter().enumerate() {
            let old = row.get(j + 1).copied().unwrap_or_default();
            let left = row.get(j).copied().unwrap_or_default();
            let value = (old + 1).min(left + 1).min(prev + usize::from(ca != cb));
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
            prev = old;
        }
    }
    row.last().copied().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn hints_for_typos_and_case() {
        assert_eq!(
            closest("clientmodul.proxy.smtp.prot").unwrap(),
            "clientmodul.proxy.smtp.port"
        );
        assert_eq!(
            closest("clientmodul.core.konnektor.tlsauth").unwrap(),
            "clientmodul.core.konnektor.tlsAuth"
        );
        assert_eq!(closest("something.else"), None);
    }

    #[test]
    fn every_default_is_in_range() {
        for spec in KEYS.iter().chain(KONNEKTOR_SUBKEYS) {
            if let (Some(d), Kind::Int { min, max }) = (spec.default, spec.kind) {
                let v: u64 = d.parse().unwrap();
                assert!((min..=max).contains(&v), "{}", spec.name);
            }
        }
    }
}
