//! Integration tests: the public API of `kim-types` as a Clientmodul or Fachdienst uses it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod address;
mod user_name;
mod vocabulary;
