//! EPP domain statuses (RFC 5731 section 2.3): `EppStatus`, who may set each (`Side`), and
//! `EppStatusSet`, a set that can only hold a combination the RFC allows.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A domain status value of RFC 5731 section 2.3, spelled as in the RFC (case-sensitive).
///
/// The declaration order is the stable order in which [`EppStatusSet::iter`] yields statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EppStatus {
    /// `ok`: no pending operations or prohibitions; set and removed by the server as other
    /// statuses are removed and added.
    Ok,
    /// `inactive`: no delegation information (no nameservers) is associated with the domain.
    Inactive,
    /// `clientDeleteProhibited`: requests to delete the domain must be rejected.
    ClientDeleteProhibited,
    /// `clientHold`: DNS delegation information must not be published.
    ClientHold,
    /// `clientRenewProhibited`: requests to renew the domain must be rejected.
    ClientRenewProhibited,
    /// `clientTransferProhibited`: requests to transfer the domain must be rejected.
    ClientTransferProhibited,
    /// `clientUpdateProhibited`: requests to update the domain (other than to remove this
    /// status) must be rejected.
    ClientUpdateProhibited,
    /// `serverDeleteProhibited`: requests to delete the domain must be rejected.
    ServerDeleteProhibited,
    /// `serverHold`: DNS delegation information must not be published.
    ServerHold,
    /// `serverRenewProhibited`: requests to renew the domain must be rejected.
    ServerRenewProhibited,
    /// `serverTransferProhibited`: requests to transfer the domain must be rejected.
    ServerTransferProhibited,
    /// `serverUpdateProhibited`: requests to update the domain (other than to remove this
    /// status) must be rejected.
    ServerUpdateProhibited,
    /// `pendingCreate`: a create command was processed but the server has not completed it.
    PendingCreate,
    /// `pendingDelete`: a delete command was processed but the server has not completed it.
    PendingDelete,
    /// `pendingRenew`: a renew command was processed but the server has not completed it.
    PendingRenew,
    /// `pendingTransfer`: a transfer command was processed but the server has not completed it.
    PendingTransfer,
    /// `pendingUpdate`: an update command was processed but the server has not completed it.
    PendingUpdate,
}

/// Who may add or remove a status directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The sponsoring client: the registrar.
    Client,
    /// The server: the registry.
    Server,
}

impl EppStatus {
    /// All 17 statuses, in declaration order.
    pub const ALL: [EppStatus; 17] = [
        EppStatus::Ok,
        EppStatus::Inactive,
        EppStatus::ClientDeleteProhibited,
        EppStatus::ClientHold,
        EppStatus::ClientRenewProhibited,
        EppStatus::ClientTransferProhibited,
        EppStatus::ClientUpdateProhibited,
        EppStatus::ServerDeleteProhibited,
        EppStatus::ServerHold,
        EppStatus::ServerRenewProhibited,
        EppStatus::ServerTransferProhibited,
        EppStatus::ServerUpdateProhibited,
        EppStatus::PendingCreate,
        EppStatus::PendingDelete,
        EppStatus::PendingRenew,
        EppStatus::PendingTransfer,
        EppStatus::PendingUpdate,
    ];

