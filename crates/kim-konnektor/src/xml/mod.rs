//! XML support: namespace constants (konnektor.md §1), a strict namespace-aware reader and a
//! writer.

pub mod ns;
