use axum::routing::get;
use axum::Router;

use crate::handlers::{health, list_items};

pub fn app() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/items", get(list_items))
}
