//! Console sign-ins and hosted connect sessions: short-lived, named by the SHA-256 of a random
//! token that only the browser holds, shared by every replica through the database.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Millis, Store, StoreError, random_token};

/// A signed-in console session.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who signed in (the name the audit log gives their changes).
    pub admin: String,
    /// The token every change in this session carries.
    pub csrf: String,
    /// When it ends (Unix ms).
    pub expires_at: Millis,
}

/// A hosted connect session.
#[derive(Debug, Clone)]
pub struct ConnectSession {
    /// The tenant whose user connects.
    pub tenant_id: String,
    /// The plugins offered, in the order the tenant gave.
    pub plugins: Vec<String>,
    /// Where the user goes back to.
    pub return_to: String,
    /// When it ends (Unix ms).
    pub expires_at: Millis,
    /// The connection made through it, once made.
    pub connection_id: Option<String>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Opens a console session for `admin` until `expires_at`; returns its token (for the
    /// cookie) and the session. Sessions that have ended are removed on the way.
    pub async fn open_console_session(
        &self,
        admin: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(String, ConsoleSession), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("removing ended console sessions"))?;
        let token = random_token("pcs_");
        let session = ConsoleSession {
            admin: admin.to_string(),
            csrf: random_token(""),
            expires_at,
        };
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, admin, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&token))
        .bind(&session.admin)
        .bind(&session.csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::db("opening a console session"))?;
        Ok((token, session))
    }

    /// The live session `token` names, if any.
    pub async fn console_session(
        &self,
        token: &str,
        now: Millis,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let row = sqlx::query(
            "SELECT admin, csrf, expires_at FROM console_sessions
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(digest(token))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("reading a console session"))?;
        Ok(row.map(|row| ConsoleSession {
            admin: row.get("admin"),
            csrf: row.get("csrf"),
            expires_at: row.get("expires_at"),
        }))
    }

    /// Ends the session `token` names (signing out), on every replica.
    pub async fn close_console_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(digest(token))
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("closing a console session"))?;
        Ok(())
    }

    /// Opens a connect session of `tenant`; returns its token (for the page's address).
    pub async fn open_connect_session(
        &self,
        tenant: &str,
        plugins: &[String],
        return_to: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<String, StoreError> {
        sqlx::query("DELETE FROM connect_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("removing ended connect sessions"))?;
        let token = random_token("pcn_");
        sqlx::query(
            "INSERT INTO connect_sessions (token_hash, tenant_id, plugins, return_to, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(digest(&token))
        .bind(tenant)
        .bind(serde_json::to_string(plugins).expect("strings serialize"))
        .bind(return_to)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::db("opening a connect session"))?;
        Ok(token)
    }

    /// The live connect session `token` names, if any.
    pub async fn connect_session(
        &self,
        token: &str,
        now: Millis,
    ) -> Result<Option<ConnectSession>, StoreError> {
        let row = sqlx::query(
            "SELECT tenant_id, plugins, return_to, expires_at, connection_id FROM connect_sessions
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(digest(token))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("reading a connect session"))?;
        Ok(row.map(|row| ConnectSession {
            tenant_id: row.get("tenant_id"),
            plugins: serde_json::from_str(&row.get::<String, _>("plugins")).unwrap_or_default(),
            return_to: row.get("return_to"),
            expires_at: row.get("expires_at"),
            connection_id: row.get("connection_id"),
        }))
    }

    /// Claims the connect session `token` for `connection`, about to be made: `false` when it
    /// was already claimed (a second submit of the page).
    pub async fn claim_connect_session(
        &self,
        token: &str,
        connection: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connect_sessions SET connection_id = $2, finished_at = $3
             WHERE token_hash = $1 AND connection_id IS NULL",
        )
        .bind(digest(token))
        .bind(connection)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::db("claiming a connect session"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the connect session `token` back after the connection it was claimed for failed.
    pub async fn release_connect_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE connect_sessions SET connection_id = NULL, finished_at = NULL WHERE token_hash = $1",
        )
        .bind(digest(token))
        .execute(&self.pool)
        .await
        .map_err(StoreError::db("giving a connect session back"))?;
        Ok(())
    }
}
