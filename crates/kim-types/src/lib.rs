//! KIM vocabulary types (see ARCHITECTURE.md).
