//! Query: filters answered by the database agree with the evaluator,
//! sorting, cursors, projection, `/.search`, and the scan bound.

use std::collections::{BTreeSet, HashSet};

use reqwest::Method;
use scim::Schemas;
use scim::eval::{Unknown, compile};
use scim::filter::parse;
use serde_json::{Value, json};

use crate::helpers::*;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: [&str; 10] = [
    "ann", "Bob", "carla", "DAVE", "eve_1", "50%off", "zoë", "Émile", "o'neil", "x\\y",
];
const DOMAINS: [&str; 3] = ["example.com", "Acme.test", "corp.example.org"];
const TITLES: [&str; 4] = ["Engineer", "engineer II", "Sales Lead", "CEO"];

async fn seed(app: &TestApp, rng: &mut Rng, n: usize) -> Vec<Value> {
    let mut users = Vec::new();
    for i in 0..n {
        let word = rng.pick(&WORDS);
        let mut user = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": format!("{word}{i}@{}", rng.pick(&DOMAINS)),
            "active": rng.chance(70),
            "name": {"givenName": rng.pick(&WORDS)},
        });
        if rng.chance(70) {
            user["displayName"] = json!(format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS)));
        }
        if rng.chance(50) {
            user["title"] = json!(rng.pick(&TITLES));
        }
        if rng.chance(50) {
            user["externalId"] = json!(format!("ext-{}", rng.pick(&WORDS)));
        }
        let mut emails = Vec::new();
        for k in 0..rng.below(3) {
            let mut email =
                json!({"value": format!("{}{k}.{i}@{}", rng.pick(&WORDS), rng.pick(&DOMAINS))});
            if rng.chance(70) {
                email["type"] = json!(rng.pick(&["work", "home", "Work"]));
            }
            emails.push(email);
        }
        if !emails.is_empty() {
            user["emails"] = json!(emails);
        }
        if rng.chance(50) {
            user[ENTERPRISE] = json!({"department": rng.pick(&["Sales", "R&D", "sales"])});
        }
        users.push(json_of(app.post("/Users", &user).await, 201).await);
    }
    let ids: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    app.create_group("Sales", &ids[..ids.len() / 3]).await;
    app.create_group("Support", &ids[ids.len() / 4..ids.len() / 2])
        .await;
    users
}

