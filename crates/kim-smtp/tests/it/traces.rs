//! Golden dialog traces: `tests/data/dialogs/*.trace` hold `C:` lines (sent, CRLF added;
//! consecutive ones are pipelined in one write) and `S:` lines (expected reply lines in
//! order). A first line `# config: key=value …` adjusts the server. Run with
//! `UPDATE_EXPECT=1` to rewrite the `S:` lines from what the server says now (each `S:`
//! block keeps its number of replies).

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::harness::{PATIENCE, TestServer, config};
use kim_smtp::server::ServerConfig;

fn trace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dialogs")
}

fn config_from(header: &str) -> ServerConfig {
    let mut cfg = config();
    let Some(settings) = header.strip_prefix("# config:") else {
        return cfg;
    };
    for setting in settings.split_whitespace() {
        let (key, value) = setting.split_once('=').expect("key=value");
        match key {
            "max_message_size" => cfg.max_message_size = value.parse().unwrap(),
            "max_recipients" => cfg.max_recipients = value.parse().unwrap(),
            "max_errors" => cfg.max_errors = value.parse().unwrap(),
            "require_auth" => cfg.require_auth = value.parse().unwrap(),
            "dsn" => cfg.dsn = value.parse().unwrap(),
            other => panic!("unknown config key {other}"),
        }
    }
    cfg
}

/// Reads one reply line (without CRLF).
async fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    let count = tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .expect("reply in time")
        .unwrap();
    assert!(count > 0, "connection closed while a reply was expected");
    line.trim_end_matches("\r\n").to_string()
}

/// Plays one trace; returns the trace as observed (for UPDATE_EXPECT).
async fn play(path: &Path) -> (String, String) {
    let expected = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = expected.lines().collect();
    let server = TestServer::plain(config_from(lines.first().copied().unwrap_or(""))).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut observed = String::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if let Some(sent) = line.strip_prefix("C: ").or(line.strip_prefix("C:")) {
            let mut batch = format!("{sent}\r\n");
            observed.push_str(&format!("{line}\n"));
            index += 1;
            while let Some(more) = lines.get(index).and_then(|l| l.strip_prefix("C:")) {
                batch.push_str(&format!("{}\r\n", more.strip_prefix(' ').unwrap_or(more)));
                observed.push_str(&format!("{}\n", lines[index]));
                index += 1;
            }
            reader.get_mut().write_all(batch.as_bytes()).await.unwrap();
        } else if line.starts_with("S:") {
            let mut replies = 0;
            while let Some(block) = lines.get(index).filter(|l| l.starts_with("S:")) {
                if block.as_bytes().get(6) != Some(&b'-') {
                    replies += 1;
                }
                index += 1;
            }
            for _ in 0..replies {
                loop {
                    let actual = read_line(&mut reader).await;
                    observed.push_str(&format!("S: {actual}\n"));
                    if actual.as_bytes().get(3) != Some(&b'-') {
                        break;
                    }
                }
            }
        } else {
            observed.push_str(&format!("{line}\n"));
            index += 1;
        }
    }
    (expected, observed)
}

#[tokio::test]
async fn golden_dialogs() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(trace_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "trace"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no traces in {}", trace_dir().display());
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    for path in paths {
        let (expected, observed) = play(&path).await;
        if update {
            std::fs::write(&path, &observed).unwrap();
        } else {
            assert_eq!(observed, expected, "dialog {}", path.display());
        }
    }
}
