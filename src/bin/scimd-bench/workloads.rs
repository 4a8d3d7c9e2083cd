//! The workloads (issue 6): what each connection sends.

use std::sync::Arc;

use axum::http::{Method, StatusCode};

use crate::client::{Call, encode_query_value};
use crate::load::{Generator, Rng};
use crate::seed::Fixture;

const USERS: &str = "/scim/v2/Users";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Members added, then removed, by one group-push request.
pub const PUSH_BATCH: usize = 100;

/// A workload of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// (a) Entra sync: `GET /Users?filter=userName eq "…"`, 90% existing.
    Lookup,
    /// (b) `GET /Users/{id}` of random users.
    Get,
    /// (c) Okta deactivation: `PATCH` `active` false, then true.
    Deactivate,
    /// (d) `POST /Users` of new users.
    Create,
    /// (e) Group push: `PATCH` adding, then removing, 100 members.
    GroupPush,
    /// (f) Export: every user, by cursor pages.
    Export,
    /// (g) The ceiling: a static SCIM user of the same binary.
    Ceiling,
    /// (p) Issue 13's heavy PATCH in a second tenant, beside one
    /// connection of `POST /Users` in the bench tenant.
    HeavyPatch,
    /// (h) Fairness: a second tenant's lookups, alone and during a flood
    /// of the seeded tenant (`fairness.rs`).
    Fairness,
}

impl Workload {
    /// Every workload, in the order they run: the ceiling first, then
    /// reads, writes, and the export last.
    pub const ALL: [Workload; 9] = [
        Workload::Ceiling,
        Workload::Lookup,
        Workload::Get,
        Workload::Deactivate,
        Workload::Create,
        Workload::GroupPush,
        Workload::Export,
        Workload::HeavyPatch,
        Workload::Fairness,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Lookup => "lookup",
            Workload::Get => "get",
            Workload::Deactivate => "deactivate",
            Workload::Create => "create",
            Workload::GroupPush => "group-push",
            Workload::Export => "export",
            Workload::Ceiling => "ceiling",
            Workload::HeavyPatch => "heavy-patch",
            Workload::Fairness => "fairness",
        }
    }

    /// The issue's letter for it.
    pub fn letter(self) -> char {
        match self {
            Workload::Lookup => 'a',
            Workload::Get => 'b',
            Workload::Deactivate => 'c',
            Workload::Create => 'd',
            Workload::GroupPush => 'e',
            Workload::Export => 'f',
            Workload::Ceiling => 'g',
            Workload::HeavyPatch => 'p',
            Workload::Fairness => 'h',
        }
    }

    /// What it sends, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Workload::Lookup => "GET /Users?filter=userName eq \"…\" (90% exist)",
            Workload::Get => "GET /Users/{id}",
            Workload::Deactivate => "PATCH /Users/{id} active false, then true",
            Workload::Create => "POST /Users",
            Workload::GroupPush => "PATCH /Groups/{id} ±100 members",
            Workload::Export => "cursor walk of every user, 1,000 a page",
            Workload::Ceiling => "GET /bench/ceiling (static user)",
            Workload::HeavyPatch => {
                "PATCH of 1,000 non-matching e-mail removes (another tenant) beside POST /Users"
            }
            Workload::Fairness => {
                "tenant B's userName lookups (1 connection), alone, then during tenant A's GET /Users/{id} flood"
            }
        }
    }

    /// Parses a name or a letter.
    pub fn parse(text: &str) -> Option<Workload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == text || text.len() == 1 && text.starts_with(w.letter()))
    }

    /// The generator of connection `index` of `connections`, for the
    /// closed-loop workloads (not the export).
    pub fn generator(
        self,
        fixture: &Fixture,
        index: usize,
        connections: usize,
        nonce: u64,
    ) -> Box<dyn Generator> {
        let rng = Rng::new(nonce ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let ids = Arc::clone(&fixture.ids);
        match self {
            Workload::Lookup => Box::new(Lookup {
                rng,
                users: ids.len(),
            }),
            Workload::Get => Box::new(Get { rng, ids }),
            Workload::Deactivate => Box::new(Deactivate {
                rng,
                ids,
                reactivate: None,
            }),
            Workload::Create => Box::new(Create {
                prefix: format!("new-{nonce:x}-{index}-"),
                next: 0,
            }),
            Workload::GroupPush => Box::new(GroupPush::new(fixture, index, connections)),
            Workload::Ceiling | Workload::Export | Workload::HeavyPatch | Workload::Fairness => {
                Box::new(Ceiling)
            }
        }
    }
}

