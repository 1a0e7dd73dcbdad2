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
}