    /// The RFC 5731 spelling, e.g. `clientTransferProhibited`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EppStatus::Ok => "ok",
            EppStatus::Inactive => "inactive",
            EppStatus::ClientDeleteProhibited => "clientDeleteProhibited",
            EppStatus::ClientHold => "clientHold",
            EppStatus::ClientRenewProhibited => "clientRenewProhibited",
            EppStatus::ClientTransferProhibited => "clientTransferProhibited",
            EppStatus::ClientUpdateProhibited => "clientUpdateProhibited",
            EppStatus::ServerDeleteProhibited => "serverDeleteProhibited",
            EppStatus::ServerHold => "serverHold",
            EppStatus::ServerRenewProhibited => "serverRenewProhibited",
            EppStatus::ServerTransferProhibited => "serverTransferProhibited",
            EppStatus::ServerUpdateProhibited => "serverUpdateProhibited",
            EppStatus::PendingCreate => "pendingCreate",
            EppStatus::PendingDelete => "pendingDelete",
            EppStatus::PendingRenew => "pendingRenew",
            EppStatus::PendingTransfer => "pendingTransfer",
            EppStatus::PendingUpdate => "pendingUpdate",
        }
    }

    /// Who may add or remove this status directly: the client (registrar) for `client*`, the
    /// server (registry) for `server*`. `None` for `ok`, `inactive` and `pending*`: RFC 5731
    /// calls them server-managed, and the server derives them from the domain's state (its
    /// other statuses, its nameservers, a pending command); nobody sets them by request.
    pub const fn settable_by(self) -> Option<Side> {
        match self {
            EppStatus::ClientDeleteProhibited
            | EppStatus::ClientHold
            | EppStatus::ClientRenewProhibited
            | EppStatus::ClientTransferProhibited
            | EppStatus::ClientUpdateProhibited => Some(Side::Client),
            EppStatus::ServerDeleteProhibited
            | EppStatus::ServerHold
            | EppStatus::ServerRenewProhibited
            | EppStatus::ServerTransferProhibited
            | EppStatus::ServerUpdateProhibited => Some(Side::Server),
            EppStatus::Ok
            | EppStatus::Inactive
            | EppStatus::PendingCreate
            | EppStatus::PendingDelete
            | EppStatus::PendingRenew
            | EppStatus::PendingTransfer
            | EppStatus::PendingUpdate => None,
        }
    }

    /// Whether this is one of the five `pending*` statuses.
    pub const fn is_pending(self) -> bool {
        self.bit() & PENDING != 0
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl fmt::Display for EppStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EppStatus {
    type Err = StatusError;

    /// Accepts exactly the RFC spelling; `ClientHold` or `CLIENTHOLD` are refused (the error
    /// suggests the right spelling).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        EppStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| StatusError::Unknown {
                value: value.to_owned(),
            })
    }
}

impl Serialize for EppStatus {
    /// The RFC spelling, as a string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EppStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(EppStatusVisitor)
    }
}

struct EppStatusVisitor;

impl Visitor<'_> for EppStatusVisitor {
    type Value = EppStatus;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EPP domain status such as \"clientHold\"")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<EppStatus, E> {
        value.parse().map_err(E::custom)
    }
}

/// Why a status is unknown or a combination is not allowed. The combination variants quote the
/// sentence of RFC 5731 section 2.3 they enforce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// Not one of the 17 statuses of RFC 5731 (spelling is case-sensitive).
    #[error(
        "unknown EPP status '{}'{}; the statuses of RFC 5731 (case-sensitive) are: {}",
        .value.escape_debug(),
        suggestion(.value),
        all_statuses()
    )]
    Unknown {
        /// The value given.
        value: String,
    },
    /// `ok` together with another status.
    #[error(
        "'ok' cannot be combined with '{other}': RFC 5731 section 2.3 says \"\"ok\" status MUST \
         NOT be combined with any other status.\""
    )]
    OkCombined {
        /// The other status.
        other: EppStatus,
    },
    /// Two `pending*` statuses together.
    #[error(
        "'{first}' and '{second}' cannot be combined: RFC 5731 section 2.3 says \"The \
         pendingCreate, pendingDelete, pendingRenew, pendingTransfer, and pendingUpdate status \
         values MUST NOT be combined with each other.\""
    )]
    PendingCombined {
        /// The first, in declaration order.
        first: EppStatus,
        /// The second, in declaration order.
        second: EppStatus,
    },
    /// `pendingX` together with `clientXProhibited` or `serverXProhibited`.
    #[error(
        "'{pending}' cannot be combined with '{prohibition}': RFC 5731 section 2.3 says \
         \"\"{pending}\" status MUST NOT be combined with either \"client{0}Prohibited\" or \
         \"server{0}Prohibited\" status.\"",
        action(*.pending)
    )]
    PendingWithProhibition {
        /// The `pending*` status.
        pending: EppStatus,
        /// The `client*Prohibited` or `server*Prohibited` status.
        prohibition: EppStatus,
    },
}

fn suggestion(value: &str) -> String {
    EppStatus::ALL
        .into_iter()
        .find(|status| status.as_str().eq_ignore_ascii_case(value))
        .map(|status| format!(" (did you mean '{status}'?)"))
        .unwrap_or_default()
}

