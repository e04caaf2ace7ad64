//! The `kim` command.
fn main() {}
