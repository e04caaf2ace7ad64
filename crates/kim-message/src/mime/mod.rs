//! MIME composition and post-processing of KOM-LE messages.
