//! CMS structures of the KOM-LE profile.
