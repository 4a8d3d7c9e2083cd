//! The SCIM filter language (RFC 7644 §3.4.2.2): a spanned lexer and a
//! recursive-descent parser with explicit limits.
//!
//! Precedence follows the RFC: `not` binds tightest, then `and`, then `or`.
//! Keywords, operators and attribute names are case-insensitive. Entra ID's
//! `emails[type eq "work"].value eq "x"` is parsed as the value path
//! `emails[type eq "work" and value eq "x"]`, which means the same thing.

use std::fmt;

use serde_json::Value;

use super::error::ScimError;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and value paths accepted.
pub const MAX_DEPTH: usize = 16;
/// Most attribute expressions accepted in one filter.
pub const MAX_TERMS: usize = 64;

/// An attribute path: `[urn:]name[.sub]` (RFC 7644 §3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, if the path was fully qualified.
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// True when this path names `name` (and `sub`), ignoring case and URN.
    pub fn is(&self, name: &str, sub: Option<&str>) -> bool {
        self.name.eq_ignore_ascii_case(name)
            && match (&self.sub, sub) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Comparison operators (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn from_keyword(word: &str) -> Option<CompareOp> {
        const OPS: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        OPS.iter()
            .find(|(k, _)| word.eq_ignore_ascii_case(k))
            .map(|(_, op)| *op)
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    /// `path pr`
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `path[filter]`: one value of the multi-valued `path` matches `filter`,
    /// whose paths are relative to that value.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// A filter that could not be parsed: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct FilterError {
    /// Byte offset into the filter, counted from 0.
    pub position: usize,
    pub message: String,
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        ScimError::invalid_filter(format!("invalid filter {e}"))
    }
}

/// Parses a filter expression.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(FilterError {
            position: MAX_FILTER_LEN,
            message: format!("the filter is longer than {MAX_FILTER_LEN} bytes"),
        });
    }
    let tokens = lex(input)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: input.len(),
        depth: 0,
        terms: 0,
    };
    let filter = parser.or()?;
    match parser.peek() {
        None => Ok(filter),
        Some(token) => Err(parser.error_at(token, "expected `and`, `or` or the end of the filter")),
    }
}

/// A PATCH target (RFC 7644 §3.5.2): `attrPath` or `valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The value filter of `emails[type eq "work"]`, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter: `emails[type eq "work"].value`.
    pub sub: Option<String>,
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(FilterError {
            position: MAX_FILTER_LEN,
            message: format!("the path is longer than {MAX_FILTER_LEN} bytes"),
        });
    }
    let mut parser = Parser {
        tokens: lex(input)?,
        next: 0,
        end: input.len(),
        depth: 0,
        terms: 0,
    };
    let attr = parser.path()?;
    let mut path = PatchPath {
        attr,
        filter: None,
        sub: None,
    };
    if parser.peek().map(|t| &t.kind) == Some(&Kind::LBracket) {
        parser.next += 1;
        parser.enter()?;
        path.filter = Some(parser.or()?);
        parser.expect(&Kind::RBracket, "expected `]`")?;
        path.sub = parser.trailing_sub_attribute()?.map(|p| p.name);
    }
    match parser.peek() {
        None => Ok(path),
        Some(token) => Err(parser.error_at(token, "expected the end of the path")),
    }
}

