//! `/console/webhooks`: the tenant's webhook endpoints with their recent
//! deliveries; add one (URL and events; its signing secret shown once),
//! send it a test event, or remove it; through the same domain functions
//! as the admin API's `/webhooks`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{Chrome, Done, Flash, Section, Session, SignedForm, page_with_status};
use super::choice::{Choice, explained};
use super::problem::Problem;
use super::query::{NoFields, PageId};
use crate::domain::{DeliveryView, EventType, WebhookView};

/// Deliveries listed per endpoint, newest first.
const DELIVERIES_SHOWN: usize = 10;
/// The prefix of an event checkbox's field name: `event.<type>`.
const EVENT_FIELD: &str = "event.";

/// What each event an endpoint may subscribe to says.
fn event_explanation(event: EventType) -> &'static str {
    match event {
        EventType::DeprovisioningBlocked => "a deprovisioning was refused and waits for you",
        EventType::DeprovisioningCompleted => "a waiting deprovisioning finished",
        EventType::DeprovisioningCancelled => "a waiting deprovisioning was cancelled",
        EventType::UserSuspended => "a leaver's access was suspended while it waits",
        EventType::WebhookPing => "a test event, sent by “Send a test event”",
    }
}

/// The events a form may subscribe to (not the ping), with `checked`
/// ticked.
fn event_choices(checked: &[String]) -> Vec<Choice> {
    let options: Vec<(&'static str, &'static str, &'static str)> = EventType::ALL
        .iter()
        .filter(|e| **e != EventType::WebhookPing)
        .map(|e| (e.as_str(), e.as_str(), event_explanation(*e)))
        .collect();
    let mut choices = explained(&options, "");
    for choice in &mut choices {
        choice.selected = checked.iter().any(|c| c == choice.value);
    }
    choices
}

/// An endpoint and its newest deliveries.
pub struct WebhookRow {
    pub webhook: WebhookView,
    /// The event types it receives, comma-separated.
    pub events: String,
    pub deliveries: Vec<DeliveryView>,
}

/// An endpoint just added: its signing secret, shown this once.
pub struct Created {
    pub url: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    webhooks: Vec<WebhookRow>,
    /// The add form: URL and events as typed.
    url: String,
    events: Vec<Choice>,
    created: Option<Created>,
    error: Option<Problem>,
    /// When the add form was rendered (milliseconds), so that the same
    /// form sent twice (a reload of the answer) adds one endpoint.
    form_since: i64,
}

/// The page, with an endpoint just added or the problem of a form.
async fn webhooks_page(
    state: &AppState,
    session: &Session,
    flash: Option<Flash>,
    (url, checked): (String, Vec<String>),
    created: Option<Created>,
    error: Option<Problem>,
) -> ConsoleResult {
    let domain = &state.domain;
    let mut webhooks = Vec::new();
    for webhook in domain.webhooks(&session.tenant_id).await? {
        let mut deliveries = domain
            .webhook_deliveries(&session.tenant_id, &webhook.id)
            .await?;
        deliveries.truncate(DELIVERIES_SHOWN);
        let events: Vec<&str> = webhook.events.iter().map(|e| e.as_str()).collect();
        webhooks.push(WebhookRow {
            events: events.join(", "),
            webhook,
            deliveries,
        });
    }
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    Ok(page_with_status(
        status,
        &WebhooksPage {
            chrome: Chrome::new(session, Section::Webhooks, flash),
            webhooks,
            url,
            events: event_choices(&checked),
            created,
            error,
            form_since: state.domain.now_millis(),
        },
    ))
}

/// `GET /console/webhooks`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
) -> ConsoleResult {
    let every_event: Vec<String> = EventType::ALL
        .iter()
        .filter(|e| **e != EventType::WebhookPing)
        .map(|e| e.as_str().to_owned())
        .collect();
    webhooks_page(
        &state,
        &session,
        flash,
        (String::new(), every_event),
        None,
        None,
    )
    .await
}

/// `POST /console/webhooks`: the form's `url` and one `event.<type>`
/// field per ticked event. The secret is shown in this answer only.
pub async fn create(
    State(state): State<AppState>,
    SignedForm { session, form }: SignedForm<BTreeMap<String, String>>,
) -> ConsoleResult {
    let url = form
        .get("url")
        .map(|u| u.trim().to_owned())
        .unwrap_or_default();
    let events: Vec<String> = form
        .keys()
        .filter_map(|key| key.strip_prefix(EVENT_FIELD))
        .map(str::to_owned)
        .collect();
    // The secret is shown in this answer, not after a redirect, so a
    // reload sends the form again: an endpoint of this URL added since
    // the form was rendered means this form already added it.
    if let Some(since) = form.get("since").and_then(|s| s.parse::<i64>().ok()) {
        let since = crate::clock::format_millis(since);
        let same = |stored: &str| stored.trim_end_matches('/') == url.trim_end_matches('/');
        let webhooks = state.domain.webhooks(&session.tenant_id).await?;
        if webhooks
            .iter()
            .any(|w| same(&w.url) && w.created_at >= since)
        {
            let problem = Problem::new(
                StatusCode::CONFLICT,
                "This form was already sent: the endpoint was added then and its signing \
                 secret shown once. If you did not copy it, delete the endpoint below and \
                 add it again.",
            );
            return webhooks_page(&state, &session, None, (url, events), None, Some(problem)).await;
        }
    }
    match state
        .domain
        .create_webhook(&session.principal, &url, &events)
        .await
    {
        Ok((webhook, secret)) => {
            let created = Created {
                url: webhook.url,
                secret,
            };
            let form = (String::new(), events);
            webhooks_page(&state, &session, None, form, Some(created), None).await
        }
        Err(error) => {
            let problem = Problem::of(error)?;
            webhooks_page(&state, &session, None, (url, events), None, Some(problem)).await
        }
    }
}

/// `POST /console/webhooks/{id}/delete`: removes the endpoint and its
/// deliveries.
pub async fn delete(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult {
    state.domain.delete_webhook(&session.principal, &id).await?;
    Ok(Flash::WebhookDeleted.redirect("/console/webhooks"))
}

/// `POST /console/webhooks/{id}/ping`: queues a `webhook.ping` event for
/// this endpoint only.
pub async fn ping(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult {
    state.domain.ping_webhook(&session.principal, &id).await?;
    Ok(Flash::WebhookPinged.redirect("/console/webhooks"))
}
