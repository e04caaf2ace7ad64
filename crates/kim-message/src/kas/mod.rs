//! The KIM-Attachment (KAS) format.
