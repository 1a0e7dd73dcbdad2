use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::upstream::Client;

#[derive(Clone)]
pub struct ProfileCache {
    entries: Arc<Mutex<HashMap<u64, String>>>,
    client: Client,
}
