//! The Clientmodul's receive side (gemSpec_CM_KOMLE 3.4.x; kim-spec §4).

pub mod kas;
