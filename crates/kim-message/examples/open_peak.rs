//! Throughput and peak memory of `open` on one core.
//!
//! Seals one Client-Mail of the given size (MiB, fractions allowed) in memory, then opens the
//! received KOM-LE message `N` times on this thread and prints:
//!
//! - the size of the received message and the open throughput (MB/s = 10^6 bytes per second
//!   of received message; best and mean wall time over the runs, and per second of this
//!   thread's CPU time, which other load on the machine inflates less);
//! - VmRSS/VmHWM from `/proc/self/status` after setup, after sealing and after opening. The
//!   high-water mark is reset before opening (`/proc/self/clear_refs`, value 5) so the RSS
//!   growth of the open step is visible on its own; if the reset is refused that is printed.
//!
//! ```text
//! cargo run --release -p kim-message --example open_peak -- 15 [N] [--alg rsa|ecc] [--seal-only]
//! ```
//!
//! Run it with `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072`: a fixed threshold keeps
//! glibc from raising it after the first large free, so every large buffer is its own mapping
//! and freed memory leaves the RSS at once (otherwise memory freed by seal is reused by open
//! without showing up as growth).
//!
//! `--seal-only` stops right after sealing: `/usr/bin/time -v` of that run against a full run
//! separates the open step's share of "Maximum resident set size".
//! The last line (`RESULT key=value ...`) is for scripts.

use std::time::{Duration, Instant};

mod support;

use support::BoxError;

struct Args {
    mib: f64,
    runs: usize,
    alg: String,
    seal_only: bool,
}

fn args() -> Result<Args, BoxError> {
    let mut a = Args {
        mib: 15.0,
        runs: 10,
        alg: "rsa".into(),
        seal_only: false,
    };
    let mut positional = 0;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seal-only" => a.seal_only = true,
            "--alg" => a.alg = it.next().ok_or("--alg needs a value")?,
            "-h" | "--help" => {
                println!("usage: open_peak [SIZE_MIB=15] [RUNS=10] [--alg rsa|ecc] [--seal-only]");
                std::process::exit(0);
            }
            _ if positional == 0 => {
                a.mib = arg.parse()?;
                positional += 1;
            }
            _ if positional == 1 => {
                a.runs = arg.parse()?;
                positional += 1;
            }
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    if a.runs == 0 || a.mib.is_nan() || a.mib <= 0.0 {
        return Err("size and runs must be positive".into());
    }
    Ok(a)
}

/// `VmRSS` and `VmHWM` in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system) of this thread in clock ticks (1/100 s on Linux), from
/// `/proc/thread-self/stat`: unlike wall time it does not grow when other processes share
/// the core.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn mib(bytes: impl Into<f64>) -> String {
    format!("{:.1} MiB", bytes.into() / 1_048_576.0)
}

fn print_rss(stage: &str) -> (u64, u64) {
    let (now, hwm) = rss();
    println!(
        "{stage:<28} VmRSS {:>10}  VmHWM {:>10}",
        mib(now as f64),
        mib(hwm as f64)
    );
    (now, hwm)
}

fn main() -> Result<(), BoxError> {
    let a = args()?;
    let alg = support::algorithm(&a.alg)?;
    let parties = support::parties(alg)?;
    let size = (a.mib * 1_048_576.0) as usize;
    print_rss("after setup (PKI, keys)");

    let started = Instant::now();
    let message = {
        let client_mail = support::client_mail(size);
        println!("client mail                  {} bytes", client_mail.len());
        support::seal(&parties, &client_mail)?
    };
    let seal_time = started.elapsed();
    println!(
        "received KOM-LE message      {} bytes, sealed in {:.1} ms ({} keys)",
        message.len(),
        seal_time.as_secs_f64() * 1e3,
        a.alg
    );
    let (_, hwm_seal) = print_rss("after seal");
    if a.seal_only {
        println!(
            "RESULT mode=seal-only message_bytes={} seal_ms={:.1} hwm_bytes={hwm_seal}",
            message.len(),
            seal_time.as_secs_f64() * 1e3
        );
        return Ok(());
    }

    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (rss_before, _) = print_rss(if reset {
        "before open (HWM reset)"
    } else {
        "before open (HWM NOT reset)"
    });

    let cpu_before = cpu_ticks();
    let mut times = Vec::with_capacity(a.runs);
    let mut delivered_len = 0;
    for _ in 0..a.runs {
        let t = Instant::now();
        let delivered = support::open(&parties, &message)?;
        times.push(t.elapsed());
        delivered_len = delivered.len();
    }
    let cpu = cpu_before
        .zip(cpu_ticks())
        .map(|(b, e)| e.saturating_sub(b) as f64 / 100.0);
    let (_, hwm_open) = print_rss("after open");

    let best = times.iter().min().copied().unwrap_or_default();
    let mean = times.iter().sum::<Duration>() / u32::try_from(a.runs)?;
    let mbs = |d: Duration| message.len() as f64 / d.as_secs_f64() / 1e6;
    let n = message.len() as f64;
    let rss_extra = hwm_open.saturating_sub(rss_before);
    println!("delivered message            {delivered_len} bytes");
    let cpu_mbs = cpu
        .filter(|&c| c > 0.0)
        .map(|c| message.len() as f64 * a.runs as f64 / c / 1e6);
    if let (Some(c), Some(m)) = (cpu, cpu_mbs) {
        println!(
            "open CPU time                {:.2} s for {} runs = {m:.0} MB/s per CPU second",
            c, a.runs
        );
    }
    println!(
        "open x{}                      best {:.1} ms = {:.0} MB/s, mean {:.1} ms = {:.0} MB/s",
        a.runs,
        best.as_secs_f64() * 1e3,
        mbs(best),
        mean.as_secs_f64() * 1e3,
        mbs(mean)
    );
    if reset {
        println!(
            "open peak RSS growth         {} = {:.2} x message ({:.2} x with the input)",
            mib(rss_extra as f64),
            rss_extra as f64 / n,
            (rss_extra as f64 + n) / n
        );
    } else {
        println!("open peak RSS growth         unknown: VmHWM could not be reset");
    }
    println!(
        "RESULT mode=open alg={} message_bytes={} runs={} best_ms={:.2} mean_ms={:.2} \
         best_mbs={:.0} mean_mbs={:.0} hwm_bytes={hwm_open} rss_before_open_bytes={rss_before} \
         rss_growth_bytes={} rss_growth_ratio={} cpu_mbs={}",
        a.alg,
        message.len(),
        a.runs,
        best.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        mbs(best),
        mbs(mean),
        if reset {
            rss_extra.to_string()
        } else {
            "na".into()
        },
        if reset {
            format!("{:.2}", rss_extra as f64 / n)
        } else {
            "na".into()
        },
        cpu_mbs.map_or("na".into(), |m| format!("{m:.0}")),
    );
    Ok(())
}
