//! A fixed pool of threads for the CPU work of requests (XML parsing, base64, CMS).
//!
//! Why not `tokio::task::spawn_blocking`: its pool grows to many short-lived threads, and
//! with glibc every thread that allocates a multi-megabyte document buffer may get its own
//! malloc arena that keeps the freed memory. A few long-lived threads reuse their arenas,
//! which keeps the simulator's peak memory near the documents in flight.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool; cloning shares it.
#[derive(Debug, Clone)]
pub struct CpuPool {
    sender: mpsc::Sender<Job>,
}

/// The job's thread died before answering (it panicked).
#[derive(Debug, thiserror::Error)]
#[error("worker thread failed")]
pub struct JobFailed;

impl CpuPool {
    /// Starts `threads` workers (at least one).
    pub fn new(threads: usize) -> std::io::Result<CpuPool> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("konnektor-cpu-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard = receiver
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            guard.recv()
                        };
                        match job {
                            // A panicking job must not take the worker with it.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(CpuPool { sender })
    }

    /// Runs `f` on a pool thread and awaits its result.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JobFailed> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.sender.send(job).map_err(|_| JobFailed)?;
        rx.await.map_err(|_| JobFailed)
    }
}
