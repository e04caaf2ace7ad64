//! Reading secrets: from the terminal without echo, or a line from stdin when stdin is not
//! a terminal (scripts and tests). Never from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// Reads one secret line; `what` names it in the prompt.
pub fn read_secret(what: &str) -> anyhow::Result<Zeroizing<String>> {
    read_line(what, false)
}

/// Reads one non-secret line (a user name), echoed on a terminal.
pub fn read_visible(what: &str) -> anyhow::Result<String> {
    Ok(read_line(what, true)?.to_string())
}

fn read_line(what: &str, echo: bool) -> anyhow::Result<Zeroizing<String>> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("{what}: ");
        let _ = std::io::stderr().flush();
        if !echo {
            set_echo(false);
        }
    }
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    if tty && !echo {
        set_echo(true);
        eprintln!();
    }
    let n = read.with_context(|| format!("reading the {what}"))?;
    if n == 0 {
        bail!("no {what} given (expected a line on stdin)");
    }
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        bail!("the {what} is empty");
    }
    Ok(trimmed)
}

/// Switches terminal echo with `stty` on the controlling terminal.
fn set_echo(on: bool) {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return;
    };
    let _ = Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(tty)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Refuses a secret given as an argument value (`-p geheim`, `--password=geheim`).
pub fn refuse_argument(option: &str, value: Option<&String>) -> anyhow::Result<()> {
    if value.is_some_and(|v| !v.is_empty()) {
        bail!(
            "{option} takes no value: secrets are never accepted on the command line \
             (they would end up in the shell history); give the flag alone and type the \
             secret at the prompt or pipe it to stdin"
        );
    }
    Ok(())
}
