//! Rest.li 2.0 query values read from the raw query string, as LinkedIn reads them.
//!
//! Under `X-Restli-Protocol-Version: 2.0.0` the characters that shape a value (`List(`, `(`, `)`,
//! `,`, `:`) travel unencoded and the leaves inside are percent-encoded:
//! `shares=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)` (LinkedIn's "Protocol Versions" guide,
//! <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version>, and the
//! Rest.li protocol, <https://linkedin.github.io/rest.li/spec/protocol>). An encoded `%28` is a
//! literal parenthesis inside a leaf, so `List%28urn...%29` is one string, not a list, and the call
//! is refused with a 400. LinkedIn's own examples leave the colons of URNs unencoded inside lists
//! (`campaigns=List(urn:li:sponsoredCampaign:1234567)`), so unencoded colons in a leaf are accepted.

use super::errors::LiError;
use crate::http::Req;

/// A parsed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A decoded leaf (`''` is the empty string).
    Leaf(String),
    /// `List(...)`.
    List(Vec<Value>),
    /// `(key:value,...)`.
    Object(Vec<(String, Value)>),
}

/// Parses one raw (undecoded) query value.
pub(crate) fn parse(raw: &str) -> Result<Value, String> {
    let mut parser = Parser { raw, at: 0 };
    let value = parser.value()?;
    if parser.at != raw.len() {
        return Err(format!(
            "unexpected `{}` at offset {}",
            &raw[parser.at..],
            parser.at
        ));
    }
    Ok(value)
}

struct Parser<'a> {
    raw: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.raw[self.at..]
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.eat("List(") {
            let mut items = Vec::new();
            if !self.eat(")") {
                loop {
                    items.push(self.value()?);
                    if self.eat(")") {
                        break;
                    }
                    if !self.eat(",") {
                        return Err(format!("expected `,` or `)` at offset {}", self.at));
                    }
                }
            }
            return Ok(Value::List(items));
        }
        if self.eat("(") {
            let mut fields = Vec::new();
            if !self.eat(")") {
                loop {
                    let key = self.leaf(&[':', ',', '(', ')'])?;
                    if !self.eat(":") {
                        return Err(format!("expected `:` after key `{key}`"));
                    }
                    fields.push((key, self.value()?));
                    if self.eat(")") {
                        break;
                    }
                    if !self.eat(",") {
                        return Err(format!("expected `,` or `)` at offset {}", self.at));
                    }
                }
            }
            return Ok(Value::Object(fields));
        }
        Ok(Value::Leaf(self.leaf(&[',', '(', ')'])?))
    }

    fn leaf(&mut self, stops: &[char]) -> Result<String, String> {
        let len = self.rest().find(stops).unwrap_or(self.rest().len());
        let raw = &self.rest()[..len];
        self.at += len;
        if raw == "''" {
            return Ok(String::new());
        }
        if raw.is_empty() {
            return Err(format!("empty value at offset {}", self.at));
        }
        Ok(decode(raw))
    }
}

/// Percent-decodes a leaf (a `+` stays a plus: Rest.li leaves encode spaces as `%20`).
fn decode(raw: &str) -> String {
    crate::http::percent_decode(raw)
}

/// The leaves of every `name=List(...)` in the raw query, or a 400 naming the parameter when a
/// value is not a Rest.li list (its structure percent-encoded, or not a list at all).
pub(crate) fn list_param(req: &Req, name: &str) -> Result<Vec<String>, LiError> {
    let mut leaves = Vec::new();
    for raw in req.raw_q_all(name) {
        match parse(raw) {
            Ok(Value::List(items)) => {
                for item in items {
                    match item {
                        Value::Leaf(leaf) => leaves.push(leaf),
                        _ => return Err(not_a_list(name, raw, "a list of plain values")),
                    }
                }
            }
            Ok(_) => return Err(not_a_list(name, raw, "List(...)")),
            Err(why) => return Err(not_a_list(name, raw, &why)),
        }
    }
    Ok(leaves)
}

fn not_a_list(name: &str, raw: &str, expected: &str) -> LiError {
    let hint = if raw.contains("%28") || raw.contains("%29") || raw.contains("%2C") {
        " (Rest.li 2.0 structure such as `List(`, `,` and `)` must not be percent-encoded; only the values inside are)"
    } else {
        ""
    };
    LiError::bad(format!(
        "Invalid value for query parameter '{name}': expected {expected}, got `{raw}`{hint}"
    ))
    .service(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(s: &str) -> Value {
        Value::Leaf(s.into())
    }

    #[test]
    fn lists_objects_and_leaves() {
        assert_eq!(
            parse("List(urn%3Ali%3Ashare%3A1,urn:li:share:2)"),
            Ok(Value::List(vec![
                leaf("urn:li:share:1"),
                leaf("urn:li:share:2")
            ]))
        );
        assert_eq!(
            parse("(timeRange:(start:1,end:2),tag:a%28b%29,e:'')"),
            Ok(Value::Object(vec![
                (
                    "timeRange".into(),
                    Value::Object(vec![("start".into(), leaf("1")), ("end".into(), leaf("2"))])
                ),
                ("tag".into(), leaf("a(b)")),
                ("e".into(), leaf("")),
            ]))
        );
        assert_eq!(parse("List()"), Ok(Value::List(vec![])));
    }

    #[test]
    fn encoded_structure_is_a_literal_leaf() {
        assert_eq!(
            parse("List%28urn%3Ali%3Ashare%3A1%29"),
            Ok(leaf("List(urn:li:share:1)"))
        );
        assert!(parse("List(a,b").is_err());
        assert!(parse("List(a))").is_err());
        assert!(parse("(a)").is_err());
    }
}
