use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::db::Db;
use crate::models::Order;

pub async fn list_orders(State(db): State<Db>) -> Result<Json<Vec<Order>>, StatusCode> {
    db.orders().await.map(Json).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}
