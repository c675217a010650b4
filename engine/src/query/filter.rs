//! `?filter=`: parsing and type-checking filter text, evaluating it on records, and deriving
//! the index ranges a filter needs. The language itself is documented on the parent module.
//!
//! Comparisons are evaluated on [`encode_value`] bytes rather than on JSON values, so a
//! record matches a comparison exactly when its encoded value lies in the comparison's index
//! range: the planner may scan an index and then call [`Filter::matches`] without losing rows.

use std::cmp::Ordering;
use std::ops::Bound;

use forms::FieldType;
use serde_json::{Number, Value};

use super::encoding::{after_tag, encode_value, parse_instant, NULL_TAG};
use super::{type_name, FieldLookup, QueryError};

/// Longest filter text accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses and `not` accepted; keeps the recursive parser and
/// evaluator far from the stack limit.
pub const MAX_DEPTH: usize = 32;

/// A parsed, type-checked filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

/// The value ranges of one indexed field that an index scan must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexScan {
    pub field: String,
    /// Bounds on encoded values (not on full index keys), sorted and non-overlapping.
    pub ranges: Vec<ValueRange>,
}

/// A range of encoded values: `(lower, upper)`.
pub type ValueRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

#[derive(Debug, Clone)]
enum Node {
    /// Never nested directly in another `Or` (flattened while parsing).
    Or(Vec<Node>),
    /// Never nested directly in another `And`, so its items are the top-level conjuncts.
    And(Vec<Node>),
    Not(Box<Node>),
    Compare(Comparison),
}

#[derive(Debug, Clone)]
struct Comparison {
    field: String,
    ty: FieldType,
    test: Test,
}

/// Literals are kept encoded with the field's type, ready to compare with encoded values.
#[derive(Debug, Clone)]
enum Test {
    Eq(Vec<u8>),
    Ne(Vec<u8>),
    /// `<`, `<=`, `>`, `>=`: only values with the literal's type tag can match.
    Order(OrderOp, Vec<u8>),
    /// Sorted and deduplicated, for binary search and for index ranges.
    In(Vec<Vec<u8>>),
    Contains {
        /// Lowercased needle for string values; `None` when the literal isn't a string.
        needle: Option<String>,
        /// The literal encoded untyped, compared with each element of array values.
        element: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl OrderOp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Self::Lt => ord.is_lt(),
            Self::Le => ord.is_le(),
            Self::Gt => ord.is_gt(),
            Self::Ge => ord.is_ge(),
        }
    }
}

impl Filter {
    /// Parses and type-checks `src`. `resolve` returns the type of a field name (or dotted
    /// path) or None if unknown.
    pub fn parse(src: &str, resolve: &dyn Fn(&str) -> Option<FieldType>) -> Result<Filter, QueryError> {
        if src.len() > MAX_FILTER_LEN {
            return Err(QueryError::new(format!("filter is too long: {} bytes, at most {MAX_FILTER_LEN}", src.len())));
        }
        if src.trim().is_empty() {
            return Err(QueryError::syntax("empty filter", 0));
        }
        let mut parser = Parser { lexer: Lexer { src, pos: 0 }, peeked: None, resolve };
        let root = parser.parse_or(0)?;
        let token = parser.next()?;
        if token.kind != Tok::End {
            return Err(QueryError::syntax(
                format!("expected `and`, `or` or the end of the filter, found {}", describe_token(&token, src)),
                token.start,
            ));
        }
        Ok(Filter { root })
    }

    /// Both filters: records must match `self` and `other`.
    pub fn and(self, other: Filter) -> Filter {
        let mut conjuncts = Vec::new();
        for node in [self.root, other.root] {
            match node {
                Node::And(items) => conjuncts.extend(items),
                node => conjuncts.push(node),
            }
        }
        Filter { root: Node::And(conjuncts) }
    }

    /// The fields the filter reads, each once.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.root.fields(&mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether `record` satisfies the filter.
    pub fn matches(&self, record: &dyn FieldLookup) -> bool {
        self.root.matches(record)
    }

