use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::db::Db;
use crate::models::Order;

pub async fn list_orders(State(db): State<Db>) -> Result<Json<Vec<Order>>, StatusCode> {
    db.orders().await.map(Json).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

pub async fn get_order(
    State(db): State<Db>,
    Path(id): Path<String>,
) -> Result<Json<Order>, StatusCode> {
    let id: u64 = id.parse().unwrap();
    match db.order(id).await {
        Ok(Some(order)) => Ok(Json(order)),
        Ok(None) => Err(StatusCode::NOT_FOUND),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}
