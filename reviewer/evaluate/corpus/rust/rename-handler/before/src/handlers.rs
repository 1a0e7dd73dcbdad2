use axum::Json;

pub async fn health() -> &'static str {
    "ok"
}

pub async fn list_items() -> Json<Vec<String>> {
    Json(vec![])
}
