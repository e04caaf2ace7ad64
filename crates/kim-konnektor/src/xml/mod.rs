//! XML support: namespace constants (konnektor.md §1), a hardened namespace-aware reader
//! building an element tree ([`tree`]), strict schema-order access with path-naming errors
//! ([`read`]) and an escaping writer ([`mod@write`]).

pub mod ns;
pub mod read;
pub mod tree;
pub mod write;

pub use read::{Node, SchemaError, SchemaProblem};
pub use tree::{Element, XmlError, parse};
pub use write::XmlWriter;
