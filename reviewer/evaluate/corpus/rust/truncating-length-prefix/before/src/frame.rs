use std::io::{self, Write};

/// Frames are a 2-byte big-endian length followed by the payload.
pub const MAX_FRAME: usize = 64 * 1024;
