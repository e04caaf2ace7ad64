//! Notification mails to the practice's public (recovery) address: composed as UTF-8 plain
//! text (base64 body, RFC 2047 subject) and handed to an SMTP relay (plain, STARTTLS or
//! implicit TLS) with kim-smtp's client, or written as `.eml` files into a directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kim_smtp::client::{ClientError, SmtpClient};
use kim_smtp::{MailFrom, RcptTo};
use kim_tls::tokio_rustls::TlsConnector;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No TLS (a relay on the same host).
    Plain,
    /// Plain connection upgraded with STARTTLS (RFC 3207); refused if the relay declines.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where mails go.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP relay.
    Smtp {
        /// Host name or IP address.
        host: String,
        /// Port.
        port: u16,
        /// Connection protection.
        security: Security,
        /// TLS client configuration for [`Security::StartTls`] and [`Security::Tls`].
        tls: Option<Arc<rustls::ClientConfig>>,
        /// Bound of every wait on the relay.
        timeout: Duration,
    },
    /// One `.eml` file per mail in this directory (test systems without a relay).
    Directory(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp {
                host,
                port,
                security,
                ..
            } => write!(f, "smtp {host}:{port} ({security:?})"),
            Transport::Directory(dir) => write!(f, "directory {}", dir.display()),
        }
    }
}

/// Sends the portal's mails.
#[derive(Debug, Clone)]
pub struct Mailer {
    /// Where mails go.
    pub transport: Transport,
    /// `From` and envelope sender.
    pub sender: String,
    /// EHLO name and Message-ID domain.
    pub hostname: String,
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Connecting to the relay failed.
    #[error("cannot connect to the mail relay {target}: {source}")]
    Connect {
        /// `host:port`.
        target: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The relay refused or the session failed.
    #[error("mail relay {target}: {source}")]
    Smtp {
        /// `host:port`.
        target: String,
        /// The cause.
        source: ClientError,
    },
    /// The relay did not accept the message for the recipient.
    #[error("mail relay {target} refused the message: {reply}")]
    Refused {
        /// `host:port`.
        target: String,
        /// The relay's reply.
        reply: String,
    },
    /// TLS setup failed.
    #[error("TLS to the mail relay: {0}")]
    Tls(String),
    /// Writing the mail file failed.
    #[error("writing the mail file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The recipient address cannot be used in a mail header.
    #[error("unusable recipient address")]
    Recipient,
}

/// One composed mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipient.
    pub to: String,
    /// The subject (UTF-8).
    pub subject: String,
    /// The text (UTF-8, `\n` line ends).
    pub body: String,
}

