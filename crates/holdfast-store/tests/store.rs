//! The store suite: every test runs on SQLite and on a real PostgreSQL server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use holdfast_model::EppStatus;
use holdfast_model::audit::{AuditEvent, ChainVerifier};
use holdfast_model::org::{OrgKind, Role};
use holdfast_store::testing::TestStore;
use holdfast_store::{Backend, ItemResult, NewUser, Store, StoreError, Tx};
use jiff::Timestamp;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

async fn registry_with_user(tx: &mut Tx) -> (i64, i64) {
    let org = tx
        .insert_organisation("Example Registry", OrgKind::Registry, at(0))
        .await
        .unwrap();
    let user = tx
        .insert_user(&NewUser {
            org_id: org,
            email: "desk@registry.example",
            display_name: "Desk",
            role: Role::RegistryStaff,
            password_hash: None,
            created_at: at(1),
        })
        .await
        .unwrap();
    (org, user)
}

#[tokio::test]
async fn organisations_and_users_round_trip() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let (org, user) = registry_with_user(&mut tx).await;
        tx.commit().await.unwrap();

        let mut tx = db.store.read().await.unwrap();
        let stored = tx.organisation(org).await.unwrap().unwrap();
        assert_eq!(stored.name, "Example Registry", "{:?}", db.backend());
        assert_eq!(stored.kind, OrgKind::Registry);
        assert_eq!(stored.created_at, at(0));
        let members = tx.users_of_organisation(org).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].id, user);
        assert_eq!(members[0].role, Role::RegistryStaff);
        let by_email = tx.user_by_email("desk@registry.example").await.unwrap();
        assert_eq!(by_email.map(|u| u.id), Some(user));
        assert!(tx.organisation(org + 100).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn duplicate_names_and_dangling_references_are_refused() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        registry_with_user(&mut tx).await;
        tx.commit().await.unwrap();

        let mut tx = db.store.write().await.unwrap();
        let again = tx
            .insert_organisation("Example Registry", OrgKind::Registrar, at(2))
            .await;
        assert!(
            matches!(
                again,
                Err(StoreError::Conflict {
                    what: "organisation"
                })
            ),
            "{:?}: {again:?}",
            db.backend()
        );
        drop(tx);

        let mut tx = db.store.write().await.unwrap();
        let orphan = tx
            .insert_user(&NewUser {
                org_id: 999,
                email: "nobody@example.net",
                display_name: "Nobody",
                role: Role::Reporter,
                password_hash: None,
                created_at: at(2),
            })
            .await;
        assert!(
            matches!(orphan, Err(StoreError::MissingReference { what: "user" })),
            "{:?}: {orphan:?}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        registry_with_user(&mut tx).await;
        drop(tx);
        let mut tx = db.store.read().await.unwrap();
        assert!(
            tx.organisations().await.unwrap().is_empty(),
            "{:?}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn tokens_stop_working_when_expired_or_revoked() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let (_, user) = registry_with_user(&mut tx).await;
        let forever = tx
            .insert_token(user, "hash-a", "cli", at(0), None)
            .await
            .unwrap();
        tx.insert_token(user, "hash-b", "session", at(0), Some(at(100)))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = db.store.write().await.unwrap();
        assert_eq!(
            tx.user_by_token("hash-a", at(50))
                .await
                .unwrap()
                .map(|u| u.id),
            Some(user)
        );
        assert!(tx.user_by_token("hash-b", at(99)).await.unwrap().is_some());
        assert!(tx.user_by_token("hash-b", at(100)).await.unwrap().is_none());
        assert!(tx.user_by_token("hash-c", at(0)).await.unwrap().is_none());
        tx.revoke_token(forever, at(60)).await.unwrap();
        tx.revoke_token(forever, at(70)).await.unwrap();
        assert!(tx.user_by_token("hash-a", at(61)).await.unwrap().is_none());
        let token = tx.token(forever).await.unwrap().unwrap();
        assert_eq!(token.revoked_at, Some(at(60)), "first revocation is kept");
        assert_eq!(tx.tokens_of_user(user).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn tlds_are_listed_per_registry() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let (org, _) = registry_with_user(&mut tx).await;
        let other = tx
            .insert_organisation("Other Registry", OrgKind::Registry, at(0))
            .await
            .unwrap();
        tx.insert_tld("demo", org, at(1)).await.unwrap();
        tx.insert_tld("example", other, at(1)).await.unwrap();
        tx.insert_tld("bank", org, at(1)).await.unwrap();
        let names = |tlds: Vec<holdfast_store::Tld>| -> Vec<String> {
            tlds.into_iter().map(|t| t.name).collect()
        };
        assert_eq!(names(tx.tlds(Some(org)).await.unwrap()), ["bank", "demo"]);
        assert_eq!(
            names(tx.tlds(None).await.unwrap()),
            ["bank", "demo", "example"]
        );
        assert!(matches!(
            tx.insert_tld("demo", other, at(2)).await,
            Err(StoreError::Conflict { what: "tld" })
        ));
    }
}

fn event(org_id: Option<i64>, action: &str) -> AuditEvent {
    AuditEvent {
        actor: "admin@operator.example".into(),
        actor_user_id: Some(1),
        org_id,
        action: action.into(),
        subject: "organisation:1".into(),
        reason: "setting up".into(),
        details: serde_json::json!({"name": "Example"}),
    }
}

#[tokio::test]
async fn the_audit_chain_links_every_entry_and_is_append_only() {
    for db in TestStore::each().await {
        for (i, org) in [Some(1), Some(2), None, Some(1)].into_iter().enumerate() {
            let mut tx = db.store.write().await.unwrap();
            tx.append_audit(at(i as i64), event(org, "organisation.create"))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let mut tx = db.store.read().await.unwrap();
        let all = tx.audit_entries(0, 100, None).await.unwrap();
        assert_eq!(all.len(), 4);
        let mut verifier = ChainVerifier::new();
        for entry in &all {
            verifier.check(entry).unwrap();
        }
        assert_eq!(all[0].event, event(Some(1), "organisation.create"));
        let of_org_1: Vec<i64> = tx
            .audit_entries(0, 100, Some(1))
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(of_org_1, [1, 4]);
        assert_eq!(tx.audit_entries(2, 1, None).await.unwrap()[0].seq, 3);
        drop(tx);

        let refused = match &db.store {
            holdfast_store::Store::Sqlite { writer: pool, .. } => {
                sqlx::query("UPDATE audit_log SET reason = 'x' WHERE seq = 2")
                    .execute(pool)
                    .await
                    .map(|_| ())
            }
            holdfast_store::Store::Postgres(pool) => {
                sqlx::query("DELETE FROM audit_log WHERE seq = 2")
                    .execute(pool)
                    .await
                    .map(|_| ())
            }
        };
        let message = refused.expect_err("audit rows cannot change").to_string();
        assert!(message.contains("append-only"), "{message}");
    }
}

#[tokio::test]
async fn concurrent_appenders_never_fork_the_chain() {
    for db in TestStore::each().await {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..5 {
                    let mut tx = store.write().await.unwrap();
                    tx.append_audit(at(i * 10 + j), event(None, "concurrent"))
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let mut tx = db.store.read().await.unwrap();
        let all = tx.audit_entries(0, 1000, None).await.unwrap();
        assert_eq!(all.len(), 40, "{:?}", db.backend());
        let mut verifier = ChainVerifier::new();
        for entry in &all {
            verifier.check(entry).unwrap();
        }
    }
}

#[tokio::test]
async fn meta_values_are_set_and_replaced() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        assert_eq!(tx.meta("demo").await.unwrap(), None);
        tx.set_meta("demo", "1").await.unwrap();
        tx.set_meta("demo", "2").await.unwrap();
        assert_eq!(tx.meta("demo").await.unwrap().as_deref(), Some("2"));
    }
}

/// On SQLite the writer's commits never copy the log into the database file (that took most of
/// a second at the end of a large import); the checkpointer does it beside them, so what is
/// committed reaches the database file itself and the log does not grow without end.
#[tokio::test]
async fn sqlite_commits_reach_the_database_file_through_the_checkpointer() {
    let db = TestStore::new(Backend::Sqlite).await;
    let path = db.url.trim_start_matches("sqlite:").to_owned();
    let size = || std::fs::metadata(&path).map_or(0, |meta| meta.len());
    let before = size();
    let value = "x".repeat(100_000);
    for key in 0..20 {
        let mut tx = db.store.write().await.unwrap();
        tx.set_meta(&format!("bulk{key}"), &value).await.unwrap();
        tx.commit().await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while size() < before + 2_000_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "2 MB committed, but the database file grew from {before} to {} bytes only",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut tx = db.store.read().await.unwrap();
    assert_eq!(
        tx.meta("bulk19").await.unwrap().as_deref(),
        Some(value.as_str())
    );
}

fn dn(text: &str) -> holdfast_model::DomainName {
    holdfast_model::DomainName::parse(text).unwrap()
}

async fn registry_tld(tx: &mut Tx) -> i64 {
    let (org, _) = registry_with_user(tx).await;
    tx.insert_tld("demo", org, at(0)).await.unwrap()
}

#[tokio::test]
async fn registrars_are_unique_and_only_one_is_internal() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let new = |name: &'static str, iana_id: Option<i64>, internal: bool| {
            holdfast_store::NewRegistrar {
                name,
                iana_id,
                org_id: None,
                abuse_email: "abuse@registrar.example",
                abuse_phone: "+1.5555550100",
                internal,
                created_at: at(0),
            }
        };
        tx.insert_registrar(&new("Registry's own", None, true))
            .await
            .unwrap();
        tx.insert_registrar(&new("Example Registrar", Some(9999), false))
            .await
            .unwrap();
        let internal_again = tx.insert_registrar(&new("Another own", None, true)).await;
        assert!(
            matches!(
                internal_again,
                Err(StoreError::Conflict { what: "registrar" })
            ),
            "{:?}: {internal_again:?}",
            db.backend()
        );
        drop(tx);
        let mut tx = db.store.write().await.unwrap();
        tx.insert_registrar(&new("Registry's own", None, true))
            .await
            .unwrap();
        tx.insert_registrar(&new("Example Registrar", Some(9999), false))
            .await
            .unwrap();
        let same_iana = tx
            .insert_registrar(&new("Copycat", Some(9999), false))
            .await;
        assert!(matches!(same_iana, Err(StoreError::Conflict { .. })));
        drop(tx);
        let mut tx = db.store.write().await.unwrap();
        tx.insert_registrar(&new("Example Registrar", Some(9999), false))
            .await
            .unwrap();
        let registrars = tx.registrars().await.unwrap();
        assert_eq!(registrars.len(), 1);
        assert_eq!(registrars[0].iana_id, Some(9999));
        assert!(!registrars[0].internal);
    }
}

