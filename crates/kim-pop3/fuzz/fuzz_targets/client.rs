//! Fuzzes the client: the input is everything a server answers. A fixed sequence of
//! commands runs against it; every step must return `Ok` or `Err`, never panic.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run client` in `crates/kim-pop3`.
#![no_main]

use std::io::Cursor;
use std::time::Duration;

use kim_pop3::Pop3Client;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
}

fuzz_target!(|data: &[u8]| {
    let stream = tokio::io::join(Cursor::new(data.to_vec()), tokio::io::sink());
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let Ok(mut client) = Pop3Client::connect(stream, Duration::from_secs(1)).await else {
                return;
            };
            let _ = client.capa().await;
            let _ = client.auth_plain("u", "p", false).await;
            let _ = client.stat().await;
            let _ = client.list().await;
            let _ = client.uidl().await;
            let _ = client.uidl_one(1).await;
            if let Ok(reader) = client.retr(1).await {
                let _ = reader.to_vec().await;
            }
            if let Ok(reader) = client.top(1, 0).await {
                drop(reader);
            }
            let _ = client.noop().await;
            let _ = client.quit().await;
        });
    });
});