    /// For each top-level AND-conjunct that compares a field for which `indexed(field)` is true
    /// with =, <, <=, >, >=, or `in`: the value ranges an index scan must cover (several ranges
    /// for `in`, sorted and non-overlapping). A record matching the filter is guaranteed to have
    /// its encoded value inside these ranges. Empty if nothing is indexable (an `or` at the top
    /// level, `!=`, `contains`, `not` are not indexable).
    ///
    /// Conjuncts on the same field are intersected into one scan (`x > 1 and x < 5` gives one
    /// range), so each field appears at most once. A scan whose `ranges` is empty means no
    /// record can match. The index must hold an entry for every record, missing values encoded
    /// as null, since `x = null` scans the null range.
    pub fn index_scans(&self, indexed: &dyn Fn(&str) -> bool) -> Vec<IndexScan> {
        let conjuncts = match &self.root {
            Node::And(items) => items.as_slice(),
            other => std::slice::from_ref(other),
        };
        let mut scans: Vec<IndexScan> = Vec::new();
        for node in conjuncts {
            let Node::Compare(cmp) = node else { continue };
            if !indexed(&cmp.field) {
                continue;
            }
            let Some(ranges) = cmp.test.ranges() else {
                continue;
            };
            match scans.iter_mut().find(|scan| scan.field == cmp.field) {
                Some(scan) => scan.ranges = intersect(&scan.ranges, &ranges),
                None => scans.push(IndexScan { field: cmp.field.clone(), ranges }),
            }
        }
        scans
    }
}

impl Node {
    fn fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::Or(items) | Node::And(items) => items.iter().for_each(|n| n.fields(out)),
            Node::Not(inner) => inner.fields(out),
            Node::Compare(cmp) => out.push(&cmp.field),
        }
    }

    fn matches(&self, record: &dyn FieldLookup) -> bool {
        match self {
            Node::Or(items) => items.iter().any(|n| n.matches(record)),
            Node::And(items) => items.iter().all(|n| n.matches(record)),
            Node::Not(inner) => !inner.matches(record),
            Node::Compare(cmp) => cmp.matches(record),
        }
    }
}

impl Comparison {
    fn matches(&self, record: &dyn FieldLookup) -> bool {
        let value = record.lookup(&self.field);
        let value = value.as_deref();
        match &self.test {
            Test::Eq(lit) => encode_value(value, self.ty) == *lit,
            Test::Ne(lit) => encode_value(value, self.ty) != *lit,
            Test::Order(op, lit) => {
                let enc = encode_value(value, self.ty);
                enc.first() == lit.first() && op.holds(enc.as_slice().cmp(lit))
            }
            Test::In(lits) => lits.binary_search(&encode_value(value, self.ty)).is_ok(),
            Test::Contains { needle, element } => match value {
                Some(Value::String(s)) => needle.as_deref().is_some_and(|needle| s.to_lowercase().contains(needle)),
                Some(Value::Array(items)) => {
                    items.iter().any(|item| encode_value(Some(item), FieldType::Any) == *element)
                }
                _ => false,
            },
        }
    }
}

impl Test {
    fn ranges(&self) -> Option<Vec<ValueRange>> {
        let point = |enc: &Vec<u8>| (Bound::Included(enc.clone()), Bound::Included(enc.clone()));
        Some(match self {
            Test::Eq(lit) => vec![point(lit)],
            Test::In(lits) => lits.iter().map(point).collect(),
            Test::Order(op, lit) => {
                // A literal is never null here, and every encoding of its type starts with
                // its tag, so [tag] and [tag + 1] fence off exactly the values of that type.
                let tag = lit.first().copied().unwrap_or(NULL_TAG);
                let (lo, hi) = match op {
                    OrderOp::Lt => (Bound::Included(vec![tag]), Bound::Excluded(lit.clone())),
                    OrderOp::Le => (Bound::Included(vec![tag]), Bound::Included(lit.clone())),
                    OrderOp::Gt => (Bound::Excluded(lit.clone()), Bound::Excluded(after_tag(tag))),
                    OrderOp::Ge => (Bound::Included(lit.clone()), Bound::Excluded(after_tag(tag))),
                };
                vec![(lo, hi)]
            }
            Test::Ne(_) | Test::Contains { .. } => return None,
        })
    }
}