#[tokio::test]
async fn delegations_round_trip_with_name_servers_ds_and_glue() {
    use holdfast_model::{DsRecord, EppStatus, EppStatusSet, Soa};
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let tld = registry_tld(&mut tx).await;
        let soa = Soa {
            mname: dn("ns1.nic.demo"),
            rname: dn("hostmaster.nic.demo"),
            serial: 2026112201,
            refresh: 3600,
            retry: 900,
            expire: 1_209_600,
            minimum: 300,
        };
        tx.set_tld_apex(tld, &soa, &[dn("ns1.nic.demo"), dn("ns2.nic.demo")])
            .await
            .unwrap();
        let names: Vec<_> = (0..2500).map(|i| dn(&format!("name{i}.demo"))).collect();
        let locked = EppStatusSet::new([EppStatus::ClientTransferProhibited]).unwrap();
        assert_eq!(
            tx.insert_domains(tld, &names, None, locked, at(5))
                .await
                .unwrap(),
            2500
        );
        assert_eq!(
            tx.insert_domains(tld, &names[..10], None, EppStatusSet::OK, at(6))
                .await
                .unwrap(),
            0,
            "registered names stay as they are"
        );
        let pairs: Vec<_> = names
            .iter()
            .flat_map(|n| {
                [
                    (n.clone(), dn("ns1.host.example")),
                    (n.clone(), dn("ns.name0.demo")),
                ]
            })
            .collect();
        assert_eq!(tx.insert_nameservers(&pairs).await.unwrap(), 5000);
        assert_eq!(tx.insert_nameservers(&pairs[..4]).await.unwrap(), 0);
        let ds = DsRecord {
            key_tag: 60485,
            algorithm: 13,
            digest_type: 2,
            digest: "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A".into(),
        };
        tx.insert_ds(&[(names[7].clone(), ds.clone())])
            .await
            .unwrap();
        let glue: std::net::IpAddr = "192.0.2.53".parse().unwrap();
        tx.insert_glue(tld, &[(dn("ns.name0.demo"), glue)])
            .await
            .unwrap();
        let dangling = tx
            .insert_nameservers(&[(dn("unregistered.demo"), dn("ns.x.example"))])
            .await;
        assert!(
            matches!(dangling, Err(StoreError::MissingReference { .. })),
            "{:?}: {dangling:?}",
            db.backend()
        );
        drop(tx);

        // The failed statement rolled the whole transaction back; do it again and commit.
        let mut tx = db.store.write().await.unwrap();
        let tld = registry_tld(&mut tx).await;
        tx.set_tld_apex(tld, &soa, &[dn("ns1.nic.demo")])
            .await
            .unwrap();
        tx.insert_domains(tld, &names, None, locked, at(5))
            .await
            .unwrap();
        tx.insert_nameservers(&pairs).await.unwrap();
        tx.insert_ds(&[(names[7].clone(), ds.clone())])
            .await
            .unwrap();
        tx.insert_glue(tld, &[(dn("ns.name0.demo"), glue)])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = db.store.read().await.unwrap();
        assert_eq!(tx.count_domains(tld).await.unwrap(), 2500);
        let domain = tx.domain(&names[7]).await.unwrap().unwrap();
        assert_eq!(domain.statuses, locked);
        assert_eq!(
            domain.nameservers,
            [dn("ns.name0.demo"), dn("ns1.host.example")]
        );
        assert_eq!(domain.ds, vec![ds]);
        assert_eq!(domain.created_at, at(5));
        assert!(tx.domain(&dn("unregistered.demo")).await.unwrap().is_none());
        assert_eq!(tx.glue(&dn("ns.name0.demo")).await.unwrap(), [glue]);
        let (stored_soa, apex) = tx.tld_apex(tld).await.unwrap().unwrap();
        assert_eq!(stored_soa, soa);
        assert_eq!(apex, [dn("ns1.nic.demo")]);
    }
}

