//! The SCIM filter language (RFC 7644 §3.4.2.2): a spanned lexer and a
//! recursive-descent parser with explicit limits.
//!
//! Precedence follows the RFC: `not` binds tightest, then `and`, then `or`.
//! Keywords, operators and attribute names are case-insensitive. Entra ID's
//! `emails[type eq "work"].value eq "x"` is parsed as the value path
//! `emails[type eq "work" and value eq "x"]`, which means the same thing.
//! Entra ID also leaves values unquoted (`externalId eq jyoung`, `meta.created
//! gt 2015-10-10T14:38:21.8617979-07:00`): after a comparison operator, a
//! word runs to the next space, `)` or `]`, and is a string unless it is
//! `true`, `false`, `null` or a JSON number.

use std::fmt;
use std::ops::Range;

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
    /// The attribute's name, as written.
    pub name: String,
    /// The sub-attribute after the dot, as written, if any.
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
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal to.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal to.
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
        /// The attribute compared.
        path: AttrPath,
        /// The comparison.
        op: CompareOp,
        /// The literal compared with: a string, number, boolean or null.
        value: Value,
    },
    /// `path pr`
    Present(AttrPath),
    /// `left and right`
    And(Box<Filter>, Box<Filter>),
    /// `left or right`
    Or(Box<Filter>, Box<Filter>),
    /// `not (filter)`
    Not(Box<Filter>),
    /// `path[filter]`: one value of the multi-valued `path` matches `filter`,
    /// whose paths are relative to that value.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter one of its values must match.
        filter: Box<Filter>,
    },
}

/// What kind of mistake made a filter or PATCH path unparsable.
///
/// Each variant is one situation the lexer or parser refuses; the
/// [`FilterError`] carrying it says where ([`FilterError::span`]) and, when
/// the parser wanted something in particular, what
/// ([`FilterError::expected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterErrorKind {
    /// The input is longer than [`MAX_FILTER_LEN`] bytes; the span covers
    /// the bytes past the limit.
    TooLong,
    /// A character that starts no token, such as `!` or `=`.
    UnexpectedCharacter,
    /// A string literal without its closing quote; the span runs from the
    /// opening quote to the end of the input.
    UnterminatedString,
    /// A string literal that is no valid JSON string: a bad escape
    /// sequence (`\q`, a lone surrogate) or an unescaped control
    /// character. The span covers the whole literal.
    InvalidString,
    /// A token of the wrong sort: a bracket, a parenthesis, a string or a
    /// word where [`FilterError::expected`] was wanted.
    UnexpectedToken,
    /// The input ended where [`FilterError::expected`] was wanted; the span
    /// is empty, at the end of the input.
    UnexpectedEnd,
    /// A word where an attribute path or sub-attribute was expected that is
    /// not a valid one, such as `1abc` or the `.a.b` after `]`.
    InvalidPath,
    /// A word where a comparison operator was expected that is none of
    /// `eq`, `ne`, `co`, `sw`, `ew`, `gt`, `ge`, `lt`, `le` or `pr`.
    UnknownOperator,
    /// A comparison value without quotes that holds a `"`, such as
    /// `a"b`. (Other values without quotes are strings, numbers, `true`,
    /// `false` or `null`.)
    InvalidValue,
    /// More than [`MAX_DEPTH`] levels of parentheses, `not` and value paths;
    /// the span is the token where the limit was crossed.
    TooDeep,
    /// More than [`MAX_TERMS`] attribute expressions; the span is the token
    /// where the limit was crossed.
    TooManyTerms,
}

/// What the parser wanted where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expected {
    /// `and`, `or` or the end of the filter, after a complete filter.
    AndOrEnd,
    /// The end of a PATCH path, after a complete path.
    EndOfPath,
    /// An attribute path such as `name.givenName`.
    AttributePath,
    /// The sub-attribute after a value filter, as in `emails[…].value`.
    SubAttribute,
    /// A comparison operator or `pr`.
    Operator,
    /// A comparison value: a string, a number, `true`, `false` or `null`.
    Value,
    /// The `(` that must follow `not`.
    ParenAfterNot,
    /// The `)` closing a group or a `not`.
    CloseParen,
    /// The `]` closing a value filter.
    CloseBracket,
}

