/// A time series of samples, oldest first.
pub struct Series {
    samples: Vec<f64>,
}

impl Series {
    pub fn new() -> Self {
        Series { samples: Vec::new() }
    }

    pub fn push(&mut self, value: f64) {
        self.samples.push(value);
    }

    /// The most recent sample.
    pub fn latest(&self) -> f64 {
        let last = self.samples.len() - 1;
        self.samples[last]
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}