fn all_statuses() -> String {
    EppStatus::ALL.map(EppStatus::as_str).join(", ")
}

/// The pending statuses that exclude a pair of prohibitions. RFC 5731 section 2.3:
/// "\"pendingDelete\" status MUST NOT be combined with either \"clientDeleteProhibited\" or
/// \"serverDeleteProhibited\" status." and the same sentence for Renew, Transfer and Update.
const PENDING_VERSUS_PROHIBITIONS: [(EppStatus, EppStatus, EppStatus); 4] = [
    (
        EppStatus::PendingDelete,
        EppStatus::ClientDeleteProhibited,
        EppStatus::ServerDeleteProhibited,
    ),
    (
        EppStatus::PendingRenew,
        EppStatus::ClientRenewProhibited,
        EppStatus::ServerRenewProhibited,
    ),
    (
        EppStatus::PendingTransfer,
        EppStatus::ClientTransferProhibited,
        EppStatus::ServerTransferProhibited,
    ),
    (
        EppStatus::PendingUpdate,
        EppStatus::ClientUpdateProhibited,
        EppStatus::ServerUpdateProhibited,
    ),
];

/// The action a pending status waits for: `Delete` for `pendingDelete`.
fn action(pending: EppStatus) -> &'static str {
    pending.as_str().strip_prefix("pending").unwrap_or_default()
}

const OK: u32 = EppStatus::Ok.bit();
const PENDING: u32 = EppStatus::PendingCreate.bit()
    | EppStatus::PendingDelete.bit()
    | EppStatus::PendingRenew.bit()
    | EppStatus::PendingTransfer.bit()
    | EppStatus::PendingUpdate.bit();

/// The statuses of one domain: a small `Copy` bitset that only ever holds a combination
/// RFC 5731 section 2.3 allows.
///
/// The rules, each from a sentence of RFC 5731 section 2.3:
/// - "A domain object MUST always have at least one associated status value.", and of `ok`:
///   "This value is set and removed by the server as other status values are added or
///   removed." So `ok` is implicit: the set is `{ok}` exactly when it holds nothing else.
///   Inserting any other status into `{ok}` drops `ok`; removing the last other status brings
///   `ok` back. The set is never empty.
/// - "\"ok\" status MUST NOT be combined with any other status." Not even with `inactive`: a
///   domain without nameservers and without other statuses is `{inactive}`.
/// - "\"pendingDelete\" status MUST NOT be combined with either \"clientDeleteProhibited\" or
///   \"serverDeleteProhibited\" status.", and the same sentence for `pendingRenew`,
///   `pendingTransfer` and `pendingUpdate` with their prohibitions.
/// - "The pendingCreate, pendingDelete, pendingRenew, pendingTransfer, and pendingUpdate
///   status values MUST NOT be combined with each other."
///
/// "Other status combinations not expressly prohibited MAY be used." Every rule forbids a pair,
/// so removing a status never breaks one; only [`EppStatusSet::insert`] and
/// [`EppStatusSet::new`] can fail.
///
/// Serialises as a JSON array of RFC spellings in declaration order (`["ok"]` for `{ok}`);
/// deserialising validates the combination as [`EppStatusSet::new`] does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EppStatusSet {
    /// One bit per status (bit = declaration index). The `ok` bit is never stored: an empty
    /// `bits` means `{ok}`.
    bits: u32,
}

impl EppStatusSet {
    /// The set `{ok}`.
    pub const OK: EppStatusSet = EppStatusSet { bits: 0 };

    /// The set of `statuses`, if RFC 5731 allows the combination. Repeated statuses count
    /// once; no statuses at all, or just `ok`, give `{ok}`.
    pub fn new<I: IntoIterator<Item = EppStatus>>(statuses: I) -> Result<Self, StatusError> {
        let bits = statuses
            .into_iter()
            .fold(0, |bits, status| bits | status.bit());
        validate(bits).map(|bits| EppStatusSet { bits })
    }

