//! Errors of the crate, split by blame.

use kim_smtp::Reply;

/// Why [`crate::start`] could not bring up the proxy: our configuration or the machine.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A TLS configuration could not be built from the configured identities.
    #[error("TLS configuration ({what}): {source}")]
    Tls {
        /// Which side: `proxy` or `fachdienst`.
        what: &'static str,
        /// The cause.
        source: kim_tls::TlsError,
    },
    /// A configured value is out of range.
    #[error("configuration key {key} = {value}: {reason}")]
    Config {
        /// The `cm.properties` key (or field name).
        key: &'static str,
        /// The value found.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// Binding the listening socket failed.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Why a Client-Mail was not (completely) sent; each variant maps to exactly one SMTP
/// reply to the practice software ([`SendFailure::reply`]).
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// The Client-Mail itself is unacceptable (practice software's fault).
    #[error("client mail: {0}")]
    ClientMail(String),
    /// The Client-Mail already carries a KAS reference part (A_22341).
    #[error("the client mail already contains a KAS reference part")]
    AlreadyKas,
    /// Above the KAS threshold and no KAS is available (A_19363-03).
    #[error("large message and no KAS available: {0}")]
    KasUnavailable(String),
    /// The KAS upload failed; the reply was chosen by the uploader (`451`, `521` on an
    /// exhausted quota, `552` above `maxMailSize`).
    #[error("KAS upload: {0}")]
    Kas(Reply),
    /// The spool file of a large mail could not be read.
    #[error("spool file: {0}")]
    Spool(String),
    /// The sender has no usable encryption certificate or no unique directory entry
    /// (FAQ: 553 and abort).
    #[error("sender {address}: {reason}")]
    Sender {
        /// The sender address.
        address: String,
        /// What is wrong.
        reason: String,
    },
    /// The directory could not be asked (transient).
    #[error("directory: {0}")]
    Directory(String),
    /// No recipient is left that the message can be encrypted for (KOM-LE-A_2025).
    #[error("no recipient can be encrypted for: {0}")]
    NoRecipient(String),
    /// Signing failed (KOM-LE-A_2021).
    #[error("signing at the Konnektor: {0}")]
    Sign(String),
    /// Encryption failed (KOM-LE-A_2025).
    #[error("encryption at the Konnektor: {0}")]
    Encrypt(String),
    /// Building the outer message failed.
    #[error("building the KOM-LE message: {0}")]
    Compose(String),
    /// The MTA connection failed (not a refusal: that is relayed as it is).
    #[error("connection to the MTA: {0}")]
    Mta(String),
    /// No authenticated MTA session belongs to the client's session.
    #[error("no MTA session")]
    NoSession,
}

impl SendFailure {
    /// The reply to the practice software (gemSpec_CM_KOMLE Tab_SMTP_Verbindung, 3.4).
    pub fn reply(&self) -> Reply {
        match self {
            SendFailure::ClientMail(reason) => Reply::new(
                554,
                (5, 6, 0),
                format!("Client-Mail not acceptable: {reason}"),
            ),
            SendFailure::AlreadyKas => Reply::new(
                451,
                (4, 3, 0),
                "Client-Mail already contains a KAS reference (x-kas)",
            ),
            SendFailure::KasUnavailable(_) => Reply::new(
                451,
                (4, 3, 0),
                "Message too large without the KIM Attachment Service",
            ),
            SendFailure::Kas(reply) => reply.clone(),
            SendFailure::Spool(_) => Reply::new(451, (4, 3, 0), "Local error in processing: spool"),
            SendFailure::Sender { address, reason } => Reply::new(
                553,
                (5, 7, 1),
                format!("Sender {address} cannot send KIM messages: {reason}"),
            ),
            SendFailure::Directory(_) => {
                Reply::new(451, (4, 4, 3), "Directory service not available")
            }
            SendFailure::NoRecipient(addresses) => Reply::new(
                451,
                (4, 7, 5),
                format!(
                    "Die Nachricht konnte nicht verschlüsselt werden, weil Verschlüsselungszertifikate für {addresses} nicht zugänglich sind"
                ),
            ),
            SendFailure::Sign(_) => Reply::new(451, (4, 7, 0), "Signing at the Konnektor failed"),
            SendFailure::Encrypt(_) => {
                Reply::new(451, (4, 7, 0), "Encryption at the Konnektor failed")
            }
            SendFailure::Compose(_) => {
                Reply::new(451, (4, 3, 0), "Building the KOM-LE message failed")
            }
            SendFailure::Mta(_) => Reply::new(451, (4, 4, 2), "Connection to the MTA failed"),
            SendFailure::NoSession => Reply::new(
                421,
                (4, 4, 2),
                "Connection to the MTA lost, closing connection",
            ),
        }
    }
}