impl fmt::Display for Expected {
    /// The wanted thing as the error messages name it: "an attribute path",
    /// "`]`", ….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::AndOrEnd => "`and`, `or` or the end of the filter",
            Expected::EndOfPath => "the end of the path",
            Expected::AttributePath => "an attribute path",
            Expected::SubAttribute => "a sub-attribute",
            Expected::Operator => "an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)",
            Expected::Value => "a value (a string, number, true, false or null)",
            Expected::ParenAfterNot => "`(` after `not`",
            Expected::CloseParen => "`)`",
            Expected::CloseBracket => "`]`",
        })
    }
}

/// A filter or PATCH path that could not be parsed: what went wrong, where,
/// and what was expected there.
///
/// Displays as `at position {span.start}: {message}`, the text clients see
/// in the `detail` of a SCIM error (see the `From` impl for [`ScimError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {}: {message}", .span.start)]
pub struct FilterError {
    /// The situation, for code that reacts to it.
    pub kind: FilterErrorKind,
    /// The offending bytes of the input, as byte offsets counted from 0;
    /// empty at the input's length when the input ended too early.
    pub span: Range<usize>,
    /// What the parser wanted at `span`, when it wanted something in
    /// particular.
    pub expected: Option<Expected>,
    /// The sentence for the IT admin, without the position: for example
    /// "expected `]`, found the end of the filter".
    pub message: String,
}

impl FilterError {
    fn new(
        kind: FilterErrorKind,
        span: Range<usize>,
        expected: Option<Expected>,
        message: String,
    ) -> Self {
        FilterError {
            kind,
            span,
            expected,
            message,
        }
    }

    /// The byte offset the error points at: the start of [`Self::span`].
    pub fn position(&self) -> usize {
        self.span.start
    }
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        ScimError::invalid_filter(format!("invalid filter {e}"))
    }
}

/// Parses a filter expression.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(too_long(input, "filter"));
    }
    let mut parser = Parser::new(input)?;
    let filter = parser.or()?;
    match parser.peek() {
        None => Ok(filter),
        Some(_) => Err(parser.expected(Expected::AndOrEnd)),
    }
}

/// A PATCH target (RFC 7644 §3.5.2): `attrPath` or `valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute targeted: `emails` in `emails[type eq "work"].value`.
    pub attr: AttrPath,
    /// The value filter of `emails[type eq "work"]`, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter: `emails[type eq "work"].value`.
    pub sub: Option<String>,
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(too_long(input, "path"));
    }
    let mut parser = Parser::new(input)?;
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
        parser.expect(&Kind::RBracket, Expected::CloseBracket)?;
        path.sub = parser.trailing_sub_attribute()?.map(|p| p.name);
    }
    match parser.peek() {
        None => Ok(path),
        Some(_) => Err(parser.expected(Expected::EndOfPath)),
    }
}

/// The error for an input over [`MAX_FILTER_LEN`]; `what` is "filter" or
/// "path".
fn too_long(input: &str, what: &str) -> FilterError {
    FilterError::new(
        FilterErrorKind::TooLong,
        MAX_FILTER_LEN..input.len(),
        None,
        format!("the {what} is longer than {MAX_FILTER_LEN} bytes"),
    )
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
    /// The token's bytes in the input.
    span: Range<usize>,
}