    /// Adds `status`; `Ok(true)` if it was not there before. Adding anything to `{ok}` drops
    /// `ok`. Adding `ok` to a set that holds anything else, or any status the rules forbid next
    /// to one already present, is refused and leaves the set unchanged.
    pub fn insert(&mut self, status: EppStatus) -> Result<bool, StatusError> {
        if self.contains(status) {
            return Ok(false);
        }
        if status == EppStatus::Ok {
            // Not present, so the set holds something else.
            return Err(StatusError::OkCombined {
                other: lowest(self.bits),
            });
        }
        self.bits = validate(self.bits | status.bit())?;
        Ok(true)
    }

    /// Removes `status`; `true` if it was there. Removing the last status leaves `{ok}`;
    /// removing `ok` itself does nothing and returns `false`, since the server sets and clears
    /// it as other statuses come and go.
    pub fn remove(&mut self, status: EppStatus) -> bool {
        let present = self.bits & status.bit() != 0;
        self.bits &= !status.bit();
        present
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: EppStatus) -> bool {
        match status {
            EppStatus::Ok => self.bits == 0,
            _ => self.bits & status.bit() != 0,
        }
    }

    /// The statuses in declaration order (`ok`, `inactive`, `client*`, `server*`, `pending*`).
    pub fn iter(&self) -> Iter {
        Iter {
            bits: if self.bits == 0 { OK } else { self.bits },
        }
    }

    /// Whether the set is `{ok}`.
    pub fn is_ok(&self) -> bool {
        self.bits == 0
    }

    /// The pending status, if any (there is at most one).
    pub fn pending(&self) -> Option<EppStatus> {
        (self.bits & PENDING != 0).then(|| lowest(self.bits & PENDING))
    }

    /// Whether updates must be rejected: `clientUpdateProhibited` or `serverUpdateProhibited`
    /// is present. (A request that only removes the prohibition is still allowed, RFC 5731
    /// section 2.3.)
    pub fn prohibits_update(&self) -> bool {
        self.has_either(
            EppStatus::ClientUpdateProhibited,
            EppStatus::ServerUpdateProhibited,
        )
    }

    /// Whether transfers must be rejected: `clientTransferProhibited` or
    /// `serverTransferProhibited` is present.
    pub fn prohibits_transfer(&self) -> bool {
        self.has_either(
            EppStatus::ClientTransferProhibited,
            EppStatus::ServerTransferProhibited,
        )
    }

    /// Whether deletes must be rejected: `clientDeleteProhibited` or `serverDeleteProhibited`
    /// is present.
    pub fn prohibits_delete(&self) -> bool {
        self.has_either(
            EppStatus::ClientDeleteProhibited,
            EppStatus::ServerDeleteProhibited,
        )
    }

    /// Whether renewals must be rejected: `clientRenewProhibited` or `serverRenewProhibited`
    /// is present.
    pub fn prohibits_renew(&self) -> bool {
        self.has_either(
            EppStatus::ClientRenewProhibited,
            EppStatus::ServerRenewProhibited,
        )
    }

    /// Whether the domain is on hold (`clientHold` or `serverHold`): its delegation must not be
    /// published in DNS.
    pub fn is_held(&self) -> bool {
        self.has_either(EppStatus::ClientHold, EppStatus::ServerHold)
    }

    fn has_either(&self, client: EppStatus, server: EppStatus) -> bool {
        self.bits & (client.bit() | server.bit()) != 0
    }
}

/// The lowest status in `bits` (which must not be empty; gives `ok` if it is).
fn lowest(bits: u32) -> EppStatus {
    let index = bits.trailing_zeros() as usize;
    EppStatus::ALL.get(index).copied().unwrap_or(EppStatus::Ok)
}

/// Checks a raw combination (the `ok` bit may be set) against RFC 5731 section 2.3 and
/// returns it with `ok` made implicit. Rules are checked in a fixed order, so the same
/// combination always gives the same error.
fn validate(bits: u32) -> Result<u32, StatusError> {
    let others = bits & !OK;
    if bits & OK != 0 && others != 0 {
        return Err(StatusError::OkCombined {
            other: lowest(others),
        });
    }
    let pending = bits & PENDING;
    if pending.count_ones() > 1 {
        let first = lowest(pending);
        return Err(StatusError::PendingCombined {
            first,
            second: lowest(pending & !first.bit()),
        });
    }
    for (pending, client, server) in PENDING_VERSUS_PROHIBITIONS {
        if bits & pending.bit() == 0 {
            continue;
        }
        for prohibition in [client, server] {
            if bits & prohibition.bit() != 0 {
                return Err(StatusError::PendingWithProhibition {
                    pending,
                    prohibition,
                });
            }
        }
    }
    Ok(others)
}

