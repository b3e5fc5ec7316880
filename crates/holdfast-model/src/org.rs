//! Organisations, roles and the authorisation policy: which role may do what, and to whose data.

use serde::{Deserialize, Serialize};

/// What an organisation is in the workflow. A user's role must fit the kind of their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The operator of this installation; home of the admins.
    Operator,
    /// A registry operator running one or more TLDs.
    Registry,
    /// An accredited registrar.
    Registrar,
    /// ICANN's Security Response Team, reviewing waiver requests.
    Reviewer,
    /// A reporting organisation: law enforcement, a CERT, a security firm, or the public.
    Reporter,
}

/// The role of a user. Each role belongs to exactly one [`OrgKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operator of the installation: organisations, users, TLDs, calendars, templates.
    Admin,
    /// The abuse/security desk of a registry.
    RegistryStaff,
    /// Staff of a registrar.
    RegistrarStaff,
    /// A member of ICANN's Security Response Team.
    Reviewer,
    /// Someone who files reports.
    Reporter,
}

impl OrgKind {
    /// All kinds, in a stable order.
    pub const ALL: [OrgKind; 5] = [
        OrgKind::Operator,
        OrgKind::Registry,
        OrgKind::Registrar,
        OrgKind::Reviewer,
        OrgKind::Reporter,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Operator => "operator",
            OrgKind::Registry => "registry",
            OrgKind::Registrar => "registrar",
            OrgKind::Reviewer => "reviewer",
            OrgKind::Reporter => "reporter",
        }
    }

    /// The role of the users of an organisation of this kind.
    pub fn role(self) -> Role {
        match self {
            OrgKind::Operator => Role::Admin,
            OrgKind::Registry => Role::RegistryStaff,
            OrgKind::Registrar => Role::RegistrarStaff,
            OrgKind::Reviewer => Role::Reviewer,
            OrgKind::Reporter => Role::Reporter,
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl Role {
    /// All roles, in a stable order.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::RegistryStaff,
        Role::RegistrarStaff,
        Role::Reviewer,
        Role::Reporter,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::RegistryStaff => "registry_staff",
            Role::RegistrarStaff => "registrar_staff",
            Role::Reviewer => "reviewer",
            Role::Reporter => "reporter",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// The only kind of organisation a user with this role can belong to.
    pub fn org_kind(self) -> OrgKind {
        match self {
            Role::Admin => OrgKind::Operator,
            Role::RegistryStaff => OrgKind::Registry,
            Role::RegistrarStaff => OrgKind::Registrar,
            Role::Reviewer => OrgKind::Reviewer,
            Role::Reporter => OrgKind::Reporter,
        }
    }
}

/// Who is acting: an authenticated user, with the organisation and role the request runs under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The user's id.
    pub user_id: i64,
    /// The user's organisation.
    pub org_id: i64,
    /// The user's role.
    pub role: Role,
    /// The user's e-mail address, as recorded in the audit log.
    pub email: String,
}

/// Something a request wants to do. The policy below decides per role; data scoping (which
/// organisation's rows) is decided by [`Actor::may_see_org`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Create organisations and users; see every organisation.
    ManageAccounts,
    /// Create or change TLDs.
    ManageTlds,
    /// Create registrars (shared by every registry of the installation).
    ManageRegistrars,
    /// List registrars (admins and registry staff all; registrar staff their own).
    ReadRegistrars,
    /// List TLDs (admins all; registry staff their own).
    ReadTlds,
    /// Read audit entries (admins all; staff those of their organisation).
    ReadAudit,
    /// See the other members of one's organisation (reporters see only themselves).
    ListMembers,
    /// Verify the whole audit chain.
    VerifyAudit,
    /// See one's own organisation and its members.
    ReadOwnOrg,
    /// Decide, approve and undo actions on names of the organisation's TLDs; see them.
    TakeAction,
    /// Register names and change them as a registrar would (the registry's own operations).
    OperateRegistry,
    /// Work the registry's case desk: queue, cases, steps, desk settings, templates.
    WorkCases,
    /// File reports with a registry (and see one's own).
    FileReports,
    /// See and answer referrals to one's own registrar.
    AnswerReferrals,
    /// Write and submit Security Response Waiver requests for one's organisation.
    RequestWaivers,
    /// Review submitted waiver requests (ICANN's team).
    ReviewWaivers,
}

impl Role {
    /// Whether this role may do `permission` at all.
    pub fn may(self, permission: Permission) -> bool {
        match permission {
            Permission::ManageAccounts
            | Permission::ManageTlds
            | Permission::ManageRegistrars
            | Permission::VerifyAudit => self == Role::Admin,
            Permission::ReadTlds | Permission::TakeAction | Permission::WorkCases => {
                matches!(self, Role::Admin | Role::RegistryStaff)
            }
            Permission::OperateRegistry => {
                matches!(
                    self,
                    Role::Admin | Role::RegistryStaff | Role::RegistrarStaff
                )
            }
            Permission::ReadRegistrars => {
                matches!(
                    self,
                    Role::Admin | Role::RegistryStaff | Role::RegistrarStaff
                )
            }
            Permission::ReadAudit | Permission::ListMembers => self != Role::Reporter,
            Permission::ReadOwnOrg => true,
            Permission::FileReports => self != Role::Reviewer,
            Permission::AnswerReferrals => self == Role::RegistrarStaff,
            Permission::RequestWaivers => {
                matches!(self, Role::RegistryStaff | Role::RegistrarStaff)
            }
            Permission::ReviewWaivers => self == Role::Reviewer,
        }
    }
}

impl Actor {
    /// Whether this actor may see data belonging to organisation `org_id`: admins see every
    /// organisation, everyone else only their own.
    pub fn may_see_org(&self, org_id: i64) -> bool {
        self.role == Role::Admin || self.org_id == org_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for kind in OrgKind::ALL {
            assert_eq!(OrgKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.role().org_kind(), kind);
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_admins_manage_accounts() {
        let allowed: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|role| role.may(Permission::ManageAccounts))
            .collect();
        assert_eq!(allowed, vec![Role::Admin]);
    }

    #[test]
    fn non_admins_see_only_their_organisation() {
        let actor = Actor {
            user_id: 1,
            org_id: 7,
            role: Role::RegistrarStaff,
            email: "a@example.net".into(),
        };
        assert!(actor.may_see_org(7));
        assert!(!actor.may_see_org(8));
        let admin = Actor {
            role: Role::Admin,
            ..actor
        };
        assert!(admin.may_see_org(8));
    }
}
