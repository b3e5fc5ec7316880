//! A registry desk's administration in the browser: its clock targets and address, its
//! calendar (time zone, weekend days, holidays added and removed one by one), the wording of
//! its messages with a preview of the placeholders filled, and the sources it recognises. The
//! service decides who may: the registry's staff for their own desk, admins for any (the
//! wording and the sources are always the signed-in user's own registry's).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::org::Permission;
use holdfast_model::{Calendar, ClockTargets, MessageEvent};
use holdfast_service::{DEFAULT_DESK_ADDRESS, ServiceError, TemplateView, template_preview};
use jiff::civil::{Date, Weekday};

use super::admin::{AdminForm, DoneQuery, done_notice, number};
use super::format::{time, words};
use super::session::{Fields, with_done};
use super::{Chrome, Notice, Session, error_page, refused_status, render};
use crate::AppState;

/// The weekdays as the calendar form names them.
const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

#[derive(Template)]
#[template(path = "admin_desk.html")]
struct DeskPage {
    chrome: Chrome,
    org_id: i64,
    acknowledge_minutes: String,
    assess_hours: String,
    referral_business_days: String,
    desk_address: String,
    breaches: i64,
    time_zone: String,
    /// Each weekday with whether it is a weekend day.
    weekend: Vec<(&'static str, bool)>,
    holidays: Vec<String>,
    form: AdminForm,
}

const DESK_FIELDS: &[&str] = &[
    "acknowledge_minutes",
    "assess_hours",
    "referral_business_days",
    "desk_address",
];

async fn desk_page(
    state: &AppState,
    session: &Session,
    org_id: i64,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let desk = match state.service.desk(&session.actor, org_id).await {
        Ok(desk) => desk,
        Err(error) => return error_page(session, &error),
    };
    let kept = |which: &str, name: &str, stored: String| {
        if form.invalid(which, name) || !form.value(which, name).is_empty() {
            form.value(which, name).to_owned()
        } else {
            stored
        }
    };
    let calendar = &desk.calendar;
    let page = DeskPage {
        chrome: Chrome::new(session, "Desk settings", "/admin").with_notice(notice),
        org_id,
        acknowledge_minutes: kept(
            "desk",
            "acknowledge_minutes",
            desk.targets.acknowledge_minutes.to_string(),
        ),
        assess_hours: kept(
            "desk",
            "assess_hours",
            desk.targets.assess_hours.to_string(),
        ),
        referral_business_days: kept(
            "desk",
            "referral_business_days",
            desk.targets.referral_business_days.to_string(),
        ),
        desk_address: kept(
            "desk",
            "desk_address",
            if desk.desk_address == DEFAULT_DESK_ADDRESS {
                String::new()
            } else {
                desk.desk_address.clone()
            },
        ),
        breaches: desk.breaches,
        time_zone: kept("calendar", "time_zone", calendar.zone_name().to_owned()),
        weekend: WEEKDAYS
            .iter()
            .map(|(name, weekday)| {
                let chosen = if form.invalid("calendar", "weekend") {
                    form.has("calendar", "weekend", name)
                } else {
                    calendar.weekend().contains(weekday)
                };
                (*name, chosen)
            })
            .collect(),
        holidays: calendar
            .holidays()
            .iter()
            .map(ToString::to_string)
            .collect(),
        form,
    };
    render(status, &page)
}

/// `GET /admin/desks/{org}`: a registry's desk settings and calendar.
pub async fn desk(
    State(state): State<AppState>,
    session: Session,
    Path(org_id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    let form = AdminForm::default();
    desk_page(&state, &session, org_id, form, notice, StatusCode::OK).await
}

/// `POST /admin/desks/{org}`: the clock targets and the desk's address.
pub async fn set_desk(
    State(state): State<AppState>,
    session: Session,
    Path(org_id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/admin/desks/{org_id}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let targets = (|| {
        Ok::<_, ServiceError>(ClockTargets {
            acknowledge_minutes: number(&fields, "acknowledge_minutes")?,
            assess_hours: number(&fields, "assess_hours")?,
            referral_business_days: number(&fields, "referral_business_days")?,
        })
    })();
    let address = fields.get("desk_address").trim();
    let result = match targets {
        Ok(targets) => {
            state
                .service
                .set_desk(
                    &session.actor,
                    org_id,
                    targets,
                    (!address.is_empty()).then_some(address),
                    state.clock.now(),
                )
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done(&back, "desk")).into_response(),
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let form = AdminForm::refused("desk", fields, &error, DESK_FIELDS);
            desk_page(&state, &session, org_id, form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// Saves `calendar` for the desk of `org_id`; the answer to the form `which`.
async fn save_calendar(
    state: &AppState,
    session: &Session,
    org_id: i64,
    calendar: Result<Calendar, ServiceError>,
    (which, fields, known): (&str, Fields, &[&str]),
    done: &str,
) -> Response {
    let back = format!("/admin/desks/{org_id}");
    let result = match calendar {
        Ok(calendar) => {
            state
                .service
                .set_calendar(&session.actor, org_id, &calendar, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Redirect::to(&with_done(&back, done)).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = AdminForm::refused(which, fields, &error, known);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            desk_page(state, session, org_id, form, None, status).await
        }
        Err(error) => error_page(session, &error),
    }
}

/// The desk's calendar now, to change one part of it.
async fn current_calendar(
    state: &AppState,
    session: &Session,
    org_id: i64,
) -> Result<Calendar, Box<Response>> {
    state
        .service
        .desk(&session.actor, org_id)
        .await
        .map(|desk| desk.calendar)
        .map_err(|error| Box::new(error_page(session, &error)))
}

/// `POST /admin/desks/{org}/calendar`: the time zone and the weekend days (holidays kept).
pub async fn set_calendar(
    State(state): State<AppState>,
    session: Session,
    Path(org_id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/admin/desks/{org_id}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let current = match current_calendar(&state, &session, org_id).await {
        Ok(calendar) => calendar,
        Err(response) => return *response,
    };
    let weekend: Vec<Weekday> = WEEKDAYS
        .iter()
        .filter(|(name, _)| fields.has("weekend", name))
        .map(|(_, weekday)| *weekday)
        .collect();
    let zone = fields.get("time_zone").trim().to_owned();
    let calendar = if zone.is_empty() {
        Err(ServiceError::invalid(
            "time_zone",
            "give an IANA time zone, such as Europe/Brussels",
        ))
    } else {
        Calendar::new(&zone, weekend, current.holidays().iter().copied()).map_err(|error| {
            match error {
                holdfast_model::CalendarError::NoBusinessDays => {
                    ServiceError::invalid("weekend", error.to_string())
                }
                other => ServiceError::invalid("time_zone", other.to_string()),
            }
        })
    };
    let form = ("calendar", fields, &["time_zone", "weekend"][..]);
    save_calendar(&state, &session, org_id, calendar, form, "calendar").await
}

/// The date typed into `date`.
fn date(fields: &Fields) -> Result<Date, ServiceError> {
    fields
        .get("date")
        .trim()
        .parse()
        .map_err(|_| ServiceError::invalid("date", "give a date as YYYY-MM-DD"))
}

/// `POST /admin/desks/{org}/holidays`: adds one holiday.
pub async fn add_holiday(
    State(state): State<AppState>,
    session: Session,
    Path(org_id): Path<i64>,
    body: Bytes,
) -> Response {
    change_holiday(state, session, org_id, body, true).await
}

/// `POST /admin/desks/{org}/holidays/remove`: removes one holiday.
pub async fn remove_holiday(
    State(state): State<AppState>,
    session: Session,
    Path(org_id): Path<i64>,
    body: Bytes,
) -> Response {
    change_holiday(state, session, org_id, body, false).await
}

async fn change_holiday(
    state: AppState,
    session: Session,
    org_id: i64,
    body: Bytes,
    add: bool,
) -> Response {
    let back = format!("/admin/desks/{org_id}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let current = match current_calendar(&state, &session, org_id).await {
        Ok(calendar) => calendar,
        Err(response) => return *response,
    };
    let calendar = date(&fields).and_then(|date| {
        let mut holidays = current.holidays().clone();
        if add {
            holidays.insert(date);
        } else {
            holidays.remove(&date);
        }
        Calendar::new(
            current.zone_name(),
            current.weekend().iter().copied(),
            holidays,
        )
        .map_err(|error| ServiceError::invalid("date", error.to_string()))
    });
    let done = if add { "holiday" } else { "unholiday" };
    let form = ("holiday", fields, &["date"][..]);
    save_calendar(&state, &session, org_id, calendar, form, done).await
}

// --- message templates -----------------------------------------------------------------------

pub struct TemplateRow {
    pub event: &'static str,
    pub label: String,
    pub subject: String,
    pub own: bool,
}

#[derive(Template)]
#[template(path = "admin_templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    templates: Vec<TemplateRow>,
}

/// `GET /admin/templates`: the wording of each message of the signed-in user's registry.
pub async fn templates(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let views = match state.service.templates(&session.actor).await {
        Ok(views) => views,
        Err(error) => return error_page(&session, &error),
    };
    let page = TemplatesPage {
        chrome: Chrome::new(&session, "Message templates", "/admin")
            .with_notice(done_notice(&query.done)),
        templates: views
            .into_iter()
            .map(|view| TemplateRow {
                event: view.event.as_str(),
                label: words(view.event.as_str()),
                subject: view.subject,
                own: view.own,
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin_template.html")]
struct TemplatePage {
    chrome: Chrome,
    event: &'static str,
    label: String,
    own: bool,
    subject: String,
    body: String,
    placeholders: Vec<&'static str>,
    preview_subject: String,
    preview_body: String,
    form: AdminForm,
}

/// One message's wording: the stored one, or what was typed (`typed`), with its preview.
async fn template_page(
    state: &AppState,
    session: &Session,
    event: &str,
    typed: Option<(String, String)>,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let views = match state.service.templates(&session.actor).await {
        Ok(views) => views,
        Err(error) => return error_page(session, &error),
    };
    let Some(view): Option<TemplateView> =
        views.into_iter().find(|view| view.event.as_str() == event)
    else {
        return error_page(session, &ServiceError::NotFound { what: "message" });
    };
    let (subject, body) = typed.unwrap_or((view.subject, view.body));
    let (preview_subject, preview_body) = template_preview(view.event, &subject, &body);
    let label = words(view.event.as_str());
    let page = TemplatePage {
        chrome: Chrome::new(session, format!("Message: {label}"), "/admin").with_notice(notice),
        event: view.event.as_str(),
        label,
        own: view.own,
        subject,
        body,
        placeholders: view.placeholders,
        preview_subject,
        preview_body,
        form,
    };
    render(status, &page)
}

/// `GET /admin/templates/{event}`: the wording of one message, its placeholders and preview.
pub async fn template(
    State(state): State<AppState>,
    session: Session,
    Path(event): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    let form = AdminForm::default();
    template_page(&state, &session, &event, None, form, notice, StatusCode::OK).await
}

/// `POST /admin/templates/{event}`: shows the preview of what was typed (`intent=preview`) or
/// saves it.
pub async fn set_template(
    State(state): State<AppState>,
    session: Session,
    Path(event): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/admin/templates/{event}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let typed = (
        fields.get("subject").to_owned(),
        fields.get("body").to_owned(),
    );
    if event.parse::<MessageEvent>().is_err() {
        return error_page(&session, &ServiceError::NotFound { what: "message" });
    }
    if fields.get("intent") == "preview" {
        let form = AdminForm::default();
        let notice = Notice::done("The preview below shows what you typed; it is not saved yet.");
        let status = StatusCode::OK;
        return template_page(&state, &session, &event, Some(typed), form, notice, status).await;
    }
    let result = state
        .service
        .set_template(
            &session.actor,
            &event,
            &typed.0,
            &typed.1,
            state.clock.now(),
        )
        .await;
    match result {
        Ok(()) => Redirect::to(&with_done(&back, "template")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let form = AdminForm::refused("template", fields, &error, &["subject", "body"]);
            template_page(&state, &session, &event, Some(typed), form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

// --- recognised sources ----------------------------------------------------------------------

pub struct SourceRow {
    pub label: String,
    pub email_domain: String,
    pub reporter_org: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "admin_sources.html")]
struct SourcesPage {
    chrome: Chrome,
    sources: Vec<SourceRow>,
    form: AdminForm,
}

async fn sources_page(
    state: &AppState,
    session: &Session,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let sources = match state.service.recognised_sources(&session.actor).await {
        Ok(sources) => sources,
        Err(error) => return error_page(session, &error),
    };
    let page = SourcesPage {
        chrome: Chrome::new(session, "Recognised sources", "/admin").with_notice(notice),
        sources: sources
            .into_iter()
            .map(|source| SourceRow {
                label: source.label,
                email_domain: source.email_domain.unwrap_or_default(),
                reporter_org: source
                    .reporter_org_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                added: time(source.created_at),
            })
            .collect(),
        form,
    };
    render(status, &page)
}

/// `GET /admin/sources`: the sources the signed-in user's registry recognises.
pub async fn sources(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    sources_page(
        &state,
        &session,
        AdminForm::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/sources`.
pub async fn add_source(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let fields = match session.form_as(Permission::WorkCases, &state, &body, "/admin/sources") {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let domain = fields.get("email_domain").trim();
    let reporter = if fields.get("reporter_org").trim().is_empty() {
        Ok(None)
    } else {
        number(&fields, "reporter_org").map(Some)
    };
    let result = match reporter {
        Ok(reporter) => {
            state
                .service
                .add_recognised_source(
                    &session.actor,
                    (!domain.is_empty()).then_some(domain),
                    reporter,
                    fields.get("label"),
                    state.clock.now(),
                )
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done("/admin/sources", "source")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let known = &["email_domain", "reporter_org", "label"];
            let form = AdminForm::refused("source", fields, &error, known);
            sources_page(
                &state,
                &session,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}