/// Iterator over an [`EppStatusSet`], in declaration order.
#[derive(Debug, Clone)]
pub struct Iter {
    bits: u32,
}

impl Iterator for Iter {
    type Item = EppStatus;

    fn next(&mut self) -> Option<EppStatus> {
        if self.bits == 0 {
            return None;
        }
        let status = lowest(self.bits);
        self.bits &= !status.bit();
        Some(status)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let count = self.bits.count_ones() as usize;
        (count, Some(count))
    }
}

impl ExactSizeIterator for Iter {}

impl IntoIterator for EppStatusSet {
    type Item = EppStatus;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

impl IntoIterator for &EppStatusSet {
    type Item = EppStatus;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

impl fmt::Debug for EppStatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(EppStatus::as_str))
            .finish()
    }
}

impl Serialize for EppStatusSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for EppStatusSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(EppStatusSetVisitor)
    }
}

struct EppStatusSetVisitor;

impl<'de> Visitor<'de> for EppStatusSetVisitor {
    type Value = EppStatusSet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of EPP domain statuses")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EppStatusSet, A::Error> {
        let mut bits = 0;
        while let Some(status) = seq.next_element::<EppStatus>()? {
            bits |= status.bit();
        }
        validate(bits)
            .map(|bits| EppStatusSet { bits })
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EppStatus::{
        ClientDeleteProhibited, ClientHold, ClientRenewProhibited, ClientTransferProhibited,
        ClientUpdateProhibited, Inactive, PendingCreate, PendingDelete, PendingRenew,
        PendingTransfer, PendingUpdate, ServerDeleteProhibited, ServerHold, ServerRenewProhibited,
        ServerTransferProhibited, ServerUpdateProhibited,
    };
    use proptest::prelude::*;

    /// Expected outcome of building a set from some statuses.
    enum Expect {
        /// Accepted; iterating gives these statuses.
        Valid(&'static [EppStatus]),
        /// Refused with this error.
        Invalid(StatusError),
    }
    use Expect::{Invalid, Valid};

    fn check(statuses: &[EppStatus], expect: Expect) {
        let built = EppStatusSet::new(statuses.iter().copied());
        match expect {
            Valid(members) => {
                let set = built.unwrap_or_else(|e| panic!("{statuses:?} refused: {e}"));
                assert_eq!(set.iter().collect::<Vec<_>>(), members, "{statuses:?}");
                // Inserting one by one, in any order, gives the same set.
                let mut forwards = EppStatusSet::OK;
                let mut backwards = EppStatusSet::OK;
                for &status in statuses {
                    forwards.insert(status).unwrap();
                }
                for &status in statuses.iter().rev() {
                    backwards.insert(status).unwrap();
                }
                assert_eq!(forwards, set, "{statuses:?}");
                assert_eq!(backwards, set, "{statuses:?}");
            }
            Invalid(error) => assert_eq!(built, Err(error), "{statuses:?}"),
        }
    }

