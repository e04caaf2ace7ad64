//! Writes the Client-Mail the `message` benchmark uses for a size (MiB, fractions allowed)
//! to stdout, so that other tools (`openssl cms`) can be timed on the same input.
//!
//! ```text
//! cargo run --release -p kim-message --example client_mail -- 15 > mail.eml
//! ```

use std::io::Write;

mod support;

fn main() -> Result<(), support::BoxError> {
    let arg = std::env::args()
        .nth(1)
        .ok_or("usage: client_mail SIZE_MIB")?;
    let mib: f64 = arg.parse()?;
    if mib.is_nan() || mib <= 0.0 {
        return Err("the size must be positive".into());
    }
    let mail = support::client_mail((mib * 1_048_576.0) as usize);
    std::io::stdout().lock().write_all(&mail)?;
    Ok(())
}
