//! The `kim` command: message tools, the test PKI and the local KIM sandbox.
//!
//! Exit codes (scripts rely on them): 0 success (for `message open`: delivered with a
//! positive integrity result 01 or 07), 1 a negative finding (`message open`: delivered
//! with a negative integrity result, or the spec's error mail), 2 usage or I/O error.

mod account;
mod clientmodul;
mod fachdienst;
mod message;
mod pki;
mod sandbox;
mod ti;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "kim",
    version,
    about = "KIM (KOM-LE) tools and the local KIM sandbox"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// KIM account administration at the Account Manager (register, show, set,
    /// out-of-office, otp, set-tid, cert, deregister, revoke-deregistration), authenticated
    /// by a card in the Konnektor.
    Account(account::AccountArgs),
    /// The Clientmodul (practice side): daemon, configuration check, keytool, doctor.
    #[command(subcommand)]
    Clientmodul(clientmodul::ClientmodulCommand),
    /// The Fachdienst (KIM provider) daemon and its administration commands.
    #[command(subcommand)]
    Fachdienst(fachdienst::FachdienstCommand),
    /// KOM-LE message tools: inspect, seal and open messages with software keys.
    #[command(subcommand)]
    Message(message::MessageCommand),
    /// The TI-like test PKI.
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// Runs the whole KIM system on this machine (Konnektor, VZD, Fachdienst, Clientmodul):
    /// sends a sample Arztbrief from one practice to another and prints the delivered
    /// message with its Vermerke, or with `--serve` keeps it running for practice software.
    Sandbox(sandbox::SandboxArgs),
    /// The simulated Telematikinfrastruktur: software Konnektor and VZD.
    #[command(subcommand)]
    Ti(ti::TiCommand),
}

/// How a command ended; mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything as expected.
    Success,
    /// A negative finding (integrity failure, error mail).
    Negative,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Account(args) => account::run(args),
        Command::Clientmodul(cmd) => clientmodul::run(cmd),
        Command::Fachdienst(cmd) => fachdienst::run(cmd),
        Command::Message(cmd) => message::run(cmd),
        Command::Pki(cmd) => pki::run(cmd),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Ti(cmd) => ti::run(cmd),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Negative) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kim: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
