use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::upstream::Client;

#[derive(Clone)]
pub struct ProfileCache {
    entries: Arc<Mutex<HashMap<u64, String>>>,
    client: Client,
}

impl ProfileCache {
    pub async fn get(&self, user_id: u64) -> anyhow::Result<String> {
        let mut entries = self.entries.lock().unwrap();
        if let Some(profile) = entries.get(&user_id) {
            return Ok(profile.clone());
        }
        let profile = self.client.fetch_profile(user_id).await?;
        entries.insert(user_id, profile.clone());
        Ok(profile)
    }
}