/// The store opened again (the migrations not recorded as run, run) after `statements` ran on
/// its database, each as it is, with the store closed.
async fn reopened_after(db: &TestStore, statements: &[String]) -> Store {
    db.store.close().await;
    match db.store.backend() {
        Backend::Sqlite => run_on::<sqlx::SqliteConnection>(&db.url, statements).await,
        Backend::Postgres => run_on::<sqlx::PgConnection>(&db.url, statements).await,
    }
    Store::open(&db.url).await.unwrap()
}

/// The column type of a generated `id`, as the migrations declare it.
fn id_column(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY",
        Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    }
}

async fn run_on<C>(url: &str, statements: &[String])
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let mut conn = C::connect(url).await.unwrap();
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
}

/// Migration 0004 moved an action's names from a row each into batches: an action stored the
/// old way reads back with the same counts, results, details, effects and undo results, and an
/// undo left half-done still finds the names it has to reach.
#[tokio::test]
async fn names_stored_a_row_each_read_back_the_same_after_migration_0004() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let (org, user) = registry_with_user(&mut tx).await;
        tx.commit().await.unwrap();
        let without_rowid = match db.store.backend() {
            Backend::Sqlite => " WITHOUT ROWID",
            Backend::Postgres => "",
        };
        let statements = [
            "DROP TABLE action_batches".to_owned(),
            "DROP TABLE action_names".to_owned(),
            // 0010 runs again after it, on the batches it makes.
            "DELETE FROM _sqlx_migrations WHERE version IN (4, 10)".to_owned(),
            format!(
                "CREATE TABLE action_items (action_id BIGINT NOT NULL REFERENCES actions(id), \
                 seq BIGINT NOT NULL, name TEXT NOT NULL, result TEXT NOT NULL, detail TEXT, \
                 effect TEXT, undo TEXT, undo_detail TEXT, PRIMARY KEY (action_id, seq)){without_rowid}"
            ),
            format!(
                "INSERT INTO actions (id, org_id, kind, state, reason, requested_by, decided_by, \
                 total, created_at) VALUES (7, {org}, 'hold', 'undoing', 'botnet', 'desk', {user}, \
                 10002, 0)"
            ),
            // 10,002 names: every third applied (half of those undone or still to undo, the
            // fourth refused by undo), every third refused, the rest pending.
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 10001) \
             INSERT INTO action_items (action_id, seq, name, result, detail, effect, undo, \
             undo_detail) SELECT 7, i, 'n' || i || '.test', \
             CASE WHEN i % 3 = 0 THEN 'applied' WHEN i % 3 = 1 THEN 'refused' ELSE 'pending' END, \
             CASE WHEN i % 3 = 1 THEN 'a \"quoted\" reason' END, \
             CASE WHEN i % 3 = 0 THEN '{\"added_statuses\":[\"serverHold\"]}' END, \
             CASE WHEN i = 3 THEN 'refused' WHEN i % 6 = 0 THEN 'undone' \
                  WHEN i % 3 = 0 THEN 'pending' END, \
             CASE WHEN i = 3 THEN 'changed since' END FROM n"
                .to_owned(),
        ];
        let store = reopened_after(&db, &statements).await;
        let mut tx = store.read().await.unwrap();
        let action = tx.action(7).await.unwrap().unwrap();
        assert_eq!(
            action.counts,
            vec![
                (ItemResult::Pending, 3334),
                (ItemResult::Applied, 3334),
                (ItemResult::Refused, 3334),
            ]
        );
        assert_eq!((action.undone, action.undo_refused), (1667, 1));
        let items = tx.action_items(7, 9_998, 3).await.unwrap();
        let seqs: Vec<i64> = items.iter().map(|item| item.seq).collect();
        assert_eq!(seqs, [9_999, 10_000, 10_001]);
        assert_eq!(items[1].name, "n10000.test");
        assert_eq!(items[1].detail.as_deref(), Some("a \"quoted\" reason"));
        let first = tx.action_items(7, -1, 4).await.unwrap();
        assert_eq!(first[0].result, ItemResult::Applied);
        assert_eq!(first[0].undo, Some(true));
        assert_eq!(
            first[0].effect.as_ref().unwrap().added_statuses,
            [EppStatus::ServerHold]
        );
        assert_eq!(first[2].result, ItemResult::Pending);
        assert_eq!(first[3].undo, Some(false));
        assert_eq!(first[3].undo_detail.as_deref(), Some("changed since"));
        assert_eq!(tx.names_to_undo(7).await.unwrap(), 3334 - 1667 - 1);
        let next = tx.next_batches(7, true, 1).await.unwrap().remove(0);
        assert_eq!(next.first().map(|item| item.seq), Some(0));
        assert_eq!(next.len(), 10_000);
        drop(tx);
        store.close().await;
    }
}

