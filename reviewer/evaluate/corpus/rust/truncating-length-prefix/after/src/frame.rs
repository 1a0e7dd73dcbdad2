use std::io::{self, Write};

/// Frames are a 2-byte big-endian length followed by the payload.
pub const MAX_FRAME: usize = 64 * 1024;

pub fn write_frame<W: Write>(out: &mut W, payload: &[u8]) -> io::Result<()> {
    let len = payload.len() as u16;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(payload)
}