struct Lookup {
    rng: Rng,
    users: usize,
}

impl Generator for Lookup {
    fn next(&mut self) -> Call {
        // One in ten names no user (numbers past the seeded ones).
        let n = self.rng.below(self.users + self.users / 9);
        let filter = format!("userName eq \"user{n}@bench.test\"");
        Call::get(format!("{USERS}?filter={}", encode_query_value(&filter)))
    }
}

struct Get {
    rng: Rng,
    ids: Arc<Vec<String>>,
}

impl Generator for Get {
    fn next(&mut self) -> Call {
        let id = &self.ids[self.rng.below(self.ids.len())];
        Call::get(format!("{USERS}/{id}"))
    }
}

struct Deactivate {
    rng: Rng,
    ids: Arc<Vec<String>>,
    /// The user deactivated last, reactivated next.
    reactivate: Option<usize>,
}

impl Generator for Deactivate {
    fn next(&mut self) -> Call {
        let (user, active) = match self.reactivate.take() {
            Some(user) => (user, true),
            None => {
                let user = self.rng.below(self.ids.len());
                self.reactivate = Some(user);
                (user, false)
            }
        };
        // Okta's body (README, "Okta").
        let body = format!(
            r#"{{"schemas":["{PATCH_OP}"],"Operations":[{{"op":"replace","value":{{"active":{active}}}}}]}}"#
        );
        Call {
            method: Method::PATCH,
            path: format!("{USERS}/{}", self.ids[user]),
            body: Some(body),
            expect: StatusCode::OK,
        }
    }
}

struct Create {
    prefix: String,
    next: u64,
}

impl Generator for Create {
    fn next(&mut self) -> Call {
        let name = format!("{}{}@bench.test", self.prefix, self.next);
        self.next += 1;
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "externalId": format!("ext-{name}"),
            "displayName": format!("New {name}"),
            "name": {"givenName": "New", "familyName": name},
            "emails": [{"value": name, "type": "work", "primary": true}],
            "active": true
        });
        Call {
            method: Method::POST,
            path: USERS.into(),
            body: Some(body.to_string()),
            expect: StatusCode::CREATED,
        }
    }
}

/// Each connection adds and removes batches of its own users (those not
/// in the push group), so connections never undo each other's work.
struct GroupPush {
    path: String,
    batches: Vec<String>,
    next: usize,
    adding: bool,
}

impl GroupPush {
    fn new(fixture: &Fixture, index: usize, connections: usize) -> GroupPush {
        let outside = &fixture.ids[fixture.push_members..];
        let share = outside.len().div_ceil(connections.max(1)).max(1);
        let shares: Vec<&[String]> = outside.chunks(share).collect();
        let mine = match shares.len() {
            0 => &[][..],
            n => shares[index % n],
        };
        let batches = mine
            .chunks(PUSH_BATCH)
            .map(|batch| {
                batch
                    .iter()
                    .map(|id| format!(r#"{{"value":"{id}"}}"#))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        GroupPush {
            path: format!("/scim/v2/Groups/{}", fixture.push_group),
            batches,
            next: 0,
            adding: true,
        }
    }
}

impl Generator for GroupPush {
    fn next(&mut self) -> Call {
        let op = if self.adding { "add" } else { "remove" };
        let members = self
            .batches
            .get(self.next % self.batches.len().max(1))
            .map_or("", String::as_str);
        if !self.adding {
            self.next += 1;
        }
        self.adding = !self.adding;
        // Okta adds with `add`; Entra removes with a value list.
        let body = format!(
            r#"{{"schemas":["{PATCH_OP}"],"Operations":[{{"op":"{op}","path":"members","value":[{members}]}}]}}"#
        );
        Call {
            method: Method::PATCH,
            path: self.path.clone(),
            body: Some(body),
            expect: StatusCode::NO_CONTENT,
        }
    }
}

struct Ceiling;

impl Generator for Ceiling {
    fn next(&mut self) -> Call {
        Call::get("/bench/ceiling".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_parse_by_name_and_by_letter() {
        for workload in Workload::ALL {
            assert_eq!(Workload::parse(workload.name()), Some(workload));
            assert_eq!(
                Workload::parse(&workload.letter().to_string()),
                Some(workload)
            );
        }
        assert_eq!(Workload::parse("nope"), None);
    }
}