/// Intersects two sorted lists of disjoint ranges; the result is sorted and disjoint too.
fn intersect(a: &[ValueRange], b: &[ValueRange]) -> Vec<ValueRange> {
    let mut out: Vec<ValueRange> = Vec::new();
    for (a_lo, a_hi) in a {
        for (b_lo, b_hi) in b {
            let lo = tighter_lower(a_lo, b_lo);
            let hi = tighter_upper(a_hi, b_hi);
            if may_be_nonempty(&lo, &hi) {
                out.push((lo, hi));
            }
        }
    }
    out.sort_by(|x, y| compare_lower(&x.0, &y.0));
    out
}

fn compare_lower(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Ordering {
    use Bound::*;
    match (a, b) {
        (Unbounded, Unbounded) => Ordering::Equal,
        (Unbounded, _) => Ordering::Less,
        (_, Unbounded) => Ordering::Greater,
        (Included(x), Included(y)) | (Excluded(x), Excluded(y)) => x.cmp(y),
        // At the same key an excluded lower bound starts later.
        (Included(x), Excluded(y)) => x.cmp(y).then(Ordering::Less),
        (Excluded(x), Included(y)) => x.cmp(y).then(Ordering::Greater),
    }
}

fn compare_upper(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Ordering {
    use Bound::*;
    match (a, b) {
        (Unbounded, Unbounded) => Ordering::Equal,
        (Unbounded, _) => Ordering::Greater,
        (_, Unbounded) => Ordering::Less,
        (Included(x), Included(y)) | (Excluded(x), Excluded(y)) => x.cmp(y),
        // At the same key an excluded upper bound ends earlier.
        (Included(x), Excluded(y)) => x.cmp(y).then(Ordering::Greater),
        (Excluded(x), Included(y)) => x.cmp(y).then(Ordering::Less),
    }
}

fn tighter_lower(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    if compare_lower(a, b).is_ge() {
        a.clone()
    } else {
        b.clone()
    }
}

fn tighter_upper(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    if compare_upper(a, b).is_le() {
        a.clone()
    } else {
        b.clone()
    }
}

/// False only for ranges that certainly hold nothing; keeping an empty one is harmless.
fn may_be_nonempty(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    use Bound::*;
    match (lo, hi) {
        (Unbounded, _) | (_, Unbounded) => true,
        (Included(x), Included(y)) => x <= y,
        (Included(x), Excluded(y)) | (Excluded(x), Included(y)) | (Excluded(x), Excluded(y)) => x < y,
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Str(String),
    Num(Number),
    Op(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    And,
    Or,
    Not,
    True,
    False,
    Null,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Contains,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::Contains => "contains",
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn describe_token(token: &Token, src: &str) -> String {
    match token.kind {
        Tok::End => "the end of the filter".to_owned(),
        _ => format!("`{}`", src.get(token.start..token.end).unwrap_or("?")),
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Lexer<'_> {
    fn peek_byte(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + offset).copied()
    }

    fn next_token(&mut self) -> Result<Token, QueryError> {
        while self.peek_byte(0).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(b) = self.peek_byte(0) else {
            return Ok(Token { kind: Tok::End, start, end: start });
        };
        let (kind, len) = match b {
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b',' => (Tok::Comma, 1),
            b'=' => (Tok::Op(Op::Eq), 1),
            b'!' if self.peek_byte(1) == Some(b'=') => (Tok::Op(Op::Ne), 2),
            b'<' if self.peek_byte(1) == Some(b'=') => (Tok::Op(Op::Le), 2),
            b'<' => (Tok::Op(Op::Lt), 1),
            b'>' if self.peek_byte(1) == Some(b'=') => (Tok::Op(Op::Ge), 2),
            b'>' => (Tok::Op(Op::Gt), 1),
            b'"' | b'\'' => return self.string(b),
            b'-' | b'0'..=b'9' => return self.number(),
            b if is_ident_start(b) => return self.word(),
            _ => {
                let c = self.src[start..].chars().next().unwrap_or('?');
                return Err(QueryError::syntax(format!("unexpected character `{c}`"), start));
            }
        };
        self.pos += len;
        Ok(Token { kind, start, end: self.pos })
    }

    fn word(&mut self) -> Result<Token, QueryError> {
        let start = self.pos;
        loop {
            while self.peek_byte(0).is_some_and(is_ident_continue) {
                self.pos += 1;
            }
            if self.peek_byte(0) != Some(b'.') {
                break;
            }
            if !self.peek_byte(1).is_some_and(is_ident_start) {
                return Err(QueryError::syntax("expected a field name after `.`", self.pos + 1));
            }
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        let kind = match text.to_ascii_lowercase().as_str() {
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "in" => Tok::Op(Op::In),
            "contains" => Tok::Op(Op::Contains),
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            _ => Tok::Field(text.to_owned()),
        };
        Ok(Token { kind, start, end: self.pos })
    }

    fn number(&mut self) -> Result<Token, QueryError> {
        let start = self.pos;
        let digits = |lexer: &mut Self| {
            let from = lexer.pos;
            while lexer.peek_byte(0).is_some_and(|b| b.is_ascii_digit()) {
                lexer.pos += 1;
            }
            lexer.pos > from
        };
        if self.peek_byte(0) == Some(b'-') {
            self.pos += 1;
        }
        if !digits(self) {
            return Err(QueryError::syntax("expected digits after `-`", self.pos));
        }
        let mut integral = true;
        if self.peek_byte(0) == Some(b'.') {
            integral = false;
            self.pos += 1;
            if !digits(self) {
                return Err(QueryError::syntax("expected digits after `.`", self.pos));
            }
        }
        if matches!(self.peek_byte(0), Some(b'e' | b'E')) {
            integral = false;
            self.pos += 1;
            if matches!(self.peek_byte(0), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(QueryError::syntax("expected digits in the exponent", self.pos));
            }
        }
        let text = &self.src[start..self.pos];
        let exact = if integral {
            text.parse::<i64>().map(Number::from).ok().or_else(|| text.parse::<u64>().map(Number::from).ok())
        } else {
            None
        };
        let number = match exact {
            Some(n) => n,
            None => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .ok_or_else(|| QueryError::syntax(format!("number `{text}` is out of range"), start))?,
        };
        Ok(Token { kind: Tok::Num(number), start, end: self.pos })
    }

    /// A string in `quote`s with JSON escapes (plus `\'`).
    fn string(&mut self, quote: u8) -> Result<Token, QueryError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.src[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err(QueryError::syntax("unterminated string starting", start));
            };
            if c == char::from(quote) {
                self.pos += 1;
                break;
            }
            if c != '\\' {
                out.push(c);
                self.pos += c.len_utf8();
                continue;
            }
            let escape_at = self.pos;
            self.pos += 1;
            let Some(e) = self.peek_byte(0) else {
                return Err(QueryError::syntax("unterminated string starting", start));
            };
            self.pos += 1;
            let decoded = match e {
                b'"' => '"',
                b'\'' => '\'',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => self.unicode_escape(escape_at)?,
                _ => {
                    let shown = self.src[escape_at..].chars().take(2).collect::<String>();
                    return Err(QueryError::syntax(format!("invalid escape `{shown}`"), escape_at));
                }
            };
            out.push(decoded);
        }
        Ok(Token { kind: Tok::Str(out), start, end: self.pos })
    }

    /// After `\u`: four hex digits, and for a high surrogate the `\uXXXX` low half that
    /// must follow it.
    fn unicode_escape(&mut self, escape_at: usize) -> Result<char, QueryError> {
        let invalid = || QueryError::syntax("invalid `\\u` escape", escape_at);
        let high = self.hex4().ok_or_else(invalid)?;
        let code = match high {
            0xD800..=0xDBFF => {
                if self.src.as_bytes().get(self.pos..self.pos + 2) != Some(b"\\u".as_slice()) {
                    return Err(invalid());
                }
                self.pos += 2;
                let low = self.hex4().ok_or_else(invalid)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(invalid());
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            _ => high,
        };
        char::from_u32(code).ok_or_else(invalid)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.src.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'a, 'r> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    resolve: &'r dyn Fn(&str) -> Option<FieldType>,
}

impl Parser<'_, '_> {
    fn peek(&mut self) -> Result<&Token, QueryError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    fn next(&mut self) -> Result<Token, QueryError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn src(&self) -> &str {
        self.lexer.src
    }

    fn parse_or(&mut self, depth: usize) -> Result<Node, QueryError> {
        let mut items = vec![self.parse_and(depth)?];
        while self.peek()?.kind == Tok::Or {
            self.next()?;
            items.push(self.parse_and(depth)?);
        }
        Ok(flatten(items, Node::Or, |n| match n {
            Node::Or(inner) => Ok(inner),
            other => Err(other),
        }))
    }

    fn parse_and(&mut self, depth: usize) -> Result<Node, QueryError> {
        let mut items = vec![self.parse_unary(depth)?];
        while self.peek()?.kind == Tok::And {
            self.next()?;
            items.push(self.parse_unary(depth)?);
        }
        Ok(flatten(items, Node::And, |n| match n {
            Node::And(inner) => Ok(inner),
            other => Err(other),
        }))
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Node, QueryError> {
        let token = self.next()?;
        match token.kind {
            Tok::Not => {
                let depth = enter(depth, token.start)?;
                Ok(Node::Not(Box::new(self.parse_unary(depth)?)))
            }
            Tok::LParen => {
                let depth = enter(depth, token.start)?;
                let inner = self.parse_or(depth)?;
                let close = self.next()?;
                if close.kind != Tok::RParen {
                    return Err(QueryError::syntax(
                        format!(
                            "expected `)` to close the `(` at {}, found {}",
                            token.start,
                            describe_token(&close, self.src())
                        ),
                        close.start,
                    ));
                }
                Ok(inner)
            }
            Tok::Field(field) => self.parse_comparison(field, token.start),
            _ => Err(QueryError::syntax(
                format!("expected a field name, `(` or `not`, found {}", describe_token(&token, self.src())),
                token.start,
            )),
        }
    }

    fn parse_comparison(&mut self, field: String, field_at: usize) -> Result<Node, QueryError> {
        let ty = (self.resolve)(&field)
            .ok_or_else(|| QueryError::about_field(format!("unknown field `{field}`"), &field, Some(field_at)))?;
        let op_token = self.next()?;
        let Tok::Op(op) = op_token.kind else {
            return Err(QueryError::syntax(
                format!(
                    "expected an operator (=, !=, <, <=, >, >=, in, contains) after `{field}`, found {}",
                    describe_token(&op_token, self.src())
                ),
                op_token.start,
            ));
        };
        let check = Check { field: &field, ty, op };
        let test = match op {
            Op::In => {
                let values = self.parse_list()?;
                let mut encoded =
                    values.into_iter().map(|(value, at)| check.literal(&value, at)).collect::<Result<Vec<_>, _>>()?;
                encoded.sort();
                encoded.dedup();
                Test::In(encoded)
            }
            _ => {
                let (value, at) = self.parse_value(op)?;
                let encoded = check.literal(&value, at)?;
                match op {
                    Op::Eq => Test::Eq(encoded),
                    Op::Ne => Test::Ne(encoded),
                    Op::Lt => Test::Order(OrderOp::Lt, encoded),
                    Op::Le => Test::Order(OrderOp::Le, encoded),
                    Op::Gt => Test::Order(OrderOp::Gt, encoded),
                    Op::Ge => Test::Order(OrderOp::Ge, encoded),
                    // `in` took the other branch; listed to keep the match exhaustive.
                    Op::Contains | Op::In => {
                        Test::Contains { needle: value.as_str().map(str::to_lowercase), element: encoded }
                    }
                }
            }
        };
        Ok(Node::Compare(Comparison { field, ty, test }))
    }

    fn parse_value(&mut self, after: Op) -> Result<(Value, usize), QueryError> {
        let token = self.next()?;
        let value = match token.kind {
            Tok::Str(s) => Value::String(s),
            Tok::Num(n) => Value::Number(n),
            Tok::True => Value::Bool(true),
            Tok::False => Value::Bool(false),
            Tok::Null => Value::Null,
            _ => return Err(QueryError::syntax(format!("expected a value after `{}`", after.text()), token.start)),
        };
        Ok((value, token.start))
    }

    /// `[v, ...]` or `(v, ...)`, possibly empty.
    fn parse_list(&mut self) -> Result<Vec<(Value, usize)>, QueryError> {
        let open = self.next()?;
        let close = match open.kind {
            Tok::LBracket => Tok::RBracket,
            Tok::LParen => Tok::RParen,
            _ => return Err(QueryError::syntax("expected a list `[...]` after `in`", open.start)),
        };
        let mut values = Vec::new();
        if self.peek()?.kind == close {
            self.next()?;
            return Ok(values);
        }
        loop {
            let token = self.next()?;
            let value = match token.kind {
                Tok::Str(s) => Value::String(s),
                Tok::Num(n) => Value::Number(n),
                Tok::True => Value::Bool(true),
                Tok::False => Value::Bool(false),
                Tok::Null => Value::Null,
                _ => {
                    return Err(QueryError::syntax(
                        format!("expected a value in the `in` list, found {}", describe_token(&token, self.src())),
                        token.start,
                    ))
                }
            };
            values.push((value, token.start));
            let sep = self.next()?;
            if sep.kind == close {
                return Ok(values);
            }
            if sep.kind != Tok::Comma {
                let closer = if close == Tok::RBracket { "]" } else { ")" };
                return Err(QueryError::syntax(
                    format!("expected `,` or `{closer}` in the `in` list, found {}", describe_token(&sep, self.src())),
                    sep.start,
                ));
            }
        }
    }
}

fn enter(depth: usize, at: usize) -> Result<usize, QueryError> {
    let depth = depth + 1;
    if depth > MAX_DEPTH {
        return Err(QueryError::syntax(format!("filter nests deeper than {MAX_DEPTH} levels"), at));
    }
    Ok(depth)
}

/// One item stays itself; nested nodes of the same kind are spliced in, so `(a and b) and c`
/// has three top-level conjuncts.
fn flatten(mut items: Vec<Node>, wrap: fn(Vec<Node>) -> Node, split: fn(Node) -> Result<Vec<Node>, Node>) -> Node {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match split(item) {
            Ok(inner) => flat.extend(inner),
            Err(other) => flat.push(other),
        }
    }
    wrap(flat)
}

// ---------------------------------------------------------------------------------------------
// Type checking

/// The field and operator a literal is checked against.
struct Check<'a> {
    field: &'a str,
    ty: FieldType,
    op: Op,
}

impl Check<'_> {
    /// Type-checks one literal and returns it encoded the way field values will be.
    fn literal(&self, value: &Value, at: usize) -> Result<Vec<u8>, QueryError> {
        let Check { field, ty, op } = *self;
        let err = |message: String| QueryError::about_field(message, field, Some(at));
        let mismatch = |hint: &str| {
            err(format!("type mismatch: `{field}` is {}, got {}{hint}", type_name(ty), describe_value(value)))
        };

        if value.is_null() {
            if matches!(op, Op::Eq | Op::Ne) {
                return Ok(vec![NULL_TAG]);
            }
            return Err(err(format!("`null` can only be compared with `=` or `!=` (field `{field}`)")));
        }

        if op == Op::Contains {
            return match ty {
                FieldType::String if value.is_string() => Ok(encode_value(Some(value), FieldType::Any)),
                FieldType::String => Err(mismatch("")),
                FieldType::Array | FieldType::Any => Ok(encode_value(Some(value), FieldType::Any)),
                _ => Err(err(format!(
                    "type mismatch: `{field}` is {}; `contains` needs a string or array field",
                    type_name(ty)
                ))),
            };
        }

        let ok = match ty {
            FieldType::String => value.is_string(),
            FieldType::Number | FieldType::Integer => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::Date | FieldType::DateTime => {
                let parses = value.as_str().and_then(|s| parse_instant(s, ty)).is_some();
                if !parses {
                    let hint = if !value.is_string() {
                        ""
                    } else if ty == FieldType::Date {
                        ", expected a date like \"2024-05-01\""
                    } else {
                        ", expected an RFC 3339 date-time like \"2024-05-01T09:30:00Z\" or a date"
                    };
                    return Err(mismatch(hint));
                }
                true
            }
            FieldType::Array => {
                return Err(err(format!(
                    "type mismatch: `{field}` is an array; use `contains`, `= null` or `!= null`, not `{}`",
                    op.text()
                )))
            }
            FieldType::Object => {
                return Err(err(format!(
                    "type mismatch: `{field}` is an object; only `= null` and `!= null` apply, not `{}`",
                    op.text()
                )))
            }
            FieldType::Any => true,
        };
        if !ok {
            return Err(mismatch(""));
        }
        Ok(encode_value(Some(value), ty))
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::String(_) => format!("string {value}"),
        Value::Number(_) => format!("number {value}"),
        Value::Bool(_) => format!("boolean {value}"),
        Value::Null => "null".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
