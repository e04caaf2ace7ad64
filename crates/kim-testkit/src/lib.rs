//! Test kit (see ARCHITECTURE.md).
