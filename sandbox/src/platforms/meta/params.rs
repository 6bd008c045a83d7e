//! Graph parameters: Graph reads them from the query string, a form body or a JSON body alike.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::errors::GraphError;
use crate::http::Req;

/// Graph parameters merged from query, form body and JSON body.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, Value>);

impl Params {
    pub fn from_req(req: &Req) -> Result<Params, GraphError> {
        let mut map = HashMap::new();
        for (k, v) in &req.query {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        if !req.body.is_empty() {
            if req.is_json() {
                match req.json() {
                    Ok(Value::Object(obj)) => map.extend(obj),
                    _ => {
                        return Err(GraphError::param(
                            "The request body is not a valid JSON object",
                        ));
                    }
                }
            } else {
                for (k, v) in req.form() {
                    map.insert(k, Value::String(v));
                }
            }
        }
        Ok(Params(map))
    }

    pub fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A boolean parameter; `Err` when present but not a boolean.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, GraphError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(GraphError::param(format_args!(
                    "Param {key} must be a boolean"
                ))),
            },
            Some(_) => Err(GraphError::param(format_args!(
                "Param {key} must be a boolean"
            ))),
        }
    }

    pub fn i64(&self, key: &str) -> Result<Option<i64>, GraphError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| GraphError::param(format_args!("Param {key} must be an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| GraphError::param(format_args!("Param {key} must be an integer"))),
            Some(_) => Err(GraphError::param(format_args!(
                "Param {key} must be an integer"
            ))),
        }
    }

    /// A list given as a JSON array, a JSON array in a string, or a comma-separated string.
    pub fn list(&self, key: &str) -> Result<Option<Vec<Value>>, GraphError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                match serde_json::from_str(s) {
                    Ok(Value::Array(a)) => Ok(Some(a)),
                    _ => Err(GraphError::param(format_args!(
                        "Param {key} must be an array"
                    ))),
                }
            }
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(|x| json!(x))
                    .collect(),
            )),
            Some(_) => Err(GraphError::param(format_args!(
                "Param {key} must be an array"
            ))),
        }
    }

    /// The `fields` parameter as a list (empty when absent).
    pub fn fields(&self) -> Vec<String> {
        self.str("fields")
            .map(|f| {
                f.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}
