use std::io::{self, Read};

pub struct Conn<R: Read> {
    inner: R,
}

impl<R: Read> Conn<R> {
    pub fn new(inner: R) -> Self {
        Conn { inner }
    }
}