/// Migration 0010 moved an action's names out of its batches' results: batches stored with
/// each name beside its results read back the same, names, results, details, effects and undo
/// results, in order; a domain's history still finds the action.
#[tokio::test]
async fn batches_stored_with_their_names_read_back_the_same_after_migration_0010() {
    for db in TestStore::each().await {
        let mut tx = db.store.write().await.unwrap();
        let (org, user) = registry_with_user(&mut tx).await;
        tx.commit().await.unwrap();
        let statements = [
            "DROP TABLE action_batches".to_owned(),
            "DROP TABLE action_names".to_owned(),
            "DELETE FROM _sqlx_migrations WHERE version = 10".to_owned(),
            "CREATE TABLE action_batches (action_id BIGINT NOT NULL REFERENCES actions(id), \
             first_seq BIGINT NOT NULL, size BIGINT NOT NULL, pending BIGINT NOT NULL, \
             applied BIGINT NOT NULL, already BIGINT NOT NULL, not_ours BIGINT NOT NULL, \
             refused BIGINT NOT NULL, invalid BIGINT NOT NULL, undone BIGINT NOT NULL, \
             undo_refused BIGINT NOT NULL, undo_pending BIGINT NOT NULL, items TEXT NOT NULL, \
             PRIMARY KEY (action_id, first_seq))"
                .to_owned(),
            format!(
                "INSERT INTO actions (id, org_id, kind, state, reason, requested_by, decided_by, \
                 total, created_at) VALUES (7, {org}, 'hold', 'undoing', 'botnet', 'desk', {user}, \
                 4, 0)"
            ),
            r#"INSERT INTO action_batches VALUES
               (7, 0, 3, 0, 2, 0, 0, 0, 1, 1, 0, 1, '[["a.test","applied",null,{"added_statuses":["serverHold"]},"undone",null],["b.test","applied",null,{"added_statuses":["serverHold"]},null,null],["B\"ad..é","invalid","a \"quoted\" reason",null,null,null]]'),
               (7, 3, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, '[["c.test","refused","held",null,"refused","changed since"]]')"#
                .to_owned(),
        ];
        let store = reopened_after(&db, &statements).await;
        let mut tx = store.read().await.unwrap();
        let items = tx.action_items(7, -1, 10).await.unwrap();
        let read: Vec<_> = items
            .iter()
            .map(|item| {
                (
                    item.seq,
                    item.name.as_str(),
                    item.result,
                    item.detail.as_deref(),
                    item.effect
                        .as_ref()
                        .map(|effect| effect.added_statuses.clone()),
                    item.undo,
                    item.undo_detail.as_deref(),
                )
            })
            .collect();
        let held = Some(vec![EppStatus::ServerHold]);
        assert_eq!(
            read,
            [
                (
                    0,
                    "a.test",
                    ItemResult::Applied,
                    None,
                    held.clone(),
                    Some(true),
                    None
                ),
                (1, "b.test", ItemResult::Applied, None, held, None, None),
                (
                    2,
                    "B\"ad..é",
                    ItemResult::Invalid,
                    Some("a \"quoted\" reason"),
                    None,
                    None,
                    None
                ),
                (
                    3,
                    "c.test",
                    ItemResult::Refused,
                    Some("held"),
                    None,
                    Some(false),
                    Some("changed since")
                ),
            ],
            "{:?}",
            db.backend()
        );
        let next = tx.next_batches(7, true, 5).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0][1].name, "b.test");
        let history = tx.actions_naming(None, "b.test", 10).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].1.seq, 1);
        drop(tx);
        store.close().await;
    }
}

