//! The blocks list: every name blocked in the desk's TLDs, the nearest end date first, with
//! the names that lift soon marked.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use holdfast_service::LIFTING_SOON;

use super::format::{countdown, time};
use super::{Chrome, Session, error_page, render};
use crate::AppState;

/// Blocks listed (the nearest end dates).
const BLOCKS_SHOWN: i64 = 1000;

/// One blocked name.
pub struct BlockRow {
    pub name: String,
    pub ends: String,
    pub countdown: String,
    pub soon: bool,
    pub reason: String,
    pub requested_by: String,
    pub since: String,
    pub action: Option<i64>,
}

#[derive(Template)]
#[template(path = "blocks.html")]
struct BlocksPage {
    chrome: Chrome,
    total: i64,
    lifting_soon: i64,
    soon_days: i64,
    blocks: Vec<BlockRow>,
}

/// `GET /desk/blocks`.
pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    let now = state.clock.now();
    let listed = match state
        .service
        .blocks(&session.actor, now, BLOCKS_SHOWN)
        .await
    {
        Ok(listed) => listed,
        Err(error) => return error_page(&session, &error),
    };
    let soon = now.saturating_add(LIFTING_SOON).unwrap_or(now);
    let page = BlocksPage {
        chrome: Chrome::new(&session, "Blocks", "/desk/blocks"),
        total: listed.total,
        lifting_soon: listed.lifting_soon,
        soon_days: LIFTING_SOON.as_hours() / 24,
        blocks: listed
            .first
            .into_iter()
            .map(|block| BlockRow {
                ends: time(block.ends_at),
                countdown: countdown(block.ends_at, now),
                soon: block.ends_at <= soon,
                name: block.name,
                reason: block.reason,
                requested_by: block.requested_by,
                since: time(block.starts_at),
                action: block.action_id,
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}
