//! Fuzzes the SCIM filter parser, and the compiler and evaluator behind it:
//! no input may panic, and whatever parses must compile or be refused
//! with a SCIM error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scim::Schemas;
use scim::eval::{Unknown, compile};
use scim::filter::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = parse(text) else {
        return;
    };
    let Ok(schemas) = Schemas::load() else {
        return;
    };
    for unknown in [Unknown::Reject, Unknown::NoValue] {
        if let Ok(query) = compile(&filter, &schemas.user, unknown) {
            let user = serde_json::json!({
                "userName": "a", "emails": [{"value": "x", "type": "work"}],
                "meta": {"created": "2026-01-01T00:00:00Z"}, "active": true
            });
            let _ = query.matches(&user);
        }
    }
});
