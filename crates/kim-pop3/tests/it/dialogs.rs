//! Golden protocol dialogs: every `*.dialog` file in `tests/it/dialogs/` is a `C:`/`S:`
//! trace run against a plain-TCP server with the fixture mailbox. Consecutive `C:` lines are
//! sent in one write (pipelining). `UPDATE_EXPECT=1` rewrites the `S:` lines from what the
//! server answers.

use std::path::{Path, PathBuf};

use kim_pop3::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Mode, Server, WAIT};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/dialogs");

/// Commands whose `+OK` answer is followed by lines up to a `.` line.
fn is_multi_line(command: &str) -> bool {
    let mut words = command.split_whitespace();
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    let has_arg = words.next().is_some();
    match keyword.as_str() {
        "CAPA" | "RETR" | "TOP" => true,
        "LIST" | "UIDL" | "AUTH" => !has_arg,
        _ => false,
    }
}

struct Reader {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Reader {
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                return Some(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(WAIT, self.tcp.read(&mut chunk))
                .await
                .unwrap()
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The answer to one command: a status line, and the listing if it is multi-line.
    async fn answer(&mut self, command: &str, out: &mut Vec<String>) {
        let Some(status) = self.line().await else {
            out.push("<closed>".into());
            return;
        };
        let multi = status.starts_with("+OK") && is_multi_line(command);
        out.push(status);
        if multi {
            while let Some(line) = self.line().await {
                let end = line == ".";
                out.push(line);
                if end {
                    break;
                }
            }
        }
    }
}

/// Runs one dialog; returns the file with the `S:` lines the server produced.
async fn run_dialog(path: &Path) -> (String, String) {
    let expected = std::fs::read_to_string(path).unwrap();
    let server = Server::start(Mode::Plain, ServerConfig::default()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut reader = Reader {
        tcp,
        buf: Vec::new(),
    };
    let mut actual = String::new();
    let mut greeting = Vec::new();
    reader.answer("", &mut greeting).await;
    let mut pending: Vec<String> = Vec::new();
    let lines: Vec<&str> = expected.lines().collect();
    let mut i = 0;
    let mut wrote_greeting = false;
    while i < lines.len() {
        let line = lines[i];
        if let Some(command) = line.strip_prefix("C: ") {
            pending.push(command.to_owned());
            actual.push_str(line);
            actual.push('\n');
        } else if line.starts_with("S:") {
            if !wrote_greeting && pending.is_empty() {
                for g in &greeting {
                    actual.push_str(&format!("S: {g}\n"));
                }
                wrote_greeting = true;
            }
            // Skip the old S: block; answer the pending commands.
            while i + 1 < lines.len() && lines[i + 1].starts_with("S:") {
                i += 1;
            }
            let payload: String = pending.iter().map(|c| format!("{c}\r\n")).collect();
            // A server that closed the connection shows up as "<closed>" answers.
            let _ = reader.tcp.write_all(payload.as_bytes()).await;
            let mut answers = Vec::new();
            for command in pending.drain(..) {
                reader.answer(&command, &mut answers).await;
            }
            for a in answers {
                actual.push_str(&format!("S: {a}\n"));
            }
        } else {
            actual.push_str(line);
            actual.push('\n');
        }
        i += 1;
    }
    (expected, actual)
}

fn dialog_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dialog"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_dialogs() {
    let files = dialog_files();
    assert!(files.len() >= 6, "dialog files found: {files:?}");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for path in files {
        let (expected, actual) = run_dialog(&path).await;
        if update {
            std::fs::write(&path, &actual).unwrap();
        } else {
            assert_eq!(actual, expected, "dialog {}", path.display());
        }
    }
}
