//! Integration tests of kim-message.

mod mime;