    #[test]
    fn combinations() {
        check(&[], Valid(&[EppStatus::Ok]));
        check(&[EppStatus::Ok], Valid(&[EppStatus::Ok]));
        check(&[EppStatus::Ok, EppStatus::Ok], Valid(&[EppStatus::Ok]));
        check(&[Inactive], Valid(&[Inactive]));
        check(&[ClientHold, ServerHold], Valid(&[ClientHold, ServerHold]));
        check(
            &[
                ServerUpdateProhibited,
                ClientTransferProhibited,
                Inactive,
                ServerDeleteProhibited,
            ],
            Valid(&[
                Inactive,
                ClientTransferProhibited,
                ServerDeleteProhibited,
                ServerUpdateProhibited,
            ]),
        );
        check(
            &[
                PendingDelete,
                ServerHold,
                ClientTransferProhibited,
                ServerUpdateProhibited,
            ],
            Valid(&[
                ClientTransferProhibited,
                ServerHold,
                ServerUpdateProhibited,
                PendingDelete,
            ]),
        );
        check(
            &[PendingCreate, Inactive],
            Valid(&[Inactive, PendingCreate]),
        );
        check(
            &[PendingCreate, ClientDeleteProhibited, ServerRenewProhibited],
            Valid(&[ClientDeleteProhibited, ServerRenewProhibited, PendingCreate]),
        );
        check(
            &[PendingTransfer, ClientDeleteProhibited],
            Valid(&[ClientDeleteProhibited, PendingTransfer]),
        );
        // Every status but ok and the pending ones at once.
        let all_but: Vec<EppStatus> = EppStatus::ALL
            .into_iter()
            .filter(|s| *s != EppStatus::Ok && !s.is_pending())
            .collect();
        let set = EppStatusSet::new(all_but.iter().copied()).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), all_but);