/// Migration 0011 moved a blocked name's TLD to its order: an order with names in two TLDs
/// (of two registries) becomes two, each name still blocked as it was, each registry seeing its
/// own; a lifted order stays lifted.
#[tokio::test]
async fn blocks_stored_with_their_tld_read_back_the_same_after_migration_0011() {
    for db in TestStore::each().await {
        let backend = db.backend();
        let mut tx = db.store.write().await.unwrap();
        let demo = registry_tld(&mut tx).await;
        let other_org = tx
            .insert_organisation("Other Registry", OrgKind::Registry, at(0))
            .await
            .unwrap();
        let other = tx.insert_tld("other", other_org, at(0)).await.unwrap();
        tx.commit().await.unwrap();
        let id = id_column(backend);
        let statements = [
            "DROP TABLE blocked_names".to_owned(),
            "DROP TABLE block_orders".to_owned(),
            "DELETE FROM _sqlx_migrations WHERE version = 11".to_owned(),
            format!(
                "CREATE TABLE block_orders (id {id}, reason TEXT NOT NULL, \
                 requested_by TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL, \
                 action_id BIGINT, lifted_at BIGINT)"
            ),
            "CREATE TABLE blocked_names (name TEXT PRIMARY KEY, \
             tld_id BIGINT NOT NULL REFERENCES tlds(id), \
             order_id BIGINT NOT NULL REFERENCES block_orders(id))"
                .to_owned(),
            // Orders 1 (in force) and 2 (lifted).
            format!(
                "INSERT INTO block_orders (reason, requested_by, starts_at, ends_at, lifted_at) \
                 VALUES ('DGA', 'le@police.example', 0, {end}, NULL), \
                 ('spam', 'a@b.example', 0, {end}, {lifted})",
                end = 1_790_000_100_000_000_i64,
                lifted = 1_790_000_050_000_000_i64,
            ),
            format!(
                "INSERT INTO blocked_names VALUES ('a.demo', {demo}, 1), ('b.demo', {demo}, 1), \
                 ('a.other', {other}, 1)"
            ),
        ];
        let store = reopened_after(&db, &statements).await;
        let mut tx = store.write().await.unwrap();
        for name in ["a.demo", "b.demo", "a.other"] {
            let block = tx.active_block(&dn(name), at(50)).await.unwrap().unwrap();
            assert_eq!(
                (block.reason.as_str(), block.ends_at),
                ("DGA", at(100)),
                "{backend:?} {name}"
            );
        }
        let list = tx.blocks_in_force(None, at(50), at(150), 10).await.unwrap();
        assert_eq!(list.total, 3, "{backend:?}");
        let names = |list: holdfast_store::BlockList| -> Vec<String> {
            list.first.into_iter().map(|block| block.name).collect()
        };
        let theirs = tx
            .blocks_in_force(Some(other_org), at(50), at(150), 10)
            .await
            .unwrap();
        assert_eq!(names(theirs), ["a.other"], "{backend:?}");
        // The lifted order lifts nothing again; the split orders lift by themselves.
        assert!(tx.lift_expired_blocks(at(60)).await.unwrap().is_empty());
        let mut lifted = tx.lift_expired_blocks(at(100)).await.unwrap();
        lifted.sort();
        assert_eq!(lifted, ["a.demo", "a.other", "b.demo"], "{backend:?}");
        tx.commit().await.unwrap();
        store.close().await;
    }
}

