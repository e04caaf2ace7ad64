//! Fuzzes the server session engine: the input is everything a client sends, against an
//! in-memory maildrop of three messages. The session must end without panicking, and
//! deletions may only be committed after a QUIT.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run session` in `crates/kim-pop3`; useful seeds are
//! the `C:` lines of `tests/it/dialogs/*.dialog`.
#![no_main]

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};

use kim_pop3::{
    AuthError, Maildrop, MaildropError, MessageInfo, Pop3Backend, ServerConfig, SessionInfo,
};
use libfuzzer_sys::fuzz_target;

const MESSAGES: [&[u8]; 3] = [
    b"Subject: a\r\n\r\n.dot\r\n..\r\n.\r\nend",
    b"Subject: b\n\nbare lf\n",
    b"",
];

struct Backend;

struct Drop3<'a> {
    infos: Vec<MessageInfo>,
    committed: &'a AtomicBool,
}

impl Pop3Backend for Backend {
    type Maildrop = Drop3<'static>;

    async fn authenticate(
        &self,
        _: &SessionInfo,
        user: &str,
        pw: &str,
    ) -> Result<Drop3<'static>, AuthError> {
        match (user, pw) {
            ("u", "p") => Ok(Drop3 {
                infos: MESSAGES
                    .iter()
                    .enumerate()
                    .map(|(i, m)| MessageInfo {
                        uid: format!("uid{i}"),
                        size: m.len() as u64,
                    })
                    .collect(),
                committed: &COMMITTED,
            }),
            ("busy", _) => Err(AuthError::InUse),
            _ => Err(AuthError::Invalid),
        }
    }
}

static COMMITTED: AtomicBool = AtomicBool::new(false);

impl Maildrop for Drop3<'static> {
    type Reader = Cursor<&'static [u8]>;

    fn messages(&self) -> &[MessageInfo] {
        &self.infos
    }

    async fn open(&mut self, index: usize) -> Result<Self::Reader, MaildropError> {
        MESSAGES
            .get(index)
            .map(|m| Cursor::new(*m))
            .ok_or_else(|| MaildropError::Storage("index".into()))
    }

    async fn commit(self, deleted: Vec<usize>) -> Result<(), MaildropError> {
        assert!(deleted.iter().all(|&i| i < MESSAGES.len()));
        self.committed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
}

fuzz_target!(|data: &[u8]| {
    COMMITTED.store(false, Ordering::SeqCst);
    let backend = Backend;
    let stream = tokio::io::join(Cursor::new(data.to_vec()), tokio::io::sink());
    let info = SessionInfo {
        peer: ([127, 0, 0, 1], 1).into(),
        tls: false,
        client_cert: None,
    };
    let cfg = ServerConfig {
        max_line: 64,
        ..ServerConfig::default()
    };
    RUNTIME.with(|rt| {
        let _ = rt.block_on(kim_pop3::serve(stream, info, &cfg, &backend));
    });
    if COMMITTED.load(Ordering::SeqCst) {
        let upper = data.to_ascii_uppercase();
        assert!(
            upper.windows(4).any(|w| w == b"QUIT"),
            "commit without QUIT"
        );
    }
});
