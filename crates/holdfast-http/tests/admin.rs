//! The administration pages on both databases, driven like a browser: an admin signs in
//! through the form, creates an organisation, a user (who then signs in), a TLD with its
//! sinkhole hosts, a holiday the desk's business days then skip, and the desk's wording of a
//! message; tokens are issued (the secret shown once) and revoked. A role that may not act is
//! refused, a bad field is named beside it with the input kept, a form sent twice acts once and
//! markup in a name comes back escaped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use common::FakeClock;
use holdfast_http::{AppState, router};
use holdfast_model::org::{Actor, Role};
use holdfast_service::{NewUserRequest, Service};
use holdfast_store::Backend;
use holdfast_store::testing::TestStore;
use jiff::Timestamp;

const PASSWORD: &str = "a long enough password";

struct World {
    router: Router,
    service: Service,
    admin: Actor,
    now: Timestamp,
    _db: TestStore,
}

/// A page's answer: status, headers and HTML.
type Answer = (StatusCode, HeaderMap, String);

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

impl World {
    async fn new(backend: Backend) -> World {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        // Thursday 24 December 2026, noon UTC.
        let now: Timestamp = "2026-12-24T12:00:00Z".parse().unwrap();
        let token = service.bootstrap(now).await.unwrap().unwrap().token;
        let bootstrap = service.authenticate(&token, now).await.unwrap();
        let user = NewUserRequest {
            email: "root@operator.example".into(),
            display_name: "Root".into(),
            role: Role::Admin,
            password: Some(PASSWORD.into()),
            reason: String::new(),
        };
        let user = service
            .create_user(&bootstrap, bootstrap.org_id, user, now)
            .await
            .unwrap();
        let admin = Actor {
            user_id: user.id,
            org_id: user.org_id,
            role: Role::Admin,
            email: user.email,
        };
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let router = router(AppState::new(service.clone(), clock));
        World {
            router,
            service,
            admin,
            now,
            _db: db,
        }
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        form: Option<String>,
    ) -> Answer {
        let cookie = (!cookie.is_empty()).then_some(cookie);
        let body = form.as_deref().map(common::urlencoded);
        let (status, headers, bytes) =
            common::browse(&self.router, method, path, "127.0.0.1", cookie, body).await;
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Signs in through the sign-in form; the session cookie.
    async fn sign_in(&self, email: &str) -> String {
        let (status, headers, html) = self.request(Method::GET, "/signin", "", None).await;
        assert_eq!(status, StatusCode::OK);
        let pairing = headers["set-cookie"].to_str().unwrap();
        let pairing = pairing.split(';').next().unwrap().to_owned();
        let form = format!(
            "csrf={}&email={}&password={}&next=%2Fadmin",
            hidden(&html, "csrf"),
            encode(email),
            encode(PASSWORD)
        );
        let (status, headers, _) = self
            .request(Method::POST, "/signin", &pairing, Some(form))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{email} signs in");
        assert_eq!(headers["location"], "/admin");
        let session = headers
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .find(|value| value.starts_with("holdfast_session="))
            .unwrap();
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
        session.split(';').next().unwrap().to_owned()
    }

    async fn get(&self, cookie: &str, path: &str) -> Answer {
        self.request(Method::GET, path, cookie, None).await
    }

    /// The body of a form of the page at `page`: its CSRF and a fresh one-time token, then
    /// `fields`.
    async fn form(&self, cookie: &str, page: &str, fields: &str) -> String {
        let (status, _, html) = self.get(cookie, page).await;
        assert_eq!(status, StatusCode::OK, "{page}: {html}");
        format!(
            "csrf={}&once={}&{fields}",
            hidden(&html, "csrf"),
            hidden(&html, "once")
        )
    }

    /// Sends a form of the page at `page` to `action` (a page without a form the reader may
    /// send, such as a refused one, lends the tokens of another page's form).
    async fn submit(&self, cookie: &str, page: &str, action: &str, fields: &str) -> Answer {
        let body = self.form(cookie, page, fields).await;
        self.request(Method::POST, action, cookie, Some(body)).await
    }
}

fn location(answer: &Answer) -> String {
    assert_eq!(answer.0, StatusCode::SEE_OTHER, "{}", answer.2);
    answer.1["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_admin_sets_up_a_registry_through_the_pages() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let w = World::new(backend).await;
        let admin = w.sign_in("root@operator.example").await;
        let (status, headers, html) = w.get(&admin, "/admin").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(html.contains("<a href=\"/admin\" aria-current=\"page\">Admin</a>"));

        // An organisation whose name carries markup: created, and shown as text.
        let hostile = "Registry <script>alert(1)</script>";
        let fields = format!("name={}&kind=registry&reason=onboarding", encode(hostile));
        let done = w
            .submit(&admin, "/admin", "/admin/organisations", &fields)
            .await;
        let page = location(&done);
        let org: i64 = page
            .trim_start_matches("/admin/organisations/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let (_, _, html) = w.get(&admin, &page).await;
        assert!(html.contains("The organisation is created."));
        assert!(
            html.contains("Registry &#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert(1)"));

        // A bad field: named beside it, what was typed kept, the password never echoed.
        let (status, _, html) = w
            .submit(
                &admin,
                &page,
                &format!("/admin/organisations/{org}/users"),
                "email=not-an-address&display_name=Desk+Person&role=registry_staff\
                 &password=a+long+enough+password",
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("<p class=\"error\" id=\"user-email-error\">must contain an @</p>"),
            "{html}"
        );
        assert!(
            html.contains("value=\"not-an-address\"") && html.contains("value=\"Desk Person\"")
        );
        assert!(!html.contains("a long enough password"));

        // The user, created once however often the form is sent.
        let fields = "email=desk%40registry.example&display_name=Desk+Person\
                      &role=registry_staff&password=a+long+enough+password";
        let body = w.form(&admin, &page, fields).await;
        let action = format!("/admin/organisations/{org}/users");
        let first = w
            .request(Method::POST, &action, &admin, Some(body.clone()))
            .await;
        assert!(location(&first).ends_with("done=user"));
        let again = w.request(Method::POST, &action, &admin, Some(body)).await;
        assert!(location(&again).ends_with("done=repeat"));
        let users = w.service.users(&w.admin, org).await.unwrap();
        assert_eq!(users.len(), 1, "{users:?}");
        let (_, _, html) = w.get(&admin, &page).await;
        assert!(html.contains("desk@registry.example"));

        // The new user signs in, sees their own organisation and may not administer.
        let desk = w.sign_in("desk@registry.example").await;
        let (status, _, _) = w.get(&desk, &page).await;
        assert_eq!(status, StatusCode::OK);
        let operator = format!("/admin/organisations/{}", w.admin.org_id);
        assert_eq!(w.get(&desk, &operator).await.0, StatusCode::NOT_FOUND);
        let refused = w
            .submit(
                &desk,
                "/admin/tokens",
                "/admin/organisations",
                "name=Mine&kind=registry",
            )
            .await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN);
        let refused = w
            .submit(
                &desk,
                "/admin/tokens",
                "/admin/tlds",
                &format!("name=mine&org_id={org}"),
            )
            .await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN);
        assert_eq!(
            w.get(&desk, "/admin/registrars").await.0,
            StatusCode::OK,
            "registry staff read the registrars"
        );
        assert!(w.service.organisations(&w.admin).await.unwrap().len() == 2);

        // A TLD and its sinkhole hosts.
        let done = w
            .submit(
                &admin,
                "/admin/tlds",
                "/admin/tlds",
                &format!("name=Alpha&org_id={org}"),
            )
            .await;
        assert!(location(&done).ends_with("done=tld"));
        let tld = w.service.tlds(&w.admin).await.unwrap();
        assert_eq!(tld.len(), 1);
        assert_eq!((tld[0].name.as_str(), tld[0].org_id), ("alpha", org));
        let sinkhole = format!("/admin/tlds/{}/sinkhole", tld[0].id);
        let (status, _, html) = w
            .submit(
                &admin,
                "/admin/tlds",
                &sinkhole,
                "hosts=ns1.sink.example+bad..host",
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = format!("id=\"sinkhole-{}-hosts-error\"", tld[0].id);
        assert!(html.contains(&error), "{html}");
        assert!(html.contains("value=\"ns1.sink.example bad..host\""));
        let done = w
            .submit(
                &admin,
                "/admin/tlds",
                &sinkhole,
                "hosts=ns1.sink.example%0D%0Ans2.sink.example",
            )
            .await;
        assert!(location(&done).ends_with("done=sinkhole"));
        let sinkholes = w.service.sinkholes(&w.admin).await.unwrap();
        let hosts: Vec<&str> = sinkholes[0].sinkhole.iter().map(|h| h.as_str()).collect();
        assert_eq!(hosts, ["ns1.sink.example", "ns2.sink.example"]);

        // The desk's calendar: a bad time zone kept at its field; then a holiday, which the
        // business days of the desk's clocks skip.
        let desk_page = format!("/admin/desks/{org}");
        let (status, _, html) = w
            .submit(
                &desk,
                &desk_page,
                &format!("{desk_page}/calendar"),
                "time_zone=Mars%2FOlympus&weekend=saturday&weekend=sunday",
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"calendar-time_zone-error\"") && html.contains("Mars/Olympus"));
        let before = w.service.desk(&w.admin, org).await.unwrap().calendar;
        assert_eq!(
            before.add_business_days(w.now, 1),
            "2026-12-25T12:00:00Z".parse().unwrap()
        );
        let done = w
            .submit(
                &admin,
                &desk_page,
                &format!("{desk_page}/holidays"),
                "date=2026-12-25",
            )
            .await;
        assert!(location(&done).ends_with("done=holiday"));
        let after = w.service.desk(&w.admin, org).await.unwrap().calendar;
        assert_eq!(
            after.add_business_days(w.now, 1),
            "2026-12-28T12:00:00Z".parse().unwrap(),
            "Friday the 25th is a holiday, then the weekend"
        );
        let (_, _, html) = w.get(&desk, &desk_page).await;
        assert!(html.contains("Remove the holiday 2026-12-25"));
        let done = w
            .submit(
                &desk,
                &desk_page,
                &format!("{desk_page}/holidays/remove"),
                "date=2026-12-25",
            )
            .await;
        assert!(location(&done).ends_with("done=unholiday"));
        let removed = w.service.desk(&w.admin, org).await.unwrap().calendar;
        assert!(removed.holidays().is_empty());

        // The desk's own wording of the acknowledgment, previewed then saved.
        let template = "/admin/templates/acknowledgment";
        let fields = format!(
            "subject={}&body={}&intent=preview",
            encode("[case {case}] Got it <b>"),
            encode("Thanks for {names}.")
        );
        let (status, _, html) = w.submit(&desk, template, template, &fields).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("[case 1234] Got it &#60;b&#62;"), "{html}");
        assert!(html.contains("Thanks for login-bank.example, secure-pay.example."));
        let desk_actor = Actor {
            user_id: users[0].id,
            org_id: org,
            role: Role::RegistryStaff,
            email: users[0].email.clone(),
        };
        let own = |views: Vec<holdfast_service::TemplateView>| {
            views
                .into_iter()
                .find(|view| view.event.as_str() == "acknowledgment")
                .unwrap()
        };
        assert!(!own(w.service.templates(&desk_actor).await.unwrap()).own);
        let (status, _, html) = w
            .submit(&desk, template, template, "subject=&body=x&intent=save")
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"template-subject-error\""));
        let fields = fields.replace("intent=preview", "intent=save");
        let done = w.submit(&desk, template, template, &fields).await;
        assert!(location(&done).ends_with("done=template"));
        let saved = own(w.service.templates(&desk_actor).await.unwrap());
        assert!(saved.own);
        assert_eq!(saved.subject, "[case {case}] Got it <b>");
    }
}

