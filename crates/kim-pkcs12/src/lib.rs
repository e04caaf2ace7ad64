//! PKCS#12 key stores (see ARCHITECTURE.md).