/// Blocks one or more names until `until` (or, with `None`, lifts their blocks) as an action
/// would, through `write_states`.
async fn set_blocked(
    tx: &mut Tx,
    tld: i64,
    names: &[&str],
    was: Option<i64>,
    until: Option<i64>,
    why: &str,
) {
    let state = |end: Option<i64>| holdfast_model::NameState {
        registration: None,
        blocked_until: end.map(at),
    };
    let (before, after) = (state(was), state(until));
    let names: Vec<_> = names.iter().map(|name| dn(name)).collect();
    let changes: Vec<holdfast_store::StateChange<'_>> = names
        .iter()
        .map(|name| holdfast_store::StateChange {
            name,
            tld_id: tld,
            before: &before,
            after: &after,
        })
        .collect();
    let origin = holdfast_store::BlockOrigin {
        action_id: None,
        reason: why,
        requested_by: "desk@registry.example",
    };
    tx.write_states(&changes, origin, at(10)).await.unwrap();
}

/// A block is stored once per decision with a row per name: it guards its names until its end
/// date, a name whose block ended can be blocked again before the ended block is lifted, lifting
/// takes off only the names still under the ended block, and an undo takes off one name.
#[tokio::test]
async fn blocks_guard_until_their_end_lift_by_order_and_can_be_renewed() {
    for db in TestStore::each().await {
        let backend = db.backend();
        let mut tx = db.store.write().await.unwrap();
        let tld = registry_tld(&mut tx).await;
        set_blocked(
            &mut tx,
            tld,
            &["dga1.demo", "dga2.demo"],
            None,
            Some(100),
            "DGA",
        )
        .await;
        let blocked = tx
            .name_states(&[dn("dga1.demo"), dn("dga3.demo")], at(50))
            .await
            .unwrap();
        assert_eq!(blocked.len(), 1, "{backend:?}");
        assert_eq!(blocked[&dn("dga1.demo")].blocked_until, Some(at(100)));
        let list = tx.blocks_in_force(None, at(50), at(200), 10).await.unwrap();
        assert_eq!((list.total, list.lifting_soon), (2, 2), "{backend:?}");
        assert_eq!(list.first[0].name, "dga1.demo");
        assert_eq!(list.first[1].reason, "DGA");
        assert_eq!(list.first[1].ends_at, at(100));

        // The end date passes: nothing guards the names any more, lifted or not.
        assert!(
            tx.active_block(&dn("dga1.demo"), at(101))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            tx.name_states(&[dn("dga2.demo")], at(101))
                .await
                .unwrap()
                .is_empty()
        );
        // dga1 is blocked again before the lift: its row now belongs to the new block.
        set_blocked(&mut tx, tld, &["dga1.demo"], None, Some(300), "renewed").await;
        let renewed = tx
            .active_block(&dn("dga1.demo"), at(101))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (renewed.reason.as_str(), renewed.ends_at),
            ("renewed", at(300))
        );

        let lifted = tx.lift_expired_blocks(at(101)).await.unwrap();
        assert_eq!(lifted, vec!["dga2.demo".to_owned()], "{backend:?}");
        assert!(tx.lift_expired_blocks(at(102)).await.unwrap().is_empty());
        let list = tx
            .blocks_in_force(None, at(101), at(200), 10)
            .await
            .unwrap();
        assert_eq!((list.total, list.lifting_soon), (1, 0), "{backend:?}");
        assert_eq!(list.first[0].name, "dga1.demo");

        // An undo lifts the one name.
        set_blocked(&mut tx, tld, &["dga1.demo"], Some(300), None, "").await;
        assert!(
            tx.active_block(&dn("dga1.demo"), at(101))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            tx.blocks_in_force(None, at(101), at(200), 10)
                .await
                .unwrap()
                .total,
            0
        );
        tx.commit().await.unwrap();
    }
}