impl Token {
    /// The token as error messages name it after "found".
    fn describe(&self) -> String {
        match &self.kind {
            Kind::LParen => "`(`".to_owned(),
            Kind::RParen => "`)`".to_owned(),
            Kind::LBracket => "`[`".to_owned(),
            Kind::RBracket => "`]`".to_owned(),
            Kind::Word(w) => format!("`{w}`"),
            Kind::Str(_) => "a string".to_owned(),
        }
    }
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if !is_space(c)
            && !matches!(c, b'"' | b'(' | b')' | b'[' | b']')
            && in_value_position(&tokens)
        {
            // Entra ID: `externalId eq jyoung`, `meta.created gt
            // 2015-10-10T14:38:21.8617979-07:00`, a value without quotes.
            while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b')' | b']') {
                i += 1;
            }
            tokens.push(Token {
                kind: Kind::Word(input[start..i].to_owned()),
                span: start..i,
            });
            continue;
        }
        let kind = match c {
            c if is_space(c) => {
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
                    return Err(FilterError::new(
                        FilterErrorKind::UnterminatedString,
                        start..input.len(),
                        None,
                        "this string has no closing quote".into(),
                    ));
                }
                i += 1;
                let text: String = serde_json::from_str(&input[start..i]).map_err(|_| {
                    FilterError::new(
                        FilterErrorKind::InvalidString,
                        start..i,
                        None,
                        "this string has an invalid escape sequence".into(),
                    )
                })?;
                tokens.push(Token {
                    kind: Kind::Str(text),
                    span: start..i,
                });
                continue;
            }
            c if is_word_byte(c) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    kind: Kind::Word(input[start..i].to_owned()),
                    span: start..i,
                });
                continue;
            }
            _ => {
                let found = input[start..].chars().next().unwrap_or('?');
                return Err(FilterError::new(
                    FilterErrorKind::UnexpectedCharacter,
                    start..start + found.len_utf8(),
                    None,
                    format!("unexpected character `{found}`"),
                ));
            }
        };
        i += 1;
        tokens.push(Token {
            kind,
            span: start..i,
        });
    }
    Ok(tokens)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether the next token is a comparison value: it follows a comparison
/// operator that follows a word (the attribute path). There a value may
/// come without quotes and runs to the next space, `)` or `]`, so it may
/// hold characters no other word may (`@`, `'`, …).
fn in_value_position(tokens: &[Token]) -> bool {
    match tokens {
        [
            ..,
            Token {
                kind: Kind::Word(_),
                ..
            },
            Token {
                kind: Kind::Word(op),
                ..
            },
        ] => CompareOp::from_keyword(op).is_some(),
        _ => false,
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'$' | b'-' | b'_' | b':' | b'.' | b'+')
}