/// Parses an attribute path such as `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
pub fn parse_path(text: &str) -> Option<AttrPath> {
    // A URN ends at its last colon: the dots of `2.0` belong to the URN.
    let is_urn = text
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    let (urn, rest) = if is_urn {
        let colon = text.rfind(':')?;
        (Some(text[..colon].to_owned()), &text[colon + 1..])
    } else {
        (None, text)
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    let valid = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '-' | '_'))
    };
    if !valid(name) || sub.is_some_and(|s| !valid(s)) {
        return None;
    }
    Some(AttrPath {
        urn,
        name: name.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// An attribute path, keyword, operator, number or literal.
    Word(String),
    /// A JSON string literal, already unescaped.
    Str(String),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    position: usize,
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => Kind::LParen,
            b')' => Kind::RParen,
            b'[' => Kind::LBracket,
            b']' => Kind::RBracket,
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return Err(FilterError {
                        position: start,
                        message: "this string has no closing quote".into(),
                    });
                }
                let text: String =
                    serde_json::from_str(&input[start..=i]).map_err(|_| FilterError {
                        position: start,
                        message: "this string has an invalid escape sequence".into(),
                    })?;
                i += 1;
                tokens.push(Token {
                    kind: Kind::Str(text),
                    position: start,
                });
                continue;
            }
            c if is_word_byte(c) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    kind: Kind::Word(input[start..i].to_owned()),
                    position: start,
                });
                continue;
            }
            _ => {
                let found = input[start..].chars().next().unwrap_or('?');
                return Err(FilterError {
                    position: start,
                    message: format!("unexpected character `{found}`"),
                });
            }
        };
        i += 1;
        tokens.push(Token {
            kind,
            position: start,
        });
    }
    Ok(tokens)
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'$' | b'-' | b'_' | b':' | b'.' | b'+')
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    end: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Word(w), .. }) if w.eq_ignore_ascii_case(keyword))
    }

    fn error_at(&self, token: &Token, expected: &str) -> FilterError {
        let found = match &token.kind {
            Kind::LParen => "`(`".to_owned(),
            Kind::RParen => "`)`".to_owned(),
            Kind::LBracket => "`[`".to_owned(),
            Kind::RBracket => "`]`".to_owned(),
            Kind::Word(w) => format!("`{w}`"),
            Kind::Str(_) => "a string".to_owned(),
        };
        FilterError {
            position: token.position,
            message: format!("{expected}, found {found}"),
        }
    }

    fn expected(&self, expected: &str) -> FilterError {
        match self.peek() {
            Some(token) => self.error_at(token, expected),
            None => FilterError {
                position: self.end,
                message: format!("{expected}, found the end of the filter"),
            },
        }
    }

    fn expect(&mut self, kind: &Kind, expected: &str) -> Result<(), FilterError> {
        if self.peek().map(|t| &t.kind) == Some(kind) {
            self.next += 1;
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.expected(&format!("at most {MAX_DEPTH} levels of nesting")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.next += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.next += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_keyword("not") {
            self.next += 1;
            self.enter()?;
            self.expect(&Kind::LParen, "expected `(` after `not`")?;
            let inner = self.or()?;
            self.expect(&Kind::RParen, "expected `)`")?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek().map(|t| &t.kind) == Some(&Kind::LParen) {
            self.next += 1;
            self.enter()?;
            let inner = self.or()?;
            self.expect(&Kind::RParen, "expected `)`")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attribute_expression()
    }

    fn attribute_expression(&mut self) -> Result<Filter, FilterError> {
        let path = self.path()?;
        if self.peek().map(|t| &t.kind) == Some(&Kind::LBracket) {
            self.next += 1;
            self.enter()?;
            let inner = self.or()?;
            self.expect(&Kind::RBracket, "expected `]`")?;
            self.depth -= 1;
            // Entra ID: `emails[type eq "work"].value eq "x"`.
            if let Some(sub_path) = self.trailing_sub_attribute()? {
                let tail = self.comparison(sub_path)?;
                return Ok(Filter::ValuePath {
                    path,
                    filter: Box::new(Filter::And(Box::new(inner), Box::new(tail))),
                });
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.comparison(path)
    }

    /// The `.sub` after a value filter's `]`, if there is one.
    fn trailing_sub_attribute(&mut self) -> Result<Option<AttrPath>, FilterError> {
        let Some(Token {
            kind: Kind::Word(w),
            position,
        }) = self.peek().cloned()
        else {
            return Ok(None);
        };
        let Some(sub) = w.strip_prefix('.') else {
            return Ok(None);
        };
        self.next += 1;
        parse_path(sub)
            .filter(|p| p.urn.is_none() && p.sub.is_none())
            .map(Some)
            .ok_or(FilterError {
                position,
                message: format!("`{w}` is not a valid sub-attribute"),
            })
    }

    fn path(&mut self) -> Result<AttrPath, FilterError> {
        match self.peek().cloned() {
            Some(Token {
                kind: Kind::Word(w),
                position,
            }) => {
                self.next += 1;
                parse_path(&w).ok_or(FilterError {
                    position,
                    message: format!("expected an attribute path, found `{w}`"),
                })
            }
            _ => Err(self.expected("expected an attribute path")),
        }
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.expected(&format!("at most {MAX_TERMS} comparisons")));
        }
        let operator = match self.peek().cloned() {
            Some(Token {
                kind: Kind::Word(w),
                ..
            }) => w,
            _ => {
                return Err(
                    self.expected("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)")
                );
            }
        };
        if operator.eq_ignore_ascii_case("pr") {
            self.next += 1;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(&operator) else {
            return Err(
                self.expected("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)")
            );
        };
        self.next += 1;
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        let Some(token) = self.bump() else {
            return Err(self.expected("expected a value (a string, number, true, false or null)"));
        };
        match &token.kind {
            Kind::Str(s) => Ok(Value::String(s.clone())),
            Kind::Word(w) if w.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Kind::Word(w) if w.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            Kind::Word(w) if w.eq_ignore_ascii_case("null") => Ok(Value::Null),
            Kind::Word(w) => match serde_json::from_str::<serde_json::Number>(w) {
                Ok(n) => Ok(Value::Number(n)),
                Err(_) => Err(self.error_at(
                    &token,
                    "expected a value (a string, number, true, false or null)",
                )),
            },
            Kind::LParen | Kind::RParen | Kind::LBracket | Kind::RBracket => Err(self.error_at(
                &token,
                "expected a value (a string, number, true, false or null)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: sub.map(Into::into),
        }
    }

    fn eq(name: &str, value: Value) -> Filter {
        Filter::Compare {
            path: path(name, None),
            op: CompareOp::Eq,
            value,
        }
    }

    #[test]
    fn every_rfc_7644_example_filter_parses() {
        // RFC 7644 §3.4.2.2, the examples after Figure 1.
        let examples = [
            r#"userName Eq "john""#,
            r#"Username eq "john""#,
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"title pr"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ];
        for example in examples {
            assert!(parse(example).is_ok(), "{example}: {:?}", parse(example));
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let parsed = parse(r#"a eq 1 or b eq 2 and c eq 3"#).expect("parses");
        assert_eq!(
            parsed,
            Filter::Or(
                Box::new(eq("a", json!(1))),
                Box::new(Filter::And(
                    Box::new(eq("b", json!(2))),
                    Box::new(eq("c", json!(3)))
                ))
            )
        );
    }

    #[test]
    fn urn_qualified_paths_keep_the_dots_of_their_version() {
        let parsed = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "42""#,
        )
        .expect("parses");
        let Filter::Compare { path, .. } = parsed else {
            panic!("expected a comparison");
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert!(path.is("manager", Some("value")));
    }

    #[test]
    fn the_entra_value_path_with_a_trailing_sub_attribute_means_one_matching_value() {
        let parsed = parse(r#"emails[type eq "work"].value eq "a@b.test""#).expect("parses");
        assert_eq!(
            parsed,
            Filter::ValuePath {
                path: path("emails", None),
                filter: Box::new(Filter::And(
                    Box::new(eq("type", json!("work"))),
                    Box::new(eq("value", json!("a@b.test")))
                )),
            }
        );
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let error = parse(r#"userName eq"#).expect_err("incomplete");
        assert_eq!(error.position, 11);
        assert!(error.message.contains("expected a value"), "{error}");

        let error = parse(r#"userName eq "x" and )"#).expect_err("bad");
        assert_eq!(
            error.to_string(),
            "at position 20: expected an attribute path, found `)`"
        );

        let error = parse(r#"userName zz "x""#).expect_err("bad operator");
        assert!(error.message.contains("expected an operator"), "{error}");

        let error = parse(r#"userName eq "x"#).expect_err("unterminated");
        assert_eq!(error.position, 12);
    }

    #[test]
    fn patch_paths_parse_with_value_filters_and_sub_attributes() {
        let path = parse_patch_path(r#"emails[type eq "work"].value"#).expect("parses");
        assert!(path.attr.is("emails", None));
        assert_eq!(path.filter, Some(eq("type", json!("work"))));
        assert_eq!(path.sub.as_deref(), Some("value"));
        let path = parse_patch_path("name.familyName").expect("parses");
        assert!(path.attr.is("name", Some("familyName")) && path.filter.is_none());
        let path = parse_patch_path(r#"members[value eq "2819c223"]"#).expect("parses");
        assert!(path.filter.is_some() && path.sub.is_none());
        assert!(parse_patch_path("emails[type eq").is_err());
        assert!(parse_patch_path("emails extra").is_err());
        assert!(parse_patch_path("").is_err());
    }

    #[test]
    fn limits_stop_deep_and_wide_filters() {
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(
            parse(&deep)
                .expect_err("too deep")
                .message
                .contains("nesting")
        );
        let wide = vec!["a pr"; MAX_TERMS + 1].join(" or ");
        assert!(
            parse(&wide)
                .expect_err("too wide")
                .message
                .contains("comparisons")
        );
        assert!(parse(&"a".repeat(MAX_FILTER_LEN + 1)).is_err());
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A small deterministic generator over the characters that matter
        // to the lexer, including multi-byte ones and escapes.
        const ALPHABET: [&str; 24] = [
            " ", "(", ")", "[", "]", "\"", "\\", ".", ":", "a", "eq", "and", "or", "not", "pr",
            "1", "-", "é", "💡", "urn:", "userName", "emails", "\\u00", "true",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut input = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                input.push_str(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
            }
            let _ = parse(&input);
            let _ = parse_path(&input);
        }
    }

    #[test]
    fn string_values_are_unescaped_and_keywords_ignore_case() {
        let parsed = parse(r#"displayName EQ "a \"b\" c" AND active Eq TRUE"#).expect("parses");
        assert_eq!(
            parsed,
            Filter::And(
                Box::new(eq("displayName", json!("a \"b\" c"))),
                Box::new(eq("active", json!(true)))
            )
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Pieces that make filters, so generated input reaches deep into the
    /// parser instead of failing at the first character.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("userName".to_owned()),
            Just("emails".to_owned()),
            Just(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
                    .to_owned()
            ),
            Just(" eq ".to_owned()),
            Just(" co ".to_owned()),
            Just(" pr".to_owned()),
            Just(" and ".to_owned()),
            Just(" or ".to_owned()),
            Just("not ".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(".value".to_owned()),
            Just("\"x\\\"y\"".to_owned()),
            Just("\"".to_owned()),
            Just("12.5e3".to_owned()),
            Just("true".to_owned()),
            "\\PC{0,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics_and_errors_point_inside_it(text in "\\PC{0,200}") {
            if let Err(error) = parse(&text) {
                prop_assert!(error.position <= text.len().max(MAX_FILTER_LEN));
            }
        }

        #[test]
        fn filter_shaped_input_never_panics_and_respects_the_limits(
            pieces in proptest::collection::vec(fragment(), 0..80)
        ) {
            let text = pieces.concat();
            match parse(&text) {
                Ok(filter) => {
                    prop_assert!(text.len() <= MAX_FILTER_LEN);
                    prop_assert!(depth(&filter) <= MAX_DEPTH + 1);
                    prop_assert!(terms(&filter) <= MAX_TERMS);
                }
                Err(error) => prop_assert!(error.position <= text.len()),
            }
        }
    }

    fn depth(filter: &Filter) -> usize {
        match filter {
            Filter::Compare { .. } | Filter::Present(_) => 1,
            Filter::And(a, b) | Filter::Or(a, b) => depth(a).max(depth(b)),
            Filter::Not(inner) => 1 + depth(inner),
            Filter::ValuePath { filter, .. } => 1 + depth(filter),
        }
    }

    fn terms(filter: &Filter) -> usize {
        match filter {
            Filter::Compare { .. } | Filter::Present(_) => 1,
            Filter::And(a, b) | Filter::Or(a, b) => terms(a) + terms(b),
            Filter::Not(inner) => terms(inner),
            Filter::ValuePath { filter, .. } => terms(filter),
        }
    }
}