/// Migration 0009 split blocks into orders and names: blocks stored a row each the old way read
/// back with their reason, requester and end; lifted ones stay lifted; new blocks get new ids.
#[tokio::test]
async fn blocks_stored_a_row_each_read_back_the_same_after_migration_0009() {
    for db in TestStore::each().await {
        let backend = db.backend();
        let mut tx = db.store.write().await.unwrap();
        let tld = registry_tld(&mut tx).await;
        tx.commit().await.unwrap();
        let id = id_column(backend);
        let statements = [
            "DROP TABLE blocked_names".to_owned(),
            "DROP TABLE block_orders".to_owned(),
            // 0011 runs again after it, on the orders it makes.
            "DELETE FROM _sqlx_migrations WHERE version IN (9, 11)".to_owned(),
            format!(
                "CREATE TABLE blocks (id {id}, name TEXT NOT NULL, tld_id BIGINT NOT NULL, \
                 reason TEXT NOT NULL, requested_by TEXT NOT NULL, starts_at BIGINT NOT NULL, \
                 ends_at BIGINT NOT NULL, lifted_at BIGINT, action_id BIGINT)"
            ),
            format!(
                "INSERT INTO blocks (id, name, tld_id, reason, requested_by, starts_at, ends_at, \
                 lifted_at) VALUES \
                 (2, 'old.demo', {tld}, 'spam', 'a@b.example', 0, {end}, {lifted}), \
                 (1, 'kept.demo', {tld}, 'DGA \"x\"', 'le@police.example', 0, {end}, NULL)",
                end = 1_790_000_100_000_000_i64,
                lifted = 1_790_000_050_000_000_i64,
            ),
        ];
        let store = reopened_after(&db, &statements).await;
        let mut tx = store.write().await.unwrap();
        assert!(
            tx.active_block(&dn("old.demo"), at(50))
                .await
                .unwrap()
                .is_none(),
            "{backend:?}"
        );
        let kept = tx
            .active_block(&dn("kept.demo"), at(50))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.reason, "DGA \"x\"");
        assert_eq!(kept.requested_by, "le@police.example");
        assert_eq!(kept.ends_at, at(100));
        set_blocked(&mut tx, tld, &["new.demo"], None, Some(200), "new").await;
        let list = tx.blocks_in_force(None, at(50), at(150), 10).await.unwrap();
        assert_eq!((list.total, list.lifting_soon), (2, 1), "{backend:?}");
        tx.commit().await.unwrap();
        store.close().await;
    }
}