/// A random filter over the seeded attributes, drawing values from them.
fn random_filter(rng: &mut Rng, users: &[Value], depth: usize) -> String {
    if depth < 2 && rng.chance(45) {
        let a = random_filter(rng, users, depth + 1);
        let b = random_filter(rng, users, depth + 1);
        return match rng.below(4) {
            0 => format!("({a}) and ({b})"),
            1 => format!("({a}) or ({b})"),
            2 => format!("not ({a})"),
            _ => format!("{a} and {b}"),
        };
    }
    let user = &users[rng.below(users.len())];
    let text = |v: &Value| v.as_str().unwrap_or("zz").to_owned();
    let slice = |rng: &mut Rng, s: String| -> String {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() < 2 {
            return s;
        }
        let start = rng.below(chars.len() - 1);
        let end = start + 1 + rng.below(chars.len() - start);
        let piece: String = chars[start..end].iter().collect();
        if rng.chance(50) {
            piece.to_uppercase()
        } else {
            piece
        }
    };
    let quoted = |s: &str| serde_json::to_string(s).unwrap();
    let string_op =
        |rng: &mut Rng| rng.pick(&["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]);
    match rng.below(13) {
        0 => {
            let v = slice(rng, text(&user["userName"]));
            format!("userName {} {}", string_op(rng), quoted(&v))
        }
        1 => {
            let v = slice(rng, text(&user["displayName"]));
            format!("displayName {} {}", string_op(rng), quoted(&v))
        }
        2 => "displayName pr".to_owned(),
        3 => {
            let v = slice(rng, text(&user["externalId"]));
            format!("externalId {} {}", string_op(rng), quoted(&v))
        }
        4 => format!(
            "active {} {}",
            rng.pick(&["eq", "ne"]),
            rng.pick(&["true", "false"])
        ),
        5 => {
            let v = slice(rng, text(&user["emails"][0]["value"]));
            format!(
                "{} {} {}",
                rng.pick(&["emails.value", "emails"]),
                string_op(rng),
                quoted(&v)
            )
        }
        6 => {
            let v = slice(rng, text(&user["emails"][0]["value"]));
            format!(
                "emails[type eq \"work\" and value {} {}]",
                string_op(rng),
                quoted(&v)
            )
        }
        7 => {
            let v = text(&user["emails"][0]["value"]);
            format!(
                "emails[type eq {}].value eq {}",
                quoted(rng.pick(&["work", "home"])),
                quoted(&v)
            )
        }
        8 => {
            let v = slice(rng, text(&user["title"]));
            format!("title {} {}", string_op(rng), quoted(&v))
        }
        9 => {
            let created = text(&user["meta"]["created"]);
            format!(
                "meta.created {} {}",
                rng.pick(&["gt", "ge", "lt", "le", "eq"]),
                quoted(&created)
            )
        }
        10 => {
            let v = text(&user[ENTERPRISE]["department"]);
            format!(
                "{ENTERPRISE}:department {} {}",
                rng.pick(&["eq", "ne", "sw"]),
                quoted(&v)
            )
        }
        11 => format!(
            "{} pr",
            rng.pick(&[
                "title",
                "externalId",
                "emails",
                "emails.type",
                "groups",
                "name.givenName"
            ])
        ),
        _ => {
            let id = text(&user["id"]);
            let v = if rng.chance(50) { id } else { slice(rng, id) };
            format!(
                "{} {} {}",
                rng.pick(&["id", "groups.value"]),
                rng.pick(&["eq", "sw", "ne"]),
                quoted(&v)
            )
        }
    }
}

async fn list_ids(app: &TestApp, path: &str, filter: &str) -> Result<BTreeSet<String>, Value> {
    let response = app
        .scim(Method::GET, path)
        .query(&[("filter", filter), ("count", "1000")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    if status != 200 {
        return Err(body);
    }
    Ok(ids(&body).into_iter().collect())
}

#[tokio::test]
async fn the_database_and_the_evaluator_agree_on_random_filters() {
    let app = spawn_app().await;
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    seed(&app, &mut rng, 40).await;
    let all = json_of(app.get("/Users?count=1000").await, 200).await;
    let everyone = all["Resources"].as_array().unwrap().clone();
    assert_eq!(everyone.len(), 40);
    let schemas = Schemas::load().unwrap();
    let mut non_empty = 0;
    for _ in 0..400 {
        let filter = random_filter(&mut rng, &everyone, 0);
        let query = compile(&parse(&filter).unwrap(), &schemas.user, Unknown::Reject)
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        let expected: BTreeSet<String> = everyone
            .iter()
            .filter(|u| query.matches(u))
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        let answered = list_ids(&app, "/Users", &filter)
            .await
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(answered, expected, "filter: {filter}");
        if !expected.is_empty() {
            non_empty += 1;
        }
    }
    assert!(
        non_empty > 100,
        "the generator should produce matching filters, got {non_empty}"
    );
}

#[tokio::test]
async fn like_metacharacters_in_values_match_literally() {
    let app = spawn_app().await;
    let percent = app.create_user("50%_off@example.com").await;
    app.create_user("500ff@example.com").await;
    app.create_user("back\\slash@example.com").await;
    for (filter, expected) in [
        (r#"userName co "%""#, 1),
        (r#"userName co "_""#, 1),
        (r#"userName sw "50%""#, 1),
        (r#"userName co "\\""#, 1),
        (r#"userName co "0%_o""#, 1),
    ] {
        let found = list_ids(&app, "/Users", filter).await.unwrap();
        assert_eq!(found.len(), expected, "{filter}");
    }
    let found = list_ids(&app, "/Users", r#"userName co "%""#)
        .await
        .unwrap();
    assert!(found.contains(percent["id"].as_str().unwrap()));
}

#[tokio::test]
async fn groups_are_filtered_by_members_display_name_and_dates() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let sales = app.create_group("Sales EMEA", &[ann_id]).await;
    app.create_group("Support", &[]).await;
    let sales_id = sales["id"].as_str().unwrap().to_owned();
    for filter in [
        format!("members[value eq \"{ann_id}\"]"),
        format!("members.value eq \"{}\"", ann_id.to_uppercase()),
        "displayName sw \"sales\"".to_owned(),
        "displayName co \"EMEA\" and members pr".to_owned(),
        format!(
            "meta.created ge {}",
            serde_json::to_string(&sales["meta"]["created"]).unwrap()
        ),
    ] {
        let found = list_ids(&app, "/Groups", &filter).await.unwrap();
        assert!(found.contains(&sales_id), "{filter}");
        assert!(found.len() <= 2, "{filter}");
    }
    let found = list_ids(&app, "/Groups", "not (members pr)").await.unwrap();
    assert_eq!(found.len(), 1);
}

async fn user_names(app: &TestApp, path: &str) -> Vec<String> {
    let list = json_of(app.get(path).await, 200).await;
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sort_by_orders_values_ignoring_case_and_puts_missing_values_last_when_ascending() {
    let app = spawn_app().await;
    for (name, display, title) in [
        ("b@x.test", Some("bravo"), Some("Zeta")),
        ("A@x.test", None, None),
        ("c@x.test", Some("Alpha"), Some("alpha")),
        ("d@x.test", Some("charlie"), Some("Mid")),
    ] {
        let mut user = json!({"userName": name});
        if let Some(display) = display {
            user["displayName"] = json!(display);
        }
        if let Some(title) = title {
            user["title"] = json!(title);
        }
        json_of(app.post("/Users", &user).await, 201).await;
    }
    assert_eq!(
        user_names(&app, "/Users?sortBy=userName").await,
        ["A@x.test", "b@x.test", "c@x.test", "d@x.test"]
    );
    assert_eq!(
        user_names(&app, "/Users?sortBy=userName&sortOrder=descending").await,
        ["d@x.test", "c@x.test", "b@x.test", "A@x.test"]
    );
    // Indexed column, nullable: missing values last ascending, first descending.
    assert_eq!(
        user_names(&app, "/Users?sortBy=displayName").await,
        ["c@x.test", "b@x.test", "d@x.test", "A@x.test"]
    );
    assert_eq!(
        user_names(&app, "/Users?sortBy=displayName&sortOrder=descending").await,
        ["A@x.test", "d@x.test", "b@x.test", "c@x.test"]
    );
    // Not indexed: sorted in memory with the same rules.
    assert_eq!(
        user_names(&app, "/Users?sortBy=title").await,
        ["c@x.test", "d@x.test", "b@x.test", "A@x.test"]
    );
    assert_eq!(
        user_names(&app, "/Users?sortBy=title&sortOrder=descending").await,
        ["A@x.test", "b@x.test", "d@x.test", "c@x.test"]
    );
    assert_eq!(
        user_names(&app, "/Users?sortBy=title&startIndex=2&count=2").await,
        ["d@x.test", "b@x.test"]
    );
    assert_scim_error(
        app.get("/Users?sortBy=nosuch").await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert_scim_error(
        app.get("/Users?sortBy=userName&sortOrder=sideways").await,
        400,
        Some("invalidValue"),
    )
    .await;
}

async fn walk(app: &TestApp, query: &str, mut between: impl AsyncFnMut(usize)) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        let path = format!("/Users?{query}&cursor={cursor}");
        let list = json_of(app.get(&path).await, 200).await;
        assert!(list.get("startIndex").is_none());
        if page == 0 {
            assert!(
                list.get("previousCursor").is_none(),
                "the first page has no previousCursor"
            );
        }
        seen.extend(ids(&list));
        match list.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        between(page).await;
        assert!(page < 100, "the walk ends");
    }
    seen
}

#[tokio::test]
async fn a_cursor_walk_sees_every_user_exactly_once_while_users_come_and_go() {
    let app = spawn_app().await;
    let mut initial = Vec::new();
    for i in 0..23 {
        let user = app.create_user(&format!("walker{i:02}@example.com")).await;
        initial.push(user["id"].as_str().unwrap().to_owned());
    }
    let doomed = initial[20].clone();
    let mut created = Vec::new();
    let seen = walk(&app, "count=4", async |page| {
        let user = app.create_user(&format!("late{page}@example.com")).await;
        created.push(user["id"].as_str().unwrap().to_owned());
        if page == 1 {
            assert_eq!(app.delete(&format!("/Users/{doomed}")).await.status(), 204);
        }
    })
    .await;
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    for id in &initial {
        assert_eq!(seen.contains(id), *id != doomed, "{id}");
    }
    // Users created during the walk sort after the cursor, so they are seen too.
    for id in &created[..created.len() - 1] {
        assert!(seen.contains(id));
    }
}

#[tokio::test]
async fn previous_cursors_walk_back_over_the_same_pages() {
    let app = spawn_app().await;
    for i in 0..10 {
        app.create_user(&format!("u{i}@example.com")).await;
    }
    let query = "count=3&sortBy=userName&sortOrder=descending&filter=userName+sw+%22u%22";
    let mut pages = Vec::new();
    let mut cursor = String::new();
    let mut last;
    loop {
        last = json_of(
            app.get(&format!("/Users?{query}&cursor={cursor}")).await,
            200,
        )
        .await;
        pages.push(ids(&last));
        match last.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages.len(), 4);
    // Only the first page is counted; the others leave totalResults out.
    assert!(last.get("totalResults").is_none(), "{last}");
    let forward: Vec<String> = pages.concat();
    let indexed = json_of(
        app.get("/Users?sortBy=userName&sortOrder=descending&count=100")
            .await,
        200,
    )
    .await;
    assert_eq!(forward, ids(&indexed));
    let mut back = Vec::new();
    while let Some(previous) = last.get("previousCursor").and_then(Value::as_str) {
        last = json_of(
            app.get(&format!("/Users?{query}&cursor={previous}")).await,
            200,
        )
        .await;
        back.push(ids(&last));
    }
    back.reverse();
    assert_eq!(back, pages[..pages.len() - 1].to_vec());
}

#[tokio::test]
async fn only_the_first_cursor_page_counts_the_matches() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_user(&format!("counted{i}@example.com")).await;
    }
    let first = json_of(app.get("/Users?count=2&cursor=").await, 200).await;
    assert_eq!(first["totalResults"], 5);
    let next = first["nextCursor"].as_str().unwrap();
    let second = json_of(app.get(&format!("/Users?count=2&cursor={next}")).await, 200).await;
    // RFC 9865 lets a cursor page leave totalResults out; counting every
    // page would cost an export one scan of all matches per page.
    assert!(second.get("totalResults").is_none(), "{second}");
    assert_eq!(second["itemsPerPage"], 2);
}

#[tokio::test]
async fn a_cursor_walk_also_works_when_the_evaluator_finishes_the_filter() {
    let app = spawn_app().await;
    for i in 0..9 {
        let title = if i % 2 == 0 { "Engineer" } else { "Sales" };
        json_of(
            app.post(
                "/Users",
                &json!({"userName": format!("t{i}@x.test"), "title": title}),
            )
            .await,
            201,
        )
        .await;
    }
    let seen = walk(
        &app,
        "count=2&filter=title+eq+%22engineer%22&sortBy=title",
        async |_| {},
    )
    .await;
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
}

// The in-process server keeps running while a CLI process runs (see
// `cli::run`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_foreign_cursors_are_400_invalid_cursor() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.create_user(&format!("c{i}@example.com")).await;
    }
    let first = json_of(app.get("/Users?count=1&cursor").await, 200).await;
    let next = first["nextCursor"].as_str().unwrap().to_owned();
    let mut tampered = next.clone();
    tampered.replace_range(2..3, if &next[2..3] == "A" { "B" } else { "A" });
    let error = assert_scim_error(
        app.get(&format!("/Users?count=1&cursor={tampered}")).await,
        400,
        Some("invalidCursor"),
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("cursor"));
    let other_query = format!("/Users?count=1&filter=userName+pr&cursor={next}");
    assert_scim_error(app.get(&other_query).await, 400, Some("invalidCursor")).await;
    let acme: Value = serde_json::from_str(&crate::cli::scimd(
        &app.db.url,
        &["tenant", "create", "acme", "--json"],
    ))
    .unwrap();
    let response = app
        .scim_as(
            acme["scim_token"].as_str().unwrap(),
            Method::GET,
            &format!("/Users?count=1&cursor={next}"),
        )
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 400, Some("invalidCursor")).await;
    json_of(app.get(&format!("/Users?count=1&cursor={next}")).await, 200).await;
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_every_response() {
    let app = spawn_app().await;
    let body = json!({"userName": "ann@example.com", "displayName": "Ann", "emails": [{"value": "a@x.test", "type": "work"}], "name": {"givenName": "Ann", "familyName": "Lee"}});
    let response = app
        .scim(Method::POST, "/Users?attributes=userName,name.givenName")
        .json(&body)
        .send()
        .await
        .unwrap();
    let created = json_of(response, 201).await;
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["schemas", "id", "userName", "name"]);
    assert_eq!(created["name"], json!({"givenName": "Ann"}));
    let id = created["id"].as_str().unwrap();

    let fetched = json_of(
        app.get(&format!("/Users/{id}?excludedAttributes=emails,meta,id"))
            .await,
        200,
    )
    .await;
    assert!(fetched.get("emails").is_none() && fetched.get("meta").is_none());
    assert_eq!(fetched["id"], id, "id is always returned");

    let listed = json_of(app.get("/Users?attributes=emails.value").await, 200).await;
    assert_eq!(
        listed["Resources"][0]["emails"],
        json!([{"value": "a@x.test"}])
    );
    assert!(listed["Resources"][0].get("userName").is_none());

    let response = app
        .scim(Method::PUT, &format!("/Users/{id}?excludedAttributes=name"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let replaced = json_of(response, 200).await;
    assert!(replaced.get("name").is_none());
    assert_eq!(replaced["displayName"], "Ann");

    let group = app.create_group("Sales", &[id]).await;
    let gid = group["id"].as_str().unwrap();
    let fetched = json_of(
        app.get(&format!("/Groups/{gid}?excludedAttributes=members"))
            .await,
        200,
    )
    .await;
    assert!(fetched.get("members").is_none());
    assert_eq!(fetched["displayName"], "Sales");
    let user = json_of(
        app.get(&format!("/Users/{id}?attributes=groups")).await,
        200,
    )
    .await;
    assert_eq!(user["groups"][0]["value"], gid);
}

#[tokio::test]
async fn search_answers_what_the_equivalent_get_answers() {
    let app = spawn_app().await;
    let mut rng = Rng(42);
    seed(&app, &mut rng, 12).await;
    let get = json_of(
        app.get("/Users?filter=userName+co+%22a%22&sortBy=userName&startIndex=2&count=3&attributes=userName").await,
        200,
    )
    .await;
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName co \"a\"",
        "sortBy": "userName",
        "startIndex": 2,
        "count": 3,
        "attributes": ["userName"]
    });
    let posted = json_of(app.post("/Users/.search", &search).await, 200).await;
    assert_eq!(posted, get);

    let groups = json_of(
        app.post(
            "/Groups/.search",
            &json!({"filter": "displayName eq \"sales\""}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(groups["totalResults"], 1);

    // At the root, Users and Groups are searched together; attributes a type
    // lacks have no value there.
    let root = json!({"filter": "displayName eq \"Sales\" or userName sw \"ann\"", "count": 100});
    let posted = json_of(app.post("/.search", &root).await, 200).await;
    let types: BTreeSet<&str> = posted["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert!(types.contains("Group"), "{posted}");
    let get = json_of(
        app.get("/?filter=displayName+eq+%22Sales%22+or+userName+sw+%22ann%22&count=100")
            .await,
        200,
    )
    .await;
    assert_eq!(posted, get);
    let paged = json_of(app.post("/.search", &json!({"filter": "displayName eq \"Sales\" or userName sw \"ann\"", "startIndex": 2, "count": 1})).await, 200).await;
    assert_eq!(paged["totalResults"], posted["totalResults"]);
    assert_eq!(paged["Resources"][0], posted["Resources"][1]);
}

#[tokio::test]
async fn a_filter_no_index_can_narrow_is_refused_past_the_scan_limit() {
    let app = spawn_app_with(|config| config.scan_limit = 5).await;
    for i in 0..6 {
        json_of(
            app.post(
                "/Users",
                &json!({"userName": format!("s{i}@x.test"), "title": "Engineer"}),
            )
            .await,
            201,
        )
        .await;
    }
    let error = assert_scim_error(
        app.get("/Users?filter=title+eq+%22Engineer%22").await,
        400,
        Some("tooMany"),
    )
    .await;
    assert!(
        error["detail"].as_str().unwrap().contains("userName"),
        "{error}"
    );
    // Narrowed by an index first, the same test on title is fine.
    let list = json_of(
        app.get("/Users?filter=userName+sw+%22s1%22+and+title+eq+%22Engineer%22")
            .await,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    let list = json_of(app.get("/Users?filter=userName+pr").await, 200).await;
    assert_eq!(list["totalResults"], 6, "exact filters are not bounded");
}

#[tokio::test]
async fn the_filters_idps_send_are_answered_by_an_index() {
    let app = spawn_app().await;
    // Reading connections that exist before the statistics are refreshed
    // plan with them too (CI once saw one plan without them).
    let read = || list_ids(&app, "/Users", r#"externalId eq "e7""#);
    let reads = tokio::join!(
        read(),
        read(),
        read(),
        read(),
        read(),
        read(),
        read(),
        read()
    );
    for found in [
        reads.0, reads.1, reads.2, reads.3, reads.4, reads.5, reads.6, reads.7,
    ] {
        assert_eq!(found.unwrap().len(), 0);
    }
    let bodies: Vec<Value> = (0..3000)
        .map(|i| {
            json!({
                "userName": format!("u{i}@x.test"),
                "externalId": format!("e{i}"),
                "displayName": format!("User {i}"),
                "active": i % 50 != 0,
                "emails": [{"value": format!("u{i}@mail.test"), "type": "work"}]
            })
        })
        .collect();
    let ids = app
        .domain
        .import_users(&app.tenant_id, &bodies)
        .await
        .unwrap();
    app.domain.refresh_statistics().await.unwrap();
    let id = &ids[7];
    let cases = [
        (
            r#"userName eq "U7@x.test""#.to_owned(),
            vec!["users_tenant_user_name"],
        ),
        (
            r#"externalId eq "e7""#.to_owned(),
            vec!["users_tenant_external_id"],
        ),
        (
            r#"displayName eq "user 7""#.to_owned(),
            vec!["users_tenant_display_name"],
        ),
        (
            r#"emails.value eq "u7@mail.test""#.to_owned(),
            vec!["user_emails_tenant_value"],
        ),
        (
            r#"emails[type eq "work"].value eq "u7@mail.test""#.to_owned(),
            vec!["user_emails_tenant_value"],
        ),
        (
            r#"meta.lastModified gt "2100-01-01T00:00:00Z""#.to_owned(),
            vec!["users_tenant_updated"],
        ),
        (
            format!(r#"id eq "{id}""#),
            vec!["users_pkey|sqlite_autoindex_users_1"],
        ),
        (
            r#"userName eq "u7@x.test" or externalId eq "e8""#.to_owned(),
            vec!["users_tenant_user_name", "users_tenant_external_id"],
        ),
    ];
    for (filter, indexes) in cases {
        let (exact, plan) = app
            .domain
            .explain_users(&app.tenant_id, &filter)
            .await
            .unwrap();
        assert!(exact, "{filter} is answered by SQL alone");
        let text = plan.join("\n");
        for index in indexes {
            assert!(
                index.split('|').any(|name| text.contains(name)),
                "{filter} should use {index}:\n{text}"
            );
        }
        let found = list_ids(&app, "/Users", &filter).await.unwrap();
        assert!(found.len() <= 2, "{filter}");
    }
}

#[tokio::test]
async fn a_cursor_older_than_the_timeout_is_400_expired_cursor() {
    let clock = std::sync::Arc::new(ManualClock(std::sync::atomic::AtomicI64::new(
        1_800_000_000_000,
    )));
    let app = spawn_app_on(|_| {}, clock.clone()).await;
    for i in 0..3 {
        app.create_user(&format!("old{i}@example.com")).await;
    }
    let first = json_of(app.get("/Users?count=1&cursor=").await, 200).await;
    let next = first["nextCursor"].as_str().unwrap().to_owned();
    clock.advance_seconds(3599);
    json_of(app.get(&format!("/Users?count=1&cursor={next}")).await, 200).await;
    clock.advance_seconds(2);
    let error = assert_scim_error(
        app.get(&format!("/Users?count=1&cursor={next}")).await,
        400,
        Some("expiredCursor"),
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("3600"));
}

/// A write sets only the columns it changes (`Tx::update_user`): every
/// filter that an index answers finds the user by its new values, never by
/// the old ones, after each kind of change.
#[tokio::test]
async fn indexed_filters_follow_every_change_of_a_user() {
    let app = spawn_app().await;
    let user = json_of(
        app.post(
            "/Users",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ann@x.test",
                "externalId": "e-1",
                "displayName": "Ann One",
                "title": "Engineer",
                "emails": [{"value": "ann@mail.test", "type": "work"}]
            }),
        )
        .await,
        201,
    )
    .await;
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let changes = [
        json!({"op": "replace", "path": "title", "value": "Lead"}),
        json!({"op": "replace", "path": "emails", "value": [{"value": "ann@new.test", "type": "work"}]}),
        json!({"op": "replace", "path": "displayName", "value": "Ann Two"}),
        json!({"op": "replace", "path": "externalId", "value": "e-2"}),
        json!({"op": "replace", "path": "userName", "value": "ANN@x.test"}),
        json!({"op": "replace", "path": "userName", "value": "anna@x.test"}),
        json!({"op": "replace", "path": "active", "value": false}),
    ];
    let mut stale: Vec<String> = Vec::new();
    for change in changes {
        let patched = json_of(
            app.scim(Method::PATCH, &path)
                .header("content-type", "application/scim+json")
                .body(
                    json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [change]
                    })
                    .to_string(),
                )
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let now = [
            format!(r#"userName eq "{}""#, patched["userName"].as_str().unwrap()),
            format!(
                r#"externalId eq "{}""#,
                patched["externalId"].as_str().unwrap()
            ),
            format!(
                r#"displayName eq "{}""#,
                patched["displayName"].as_str().unwrap()
            ),
            format!(
                r#"emails.value eq "{}""#,
                patched["emails"][0]["value"].as_str().unwrap()
            ),
            format!("active eq {}", patched["active"]),
            format!(
                r#"meta.lastModified ge "{}""#,
                patched["meta"]["lastModified"].as_str().unwrap()
            ),
        ];
        for filter in &now {
            let found = list_ids(&app, "/Users", filter).await.unwrap();
            assert_eq!(
                found,
                BTreeSet::from([id.clone()]),
                "{filter} after {change}"
            );
        }
        // userName, displayName and e-mails compare without case.
        let current = |filter: &String| now.iter().any(|f| f.eq_ignore_ascii_case(filter));
        for filter in stale.iter().filter(|filter| !current(filter)) {
            let found = list_ids(&app, "/Users", filter).await.unwrap();
            assert!(
                found.is_empty(),
                "{filter} still finds the user after {change}"
            );
        }
        stale.extend(now.into_iter().filter(|f| !f.starts_with("meta.")));
    }
}
