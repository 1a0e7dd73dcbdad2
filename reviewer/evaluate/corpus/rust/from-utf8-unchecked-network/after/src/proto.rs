use std::io::{self, Read};

pub struct Conn<R: Read> {
    inner: R,
}

impl<R: Read> Conn<R> {
    pub fn new(inner: R) -> Self {
        Conn { inner }
    }

    /// Reads the greeting the client sends first (a line of text, at most 256 bytes).
    pub fn greeting(&mut self) -> io::Result<String> {
        let mut buf = vec![0u8; 256];
        let n = self.inner.read(&mut buf)?;
        buf.truncate(n);
        Ok(unsafe { String::from_utf8_unchecked(buf) })
    }
}
