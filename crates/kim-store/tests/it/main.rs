//! Integration tests of kim-store on a real SQLite file and a real blob directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod accounts;
mod blobs;
mod mail;
mod portal;