        check(
            &[EppStatus::Ok, Inactive],
            Invalid(StatusError::OkCombined { other: Inactive }),
        );
        check(
            &[ClientHold, EppStatus::Ok],
            Invalid(StatusError::OkCombined { other: ClientHold }),
        );
        check(
            &[PendingDelete, PendingRenew],
            Invalid(StatusError::PendingCombined {
                first: PendingDelete,
                second: PendingRenew,
            }),
        );
        check(
            &[PendingUpdate, PendingCreate, PendingTransfer],
            Invalid(StatusError::PendingCombined {
                first: PendingCreate,
                second: PendingTransfer,
            }),
        );
        for (pending, client, server) in PENDING_VERSUS_PROHIBITIONS {
            check(
                &[pending, client],
                Invalid(StatusError::PendingWithProhibition {
                    pending,
                    prohibition: client,
                }),
            );
            check(
                &[server, pending],
                Invalid(StatusError::PendingWithProhibition {
                    pending,
                    prohibition: server,
                }),
            );
        }
        // The ok rule is checked first, then pending exclusivity, then the prohibitions.
        check(
            &[
                EppStatus::Ok,
                PendingDelete,
                PendingRenew,
                ClientDeleteProhibited,
            ],
            Invalid(StatusError::OkCombined {
                other: ClientDeleteProhibited,
            }),
        );
        check(
            &[PendingDelete, PendingRenew, ClientDeleteProhibited],
            Invalid(StatusError::PendingCombined {
                first: PendingDelete,
                second: PendingRenew,
            }),
        );
    }

    #[test]
    fn messages() {
        let cases: &[(StatusError, &str)] = &[
            (
                StatusError::OkCombined { other: Inactive },
                "'ok' cannot be combined with 'inactive': RFC 5731 section 2.3 says \"\"ok\" \
                 status MUST NOT be combined with any other status.\"",
            ),
            (
                StatusError::PendingCombined {
                    first: PendingCreate,
                    second: PendingUpdate,
                },
                "'pendingCreate' and 'pendingUpdate' cannot be combined: RFC 5731 section 2.3 \
                 says \"The pendingCreate, pendingDelete, pendingRenew, pendingTransfer, and \
                 pendingUpdate status values MUST NOT be combined with each other.\"",
            ),
            (
                StatusError::PendingWithProhibition {
                    pending: PendingTransfer,
                    prohibition: ServerTransferProhibited,
                },
                "'pendingTransfer' cannot be combined with 'serverTransferProhibited': RFC 5731 \
                 section 2.3 says \"\"pendingTransfer\" status MUST NOT be combined with either \
                 \"clientTransferProhibited\" or \"serverTransferProhibited\" status.\"",
            ),
            (
                StatusError::Unknown {
                    value: "ClientHold".to_owned(),
                },
                "unknown EPP status 'ClientHold' (did you mean 'clientHold'?); the statuses of \
                 RFC 5731 (case-sensitive) are: ok, inactive, clientDeleteProhibited, \
                 clientHold, clientRenewProhibited, clientTransferProhibited, \
                 clientUpdateProhibited, serverDeleteProhibited, serverHold, \
                 serverRenewProhibited, serverTransferProhibited, serverUpdateProhibited, \
                 pendingCreate, pendingDelete, pendingRenew, pendingTransfer, pendingUpdate",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), *message);
        }
        let unknown = "locked".parse::<EppStatus>().unwrap_err().to_string();
        assert!(
            unknown.starts_with("unknown EPP status 'locked'; the statuses"),
            "{unknown}"
        );
    }

    #[test]
    fn spelling_and_sides() {
        for status in EppStatus::ALL {
            assert_eq!(status.as_str().parse::<EppStatus>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<EppStatus>(&json).unwrap(), status);
            let expected = if status.as_str().starts_with("client") {
                Some(Side::Client)
            } else if status.as_str().starts_with("server") {
                Some(Side::Server)
            } else {
                None
            };
            assert_eq!(status.settable_by(), expected, "{status}");
            assert_eq!(status.is_pending(), status.as_str().starts_with("pending"));
        }
        assert!("CLIENTHOLD".parse::<EppStatus>().is_err());
        assert!(" ok".parse::<EppStatus>().is_err());
        assert_eq!(serde_json::to_string(&Side::Client).unwrap(), "\"client\"");
    }

    #[test]
    fn insert_and_remove() {
        let mut set = EppStatusSet::default();
        assert!(set.is_ok());
        assert_eq!(set.insert(EppStatus::Ok), Ok(false));
        assert_eq!(set.insert(ClientHold), Ok(true));
        assert!(!set.contains(EppStatus::Ok));
        assert!(set.is_held());
        assert_eq!(set.insert(ClientHold), Ok(false));
        assert_eq!(
            set.insert(EppStatus::Ok),
            Err(StatusError::OkCombined { other: ClientHold })
        );
        assert_eq!(set.insert(PendingDelete), Ok(true));
        assert_eq!(set.pending(), Some(PendingDelete));
        let before = set;
        assert_eq!(
            set.insert(ServerDeleteProhibited),
            Err(StatusError::PendingWithProhibition {
                pending: PendingDelete,
                prohibition: ServerDeleteProhibited
            })
        );
        assert_eq!(set, before);
        assert!(set.remove(PendingDelete));
        assert!(!set.remove(PendingDelete));
        assert!(!set.remove(EppStatus::Ok));
        assert!(set.remove(ClientHold));
        assert!(set.is_ok());
        assert_eq!(set.iter().collect::<Vec<_>>(), [EppStatus::Ok]);
        assert!(!set.remove(EppStatus::Ok));
        assert!(set.is_ok());
    }

    #[test]
    fn helpers() {
        let set = EppStatusSet::new([
            ClientUpdateProhibited,
            ServerTransferProhibited,
            ClientDeleteProhibited,
            ServerRenewProhibited,
        ])
        .unwrap();
        assert!(set.prohibits_update());
        assert!(set.prohibits_transfer());
        assert!(set.prohibits_delete());
        assert!(set.prohibits_renew());
        assert!(!set.is_held());
        assert_eq!(set.pending(), None);
        let ok = EppStatusSet::OK;
        assert!(!ok.prohibits_update() && !ok.prohibits_transfer() && !ok.is_held());
        let held = EppStatusSet::new([ServerHold]).unwrap();
        assert!(held.is_held() && !held.prohibits_delete());
        assert_eq!(format!("{held:?}"), "{\"serverHold\"}");
        assert_eq!(held.iter().len(), 1);
        assert_eq!(ok.into_iter().collect::<Vec<_>>(), [EppStatus::Ok]);
    }

    #[test]
    fn serde() {
        let set = EppStatusSet::new([ServerHold, ClientTransferProhibited]).unwrap();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["clientTransferProhibited","serverHold"]"#);
        assert_eq!(serde_json::from_str::<EppStatusSet>(&json).unwrap(), set);
        assert_eq!(
            serde_json::to_string(&EppStatusSet::OK).unwrap(),
            r#"["ok"]"#
        );
        assert_eq!(
            serde_json::from_str::<EppStatusSet>("[]").unwrap(),
            EppStatusSet::OK
        );
        let error = serde_json::from_str::<EppStatusSet>(r#"["ok","clientHold"]"#).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("'ok' cannot be combined with 'clientHold'"),
            "{error}"
        );
        let error = serde_json::from_str::<EppStatusSet>(r#"["serverhold"]"#).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("unknown EPP status 'serverhold' (did you mean 'serverHold'?)"),
            "{error}"
        );
        assert!(serde_json::from_str::<EppStatusSet>(r#""ok""#).is_err());
    }

    /// An independent statement of the rules, as the forbidden pairs of RFC 5731 section 2.3.
    fn allowed_by_rfc(statuses: &[EppStatus]) -> bool {
        let forbidden = |a: EppStatus, b: EppStatus| {
            let pair = |x: EppStatus, y: EppStatus| (a == x && b == y) || (a == y && b == x);
            (a != b && (a == EppStatus::Ok || b == EppStatus::Ok))
                || (a != b && a.is_pending() && b.is_pending())
                || [
                    (PendingDelete, ClientDeleteProhibited),
                    (PendingDelete, ServerDeleteProhibited),
                    (PendingRenew, ClientRenewProhibited),
                    (PendingRenew, ServerRenewProhibited),
                    (PendingTransfer, ClientTransferProhibited),
                    (PendingTransfer, ServerTransferProhibited),
                    (PendingUpdate, ClientUpdateProhibited),
                    (PendingUpdate, ServerUpdateProhibited),
                ]
                .into_iter()
                .any(|(x, y)| pair(x, y))
        };
        statuses
            .iter()
            .all(|&a| statuses.iter().all(|&b| !forbidden(a, b)))
    }

    #[test]
    fn every_combination() {
        let mut valid = 0;
        for mask in 0u32..(1 << EppStatus::ALL.len()) {
            let statuses: Vec<EppStatus> = EppStatus::ALL
                .into_iter()
                .filter(|status| mask & status.bit() != 0)
                .collect();
            let built = EppStatusSet::new(statuses.iter().copied());
            assert_eq!(built.is_ok(), allowed_by_rfc(&statuses), "{statuses:?}");
            if let Ok(set) = built {
                valid += 1;
                let members: Vec<EppStatus> = set.iter().collect();
                if statuses.is_empty() {
                    assert_eq!(members, [EppStatus::Ok]);
                } else {
                    assert_eq!(members, statuses);
                }
            }
        }
        // {} and {ok}, plus, over the 11 other non-pending statuses: any subset alone (2^11),
        // with pendingCreate (2^11), or with one of the four other pending statuses and
        // without its two prohibitions (4 * 2^9).
        assert_eq!(valid, 2 + (1 << 11) + (1 << 11) + 4 * (1 << 9) - 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(EppStatus),
        Remove(EppStatus),
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        let status = proptest::sample::select(EppStatus::ALL.to_vec());
        prop_oneof![
            status.clone().prop_map(Op::Insert),
            status.prop_map(Op::Remove)
        ]
    }

    proptest! {
        #[test]
        fn invariant_holds_after_every_operation(ops in proptest::collection::vec(op_strategy(), 0..40)) {
            let mut set = EppStatusSet::OK;
            for op in ops {
                let before = set;
                match op {
                    Op::Insert(status) => match set.insert(status) {
                        Ok(added) => {
                            prop_assert_eq!(added, !before.contains(status));
                            prop_assert!(set.contains(status));
                        }
                        Err(_) => {
                            prop_assert_eq!(set, before);
                            // Refused exactly when the RFC forbids the result.
                            let mut wanted: Vec<EppStatus> =
                                before.iter().filter(|s| *s != EppStatus::Ok).collect();
                            wanted.push(status);
                            prop_assert!(!allowed_by_rfc(&wanted));
                        }
                    },
                    Op::Remove(status) => {
                        let removed = set.remove(status);
                        prop_assert_eq!(removed, status != EppStatus::Ok && before.contains(status));
                        prop_assert!(!set.contains(status) || status == EppStatus::Ok);
                    }
                }
                prop_assert_eq!(EppStatusSet::new(set.iter()), Ok(set));
                prop_assert!(set.iter().len() >= 1);
            }
        }
    }
}
