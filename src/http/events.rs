//! `GET /api/v1/events`: Server-Sent Events of case changes (`created`,
//! `state_changed`, `updated`, `overdue`) for the web map, as committed by any
//! server on the database. Departments get only their own cases' events.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::auth::Caller;
use super::error::ApiResult;
use crate::domain::workflow::Role;
use crate::store::notices::CaseNotice;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(events))
}

/// Case events as they are committed (Server-Sent Events): `ready`, then
/// `case` events with the case's number, state and department; `resync`
/// when the client fell behind. Departments get their own cases' events.
#[utoipa::path(get, path = "/api/v1/events", tag = "cases",
    responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String)))]
pub(crate) async fn events(
    caller: Caller,
    State(state): State<AppState>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let only = match caller.0.role {
        Role::Department => caller.0.department.clone(),
        _ => None,
    };
    // Subscribed before the response starts: nothing committed after the
    // client sees `ready` is missed.
    let rx = state.notices.subscribe();
    let ready = Event::default().event("ready").data("{}");
    // The stream ends when the server begins to shut down (clients reconnect
    // to another server or after the restart).
    let stopping = state.stopping.clone();
    let stream = futures_util::stream::unfold(
        (Some(ready), rx, only, stopping),
        |(first, mut rx, only, mut stopping)| async move {
            if let Some(ready) = first {
                return Some((Ok(ready), (None, rx, only, stopping)));
            }
            loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = stopping.wait_for(|s| *s) => return None,
                };
                match received {
                    Ok(n) if visible(&n, only.as_deref()) => {
                        let event = Event::default().event(&n.event).data(&n.json);
                        return Some((Ok(event), (None, rx, only, stopping)));
                    }
                    Ok(_) => continue,
                    // Too slow to keep up: tell the client to reload.
                    Err(RecvError::Lagged(_)) => {
                        let event = Event::default().event("resync").data("{}");
                        return Some((Ok(event), (None, rx, only, stopping)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn visible(n: &Arc<CaseNotice>, department: Option<&str>) -> bool {
    match department {
        None => true,
        Some(d) => n.event == "resync" || n.department.as_deref() == Some(d),
    }
}