impl Mailer {
    /// Sends `mail` at time `now` (Unix seconds, for the `Date` header).
    ///
    /// # Errors
    /// [`MailError`] naming what failed; nothing is retried.
    pub async fn send(&self, mail: &Mail, now: i64) -> Result<(), MailError> {
        if mail
            .to
            .chars()
            .any(|c| c.is_control() || c == '<' || c == '>')
        {
            return Err(MailError::Recipient);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let message = compose(self, mail, now, &id);
        match &self.transport {
            Transport::Directory(dir) => {
                let path = dir.join(format!("{now}-{id}.eml"));
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|source| MailError::File {
                        path: dir.clone(),
                        source,
                    })?;
                tokio::fs::write(&path, &message)
                    .await
                    .map_err(|source| MailError::File { path, source })
            }
            Transport::Smtp {
                host,
                port,
                security,
                tls,
                timeout,
            } => {
                let target = format!("{host}:{port}");
                let tcp =
                    tokio::time::timeout(*timeout, TcpStream::connect((host.as_str(), *port)))
                        .await
                        .unwrap_or_else(|_| {
                            Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "connect timed out",
                            ))
                        })
                        .map_err(|source| MailError::Connect {
                            target: target.clone(),
                            source,
                        })?;
                let smtp = |source| MailError::Smtp {
                    target: target.clone(),
                    source,
                };
                match security {
                    Security::Plain => {
                        let (client, _) = SmtpClient::connect(tcp, *timeout).await.map_err(smtp)?;
                        self.transaction(client, mail, &message, &target).await
                    }
                    Security::Tls => {
                        let (client, _) = SmtpClient::connect(
                            self.tls(tls, host, tcp, *timeout).await?,
                            *timeout,
                        )
                        .await
                        .map_err(smtp)?;
                        self.transaction(client, mail, &message, &target).await
                    }
                    Security::StartTls => {
                        let (mut client, _) =
                            SmtpClient::connect(tcp, *timeout).await.map_err(smtp)?;
                        client.ehlo(&self.hostname).await.map_err(smtp)?;
                        let tcp = client.starttls().await.map_err(smtp)?;
                        let stream = self.tls(tls, host, tcp, *timeout).await?;
                        let client = SmtpClient::resume(stream, *timeout);
                        self.transaction(client, mail, &message, &target).await
                    }
                }
            }
        }
    }

    async fn tls(
        &self,
        tls: &Option<Arc<rustls::ClientConfig>>,
        host: &str,
        tcp: TcpStream,
        timeout: Duration,
    ) -> Result<kim_tls::tokio_rustls::client::TlsStream<TcpStream>, MailError> {
        let config = tls
            .clone()
            .ok_or_else(|| MailError::Tls("no TLS client configuration".into()))?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| MailError::Tls(format!("{host:?} is not a valid server name")))?;
        tokio::time::timeout(timeout, TlsConnector::from(config).connect(name, tcp))
            .await
            .map_err(|_| MailError::Tls("handshake timed out".into()))?
            .map_err(|e| MailError::Tls(e.to_string()))
    }

    async fn transaction<S: AsyncRead + AsyncWrite + Unpin + Send>(
        &self,
        mut client: SmtpClient<S>,
        mail: &Mail,
        message: &[u8],
        target: &str,
    ) -> Result<(), MailError> {
        let smtp = |source| MailError::Smtp {
            target: target.to_owned(),
            source,
        };
        client.ehlo(&self.hostname).await.map_err(smtp)?;
        let from = MailFrom {
            address: self.sender.clone(),
            ..MailFrom::default()
        };
        let outcome = client
            .send(&from, &[RcptTo::new(mail.to.clone())], message)
            .await
            .map_err(smtp)?;
        match outcome.recipient(0) {
            Some(Ok(_)) => {
                let _ = client.quit().await;
                Ok(())
            }
            Some(Err(reply)) => Err(MailError::Refused {
                target: target.to_owned(),
                reply: reply.to_string(),
            }),
            None => Err(MailError::Refused {
                target: target.to_owned(),
                reply: "no reply".into(),
            }),
        }
    }
}

/// The RFC 5322 message: UTF-8 text, base64 body, CRLF.
fn compose(mailer: &Mailer, mail: &Mail, now: i64, id: &str) -> Vec<u8> {
    let date = time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    let body = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let encoded = STANDARD.encode(body.as_bytes());
    let mut out = String::new();
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("From: <{}>\r\n", mailer.sender));
    out.push_str(&format!("To: <{}>\r\n", mail.to));
    out.push_str(&format!("Subject: {}\r\n", encode_word(&mail.subject)));
    out.push_str(&format!("Message-ID: <{id}@{}>\r\n", mailer.hostname));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    out.push_str("Content-Transfer-Encoding: base64\r\n");
    out.push_str("Auto-Submitted: auto-generated\r\n\r\n");
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// RFC 2047 encoded word (`B` encoding) for non-ASCII text; ASCII stays as it is.
fn encode_word(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.is_ascii() {
        return text;
    }
    // Encoded words are at most 75 characters: split the text into chunks of whole
    // characters of at most 45 bytes (60 base64 characters).
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", STANDARD.encode(w.as_bytes())))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_encoded_words_when_not_ascii() {
        assert_eq!(encode_word("Hello"), "Hello");
        let encoded = encode_word("Bestätigung der Entsperrung");
        assert!(encoded.starts_with("=?UTF-8?B?"), "{encoded}");
        assert!(!encoded.contains('ä'));
    }

    #[test]
    fn messages_are_crlf_with_a_base64_body() {
        let mailer = Mailer {
            transport: Transport::Directory(PathBuf::from("/nonexistent")),
            sender: "portal@fd.example".into(),
            hostname: "fd.example".into(),
        };
        let mail = Mail {
            to: "praxis@example.de".into(),
            subject: "Grüße".into(),
            body: "Zeile 1\nZeile 2".into(),
        };
        let text = String::from_utf8(compose(&mailer, &mail, 0, "x")).unwrap_or_default();
        assert!(text.contains("To: <praxis@example.de>\r\n"));
        assert!(
            text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"),
            "{text}"
        );
        assert!(text.contains(&STANDARD.encode("Zeile 1\r\nZeile 2")));
    }
}
