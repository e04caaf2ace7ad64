//! Running the real peers tests drive (Python's standard library and packages).

/// Runs `python3 -c program` and returns its stdout.
///
/// # Panics
/// If python3 cannot be started or the program fails; the message carries stdout and
/// stderr. Blocking: async tests call it through `spawn_blocking`.
#[allow(clippy::panic, reason = "a test helper: failing is its way to report")]
pub fn python(program: &str) -> String {
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap_or_else(|e| panic!("python3 does not run ({e}); apt-get install -y python3"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        panic!(
            "python failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    stdout
}
