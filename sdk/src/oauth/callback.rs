//! What the platform sent back to the redirect URI.

use crate::{AuthCallback, Error, Result};

impl AuthCallback {
    /// The callback's query parameter `name`, or a field of a pasted credential.
    pub fn param(&self, name: &str) -> Option<&str> {
        crate::fields::field(&self.params, name)
    }

    /// The authorization `code`. Without one, the user refused consent (RFC 6749 §4.1.2.1:
    /// `error`, `error_description`), named after `platform`, or the callback is malformed.
    pub fn code(&self, platform: &str) -> Result<&str> {
        if let Some(code) = self.param("code") {
            return Ok(code);
        }
        Err(match self.param("error") {
            Some(error) => Error::PermissionMissing(vec![
                format!(
                    "{platform} consent refused: {error} {}",
                    self.param("error_description").unwrap_or_default()
                )
                .trim_end()
                .to_string(),
            ]),
            None => Error::invalid_input("the callback has no `code`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(params: &[(&str, &str)]) -> AuthCallback {
        AuthCallback {
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            redirect_uri: "https://app.example/cb".into(),
        }
    }

    #[test]
    fn a_code_is_found_and_a_refusal_is_named() {
        assert_eq!(callback(&[("code", "c1")]).code("X").unwrap(), "c1");
        match callback(&[("error", "access_denied"), ("error_description", "no")]).code("X") {
            Err(Error::PermissionMissing(why)) => {
                assert_eq!(why, vec!["X consent refused: access_denied no"])
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            callback(&[("state", "s")]).code("X"),
            Err(Error::InvalidInput(_))
        ));
    }
}
