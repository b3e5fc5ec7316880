//! The domain page: a name's statuses, name servers, DS records, sponsoring registrar, block,
//! and the history of actions that listed it (who decided, why, with what result).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::org::Permission;
use holdfast_service::{Availability, ServiceError};
use serde::Deserialize;

use super::desk::statuses_text;
use super::format::{maybe_time, time};
use super::{Chrome, Notice, Session, error_page, render};
use crate::AppState;

/// One action in a name's history.
pub struct HistoryRow {
    pub action: i64,
    pub kind: String,
    pub state: String,
    pub result: String,
    pub reason: String,
    pub requested_by: String,
    pub decided: String,
    pub case_ref: String,
    pub case_id: Option<i64>,
    pub undone: String,
}

#[derive(Template)]
#[template(path = "domain.html")]
struct DomainPage {
    chrome: Chrome,
    name: String,
    unicode: String,
    availability: String,
    registered: bool,
    statuses: String,
    nameservers: Vec<String>,
    ds: Vec<String>,
    registrar: String,
    created: String,
    expires: String,
    block: Option<String>,
    show_history: bool,
    history: Vec<HistoryRow>,
}

#[derive(Template)]
#[template(path = "domain_lookup.html")]
struct Lookup {
    chrome: Chrome,
    name: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LookupQuery {
    name: String,
}

/// `GET /domains`: the look-up form; with `name`, on to that name's page.
pub async fn lookup(session: Session, Query(query): Query<LookupQuery>) -> Response {
    if !session.actor.role.may(Permission::OperateRegistry) {
        return error_page(&session, &ServiceError::Forbidden);
    }
    let name = query.name.trim();
    if name.is_empty() {
        return render(
            StatusCode::OK,
            &Lookup {
                chrome: Chrome::new(&session, "Domains", "/domains"),
                name: String::new(),
                error: None,
            },
        );
    }
    match holdfast_model::DomainName::parse(name) {
        Ok(parsed) => Redirect::to(&format!("/domains/{}", parsed.as_str())).into_response(),
        Err(error) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Lookup {
                chrome: Chrome::new(&session, "Domains", "/domains"),
                name: name.to_owned(),
                error: Some(error.to_string()),
            },
        ),
    }
}

/// `GET /domains/{name}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let actor = &session.actor;
    let now = state.clock.now();
    let check = match state.service.check_name(actor, &name, now).await {
        Ok(check) => check,
        Err(ServiceError::Invalid { reason, .. }) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &Lookup {
                    chrome: Chrome::new(&session, "Domains", "/domains"),
                    name,
                    error: Some(reason),
                },
            );
        }
        Err(error) => return error_page(&session, &error),
    };
    let canonical = check.name.as_str().to_owned();
    let mut page = DomainPage {
        chrome: Chrome::new(&session, canonical.clone(), "/domains"),
        unicode: check.name.unicode().to_owned(),
        name: canonical.clone(),
        availability: String::new(),
        registered: false,
        statuses: String::new(),
        nameservers: Vec::new(),
        ds: Vec::new(),
        registrar: String::new(),
        created: String::new(),
        expires: String::new(),
        block: None,
        show_history: actor.role.may(Permission::TakeAction),
        history: Vec::new(),
    };
    match check.availability {
        Availability::Registered => match state.service.domain(actor, &canonical, now).await {
            Ok(view) => {
                let registration = view.registration;
                page.availability = "registered".to_owned();
                page.registered = true;
                page.statuses = statuses_text(&registration.statuses);
                page.nameservers = registration
                    .nameservers
                    .iter()
                    .map(|host| host.as_str().to_owned())
                    .collect();
                page.ds = registration
                    .ds
                    .iter()
                    .map(|ds| {
                        format!(
                            "{} {} {} {}",
                            ds.key_tag, ds.algorithm, ds.digest_type, ds.digest
                        )
                    })
                    .collect();
                page.registrar = match registration.registrar_id {
                    Some(id) => {
                        let registrars = state.service.registrars(actor).await.unwrap_or_default();
                        registrars
                            .iter()
                            .find(|registrar| registrar.id == id)
                            .map_or_else(
                                || format!("registrar {id}"),
                                |registrar| match registrar.iana_id {
                                    Some(iana) => format!("{} (IANA {iana})", registrar.name),
                                    None => registrar.name.clone(),
                                },
                            )
                    }
                    None => "not known".to_owned(),
                };
                page.created = time(registration.created_at);
                page.expires = maybe_time(registration.expires_at);
            }
            // A registrar's staff see only their own names.
            Err(error) => return error_page(&session, &error),
        },
        Availability::Blocked { reason, until } => {
            page.availability = "not registered; blocked".to_owned();
            page.block = Some(format!("until {} — {reason}", time(until)));
        }
        Availability::Available => page.availability = "not registered".to_owned(),
        Availability::NotOurs => {
            page.availability = "not in a TLD of this registry".to_owned();
        }
    }
    if page.show_history {
        match state.service.name_history(actor, &canonical).await {
            Ok(history) => {
                page.history = history
                    .into_iter()
                    .map(|(action, item)| {
                        let case_id = action
                            .case_ref
                            .as_deref()
                            .and_then(|reference| reference.strip_prefix("case:"))
                            .and_then(|id| id.parse().ok());
                        let mut result = item.result.as_str().to_owned();
                        if let Some(detail) = item.detail {
                            result.push_str(&format!(" ({detail})"));
                        }
                        HistoryRow {
                            action: action.id,
                            kind: action.kind.as_str().to_owned(),
                            state: action.state.as_str().to_owned(),
                            result,
                            reason: action.reason,
                            requested_by: action.requested_by,
                            decided: time(action.created_at),
                            case_ref: action.case_ref.unwrap_or_default(),
                            case_id,
                            undone: action.undone_at.map(time).unwrap_or_default(),
                        }
                    })
                    .collect();
            }
            Err(error) => {
                page.chrome.notice =
                    Notice::problem(format!("The history could not be read: {error}"));
            }
        }
    }
    render(StatusCode::OK, &page)
}
