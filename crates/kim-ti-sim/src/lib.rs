//! A software Konnektor: the gematik Konnektor SOAP services a KIM Clientmodul uses, served
//! over HTTPS, backed by software SMC-B/HBA cards from the test PKI.
//!
//! Main types: [`config::SimConfig`] (validated TOML configuration, or
//! [`config::SimConfig::from_test_pki`]), [`model::InfoModel`] (mandants, client systems,
//! workplaces, terminals; context checks), [`cards::CardStore`] (insertion cycles, card
//! handles, PIN state machines, private-key operations), [`ops`] and [`crypto`] (the
//! operations on [`ops::Konnektor`], independent of XML), [`soap`] (mapping onto the
//! kim-konnektor request/response types, connector.sds), [`knobs::Knobs`] (fault injection),
//! [`server::KonnektorSim`] / [`server::RunningSim`] (the HTTPS server), [`admin`] (JSON
//! admin API on the same server, loopback only), [`pool`] (threads for CPU work).
//!
//! Invariants: card private keys never leave [`cards`] and never appear in `Debug` output,
//! logs or responses; every failure reaches the client as a SOAP fault whose last
//! `GERROR:Trace` carries the gematik code ([`fault::Fault`]); no input panics the server.

pub mod admin;
pub mod cards;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod defaults;
pub mod fault;
pub mod knobs;
pub mod model;
pub mod ops;
pub mod server;
pub mod soap;

pub use config::SimConfig;
pub use server::{KonnektorSim, RunningSim, SimError};
pub mod pool;