/// `token` is of the sort `expected` needs, but not a valid one.
fn invalid(kind: FilterErrorKind, token: &Token, expected: Expected) -> FilterError {
    FilterError::new(
        kind,
        token.span.clone(),
        Some(expected),
        format!("expected {expected}, found {}", token.describe()),
    )
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    end: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    /// A parser at the first token of `input`.
    fn new(input: &str) -> Result<Parser, FilterError> {
        Ok(Parser {
            tokens: lex(input)?,
            next: 0,
            end: input.len(),
            depth: 0,
            terms: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Word(w), .. }) if w.eq_ignore_ascii_case(keyword))
    }

    /// `expected` was wanted at the next token, which is of the wrong sort
    /// or missing.
    fn expected(&self, expected: Expected) -> FilterError {
        match self.peek() {
            Some(token) => FilterError::new(
                FilterErrorKind::UnexpectedToken,
                token.span.clone(),
                Some(expected),
                format!("expected {expected}, found {}", token.describe()),
            ),
            None => FilterError::new(
                FilterErrorKind::UnexpectedEnd,
                self.end..self.end,
                Some(expected),
                format!("expected {expected}, found the end of the filter"),
            ),
        }
    }

    /// A limit was crossed at the next token; `limit` says which, as in
    /// "at most 16 levels of nesting".
    fn over_limit(&self, kind: FilterErrorKind, limit: &str) -> FilterError {
        let (span, found) = match self.peek() {
            Some(token) => (token.span.clone(), token.describe()),
            None => (self.end..self.end, "the end of the filter".to_owned()),
        };
        FilterError::new(kind, span, None, format!("{limit}, found {found}"))
    }

    fn expect(&mut self, kind: &Kind, expected: Expected) -> Result<(), FilterError> {
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
            return Err(self.over_limit(
                FilterErrorKind::TooDeep,
                &format!("at most {MAX_DEPTH} levels of nesting"),
            ));
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
            self.expect(&Kind::LParen, Expected::ParenAfterNot)?;
            let inner = self.or()?;
            self.expect(&Kind::RParen, Expected::CloseParen)?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek().map(|t| &t.kind) == Some(&Kind::LParen) {
            self.next += 1;
            self.enter()?;
            let inner = self.or()?;
            self.expect(&Kind::RParen, Expected::CloseParen)?;
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
            self.expect(&Kind::RBracket, Expected::CloseBracket)?;
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
            span,
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
            .ok_or_else(|| {
                FilterError::new(
                    FilterErrorKind::InvalidPath,
                    span,
                    Some(Expected::SubAttribute),
                    format!("`{w}` is not a valid sub-attribute"),
                )
            })
    }

    fn path(&mut self) -> Result<AttrPath, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected(Expected::AttributePath));
        };
        let Kind::Word(w) = &token.kind else {
            return Err(self.expected(Expected::AttributePath));
        };
        self.next += 1;
        parse_path(w).ok_or_else(|| {
            invalid(
                FilterErrorKind::InvalidPath,
                &token,
                Expected::AttributePath,
            )
        })
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.over_limit(
                FilterErrorKind::TooManyTerms,
                &format!("at most {MAX_TERMS} comparisons"),
            ));
        }
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected(Expected::Operator));
        };
        let Kind::Word(operator) = &token.kind else {
            return Err(self.expected(Expected::Operator));
        };
        if operator.eq_ignore_ascii_case("pr") {
            self.next += 1;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(operator) else {
            return Err(invalid(
                FilterErrorKind::UnknownOperator,
                &token,
                Expected::Operator,
            ));
        };
        self.next += 1;
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected(Expected::Value));
        };
        let value = match &token.kind {
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Word(w) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Kind::Word(w) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Kind::Word(w) if w.eq_ignore_ascii_case("null") => Value::Null,
            Kind::Word(w) if w.contains('"') => {
                return Err(FilterError::new(
                    FilterErrorKind::InvalidValue,
                    token.span.clone(),
                    Some(Expected::Value),
                    format!(
                        "a value without quotes cannot contain `\"`, found {}; \
                         write it as a JSON string",
                        token.describe()
                    ),
                ));
            }
            // Entra ID sends values without quotes: a bare word that is no
            // keyword and no JSON number is a string.
            Kind::Word(w) => match serde_json::from_str::<serde_json::Number>(w) {
                Ok(n) => Value::Number(n),
                Err(_) => Value::String(w.clone()),
            },
            Kind::LParen | Kind::RParen | Kind::LBracket | Kind::RBracket => {
                return Err(self.expected(Expected::Value));
            }
        };
        self.next += 1;
        Ok(value)
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
    fn values_without_quotes_are_strings_unless_keywords_or_numbers() {
        // Entra ID's tutorial and reference collection leave values bare.
        let cases = [
            ("externalId eq jyoung", json!("jyoung")),
            ("userName sw O", json!("O")),
            (
                "meta.created gt 2015-10-10T14:38:21.8617979-07:00",
                json!("2015-10-10T14:38:21.8617979-07:00"),
            ),
            (
                "emails.value eq j.young+x@example.com",
                json!("j.young+x@example.com"),
            ),
            ("name.familyName eq O'Malley", json!("O'Malley")),
            ("displayName eq Zoë", json!("Zoë")),
            ("active eq TRUE", json!(true)),
            ("active eq False", json!(false)),
            ("nickName eq NULL", Value::Null),
            ("x eq -12.5e3", json!(-12.5e3)),
            ("x eq 007", json!("007")),
        ];
        for (input, value) in cases {
            let Ok(Filter::Compare { value: parsed, .. }) = parse(input) else {
                panic!("{input}: {:?}", parse(input));
            };
            assert_eq!(parsed, value, "{input}");
        }
    }

    #[test]
    fn a_value_without_quotes_ends_at_a_space_a_parenthesis_or_a_bracket() {
        assert_eq!(
            parse("(externalId eq a) or externalId eq b").expect("parses"),
            Filter::Or(
                Box::new(eq("externalId", json!("a"))),
                Box::new(eq("externalId", json!("b")))
            )
        );
        assert_eq!(
            parse("emails[type eq work].value eq a@b.test").expect("parses"),
            Filter::ValuePath {
                path: path("emails", None),
                filter: Box::new(Filter::And(
                    Box::new(eq("type", json!("work"))),
                    Box::new(eq("value", json!("a@b.test")))
                )),
            }
        );
        let patch = parse_patch_path("roles[primary eq True].value").expect("parses");
        assert_eq!(patch.filter, Some(eq("primary", json!(true))));
        assert_eq!(patch.sub.as_deref(), Some("value"));
        // Keywords after a value keep their meaning.
        assert_eq!(
            parse("userName eq and and active eq true").expect("parses"),
            Filter::And(
                Box::new(eq("userName", json!("and"))),
                Box::new(eq("active", json!(true)))
            )
        );
    }

    /// The kind, expectation and span of the error `parse` gives for `input`.
    fn refused(input: &str) -> (FilterErrorKind, Option<Expected>, Range<usize>) {
        let error = parse(input).expect_err(input);
        (error.kind, error.expected, error.span)
    }

    #[test]
    fn errors_say_what_went_wrong_where_and_what_was_expected() {
        use Expected as E;
        use FilterErrorKind as K;
        let cases = [
            ("userName eq", K::UnexpectedEnd, Some(E::Value), 11..11),
            (
                r#"userName xx "a""#,
                K::UnknownOperator,
                Some(E::Operator),
                9..11,
            ),
            (
                r#"userName "a""#,
                K::UnexpectedToken,
                Some(E::Operator),
                9..12,
            ),
            ("userName", K::UnexpectedEnd, Some(E::Operator), 8..8),
            (
                r#"userName eq "x" and )"#,
                K::UnexpectedToken,
                Some(E::AttributePath),
                20..21,
            ),
            ("", K::UnexpectedEnd, Some(E::AttributePath), 0..0),
            ("1abc eq 1", K::InvalidPath, Some(E::AttributePath), 0..4),
            (
                r#"emails[type eq "w"].a.b eq 1"#,
                K::InvalidPath,
                Some(E::SubAttribute),
                19..23,
            ),
            (
                r#"userName eq a"b"#,
                K::InvalidValue,
                Some(E::Value),
                12..15,
            ),
            (
                r#"userName eq x and"#,
                K::UnexpectedEnd,
                Some(E::AttributePath),
                17..17,
            ),
            (
                "(userName eq x",
                K::UnexpectedEnd,
                Some(E::CloseParen),
                14..14,
            ),
            (
                "userName eq x)",
                K::UnexpectedToken,
                Some(E::AndOrEnd),
                13..14,
            ),
            (
                "userName eq (x)",
                K::UnexpectedToken,
                Some(E::Value),
                12..13,
            ),
            ("userName eq )", K::UnexpectedToken, Some(E::Value), 12..13),
            ("not a pr", K::UnexpectedToken, Some(E::ParenAfterNot), 4..5),
            ("(a pr", K::UnexpectedEnd, Some(E::CloseParen), 5..5),
            (
                "emails[a pr",
                K::UnexpectedEnd,
                Some(E::CloseBracket),
                11..11,
            ),
            ("a pr b", K::UnexpectedToken, Some(E::AndOrEnd), 5..6),
            (r#"userName eq "x"#, K::UnterminatedString, None, 12..14),
            (r#"userName eq "a\q""#, K::InvalidString, None, 12..17),
            (
                r#"userName eq "a" 💡"#,
                K::UnexpectedCharacter,
                None,
                16..20,
            ),
            ("userName eq \"a\tb\"", K::InvalidString, None, 12..17),
        ];
        for (input, kind, expected, span) in cases {
            assert_eq!(refused(input), (kind, expected, span), "{input}");
        }
    }

    #[test]
    fn patch_path_errors_have_kinds_and_spans_too() {
        let error = parse_patch_path("emails extra").expect_err("trailing word");
        assert_eq!(error.kind, FilterErrorKind::UnexpectedToken);
        assert_eq!(error.expected, Some(Expected::EndOfPath));
        assert_eq!(error.span, 7..12);
        let error = parse_patch_path("emails[type eq").expect_err("incomplete");
        assert_eq!(error.kind, FilterErrorKind::UnexpectedEnd);
        assert_eq!(error.span, 14..14);
        let error = parse_patch_path(&"a".repeat(MAX_FILTER_LEN + 2)).expect_err("too long");
        assert_eq!(error.kind, FilterErrorKind::TooLong);
        assert_eq!(error.span, MAX_FILTER_LEN..MAX_FILTER_LEN + 2);
    }

    #[test]
    fn error_messages_read_as_the_it_admin_sees_them() {
        // These texts reach IdP logs through `ScimError::detail`; changing
        // them is a visible change.
        assert_eq!(
            parse("userName eq").expect_err("incomplete").to_string(),
            "at position 11: expected a value (a string, number, true, false or null), \
             found the end of the filter"
        );
        assert_eq!(
            parse(r#"userName eq "x" and )"#)
                .expect_err("bad")
                .to_string(),
            "at position 20: expected an attribute path, found `)`"
        );
        assert_eq!(
            parse(r#"userName eq a"b"#).expect_err("quote").to_string(),
            "at position 12: a value without quotes cannot contain `\"`, found `a\"b`; \
             write it as a JSON string"
        );
        let deep = format!("{}a pr", "(".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(&deep).expect_err("too deep").to_string(),
            "at position 17: at most 16 levels of nesting, found `a`"
        );
        assert_eq!(
            parse_patch_path(&"a".repeat(MAX_FILTER_LEN + 1))
                .expect_err("too long")
                .to_string(),
            "at position 4096: the path is longer than 4096 bytes"
        );
        let scim = ScimError::from(parse(r#"userName xx "a""#).expect_err("bad operator"));
        assert_eq!(scim.status, 400);
        assert_eq!(scim.scim_type, Some(crate::error::ScimType::InvalidFilter));
        assert_eq!(
            scim.detail,
            "invalid filter at position 9: expected an operator \
             (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found `xx`"
        );
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
        assert_eq!(
            parse_patch_path("").map_err(|e| (e.kind, e.span)),
            Err((FilterErrorKind::UnexpectedEnd, 0..0))
        );
    }

    #[test]
    fn limits_stop_deep_and_wide_filters() {
        // The 17th `(` crosses the limit; the error points at what follows it.
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        let error = parse(&deep).expect_err("too deep");
        assert_eq!((error.kind, error.span), (FilterErrorKind::TooDeep, 17..18));
        // The 65th comparison starts at byte 8 × 64; its operator crosses.
        let wide = vec!["a pr"; MAX_TERMS + 1].join(" or ");
        let error = parse(&wide).expect_err("too wide");
        assert_eq!(
            (error.kind, error.span),
            (FilterErrorKind::TooManyTerms, 514..516)
        );
        let error = parse(&"a".repeat(MAX_FILTER_LEN + 1)).expect_err("too long");
        assert_eq!(
            (error.kind, error.span),
            (FilterErrorKind::TooLong, MAX_FILTER_LEN..MAX_FILTER_LEN + 1)
        );
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
                prop_assert!(text.get(error.span.clone()).is_some(), "{:?}", error);
                if error.kind == FilterErrorKind::UnexpectedEnd {
                    prop_assert_eq!(error.span, text.len()..text.len());
                }
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
                Err(error) => {
                    prop_assert!(text.get(error.span.clone()).is_some(), "{:?}", error);
                    prop_assert_eq!(error.to_string(), format!("at position {}: {}", error.span.start, error.message));
                }
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