#[tokio::test]
async fn tokens_are_shown_once_and_revoked_from_the_page() {
    let w = World::new(Backend::Sqlite).await;
    let admin = w.sign_in("root@operator.example").await;
    let (status, _, html) = w
        .submit(&admin, "/admin/tokens", "/admin/tokens", "label=&expires=")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"token-label-error\""));
    let (status, _, html) = w
        .submit(
            &admin,
            "/admin/tokens",
            "/admin/tokens",
            "label=cli&expires=2027-01-31",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find("id=\"token-secret\">").unwrap() + "id=\"token-secret\">".len();
    let secret = &html[start..start + html[start..].find('<').unwrap()];
    let holder = w.service.authenticate(secret, w.now).await.unwrap();
    assert_eq!(holder.user_id, w.admin.user_id);
    let (_, _, html) = w.get(&admin, "/admin/tokens").await;
    assert!(!html.contains(secret), "the secret is shown only once");
    let (_, tokens) = w
        .service
        .user_tokens(&w.admin, w.admin.user_id)
        .await
        .unwrap();
    let issued = tokens.iter().find(|token| token.label == "cli").unwrap();
    let done = w
        .submit(
            &admin,
            "/admin/tokens",
            &format!("/admin/tokens/{}/revoke", issued.id),
            &format!("user={}", w.admin.user_id),
        )
        .await;
    assert!(location(&done).ends_with("done=revoked"));
    assert!(w.service.authenticate(secret, w.now).await.is_err());
}
