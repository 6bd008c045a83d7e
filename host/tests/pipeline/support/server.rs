//! The HTTP API of a [`Harness`], served on loopback, and a client for it.

use std::sync::Arc;

use postd_host::api::{ApiState, service};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::Harness;

pub const ADMIN_KEY: &str = "admin-key-for-tests-only";

/// A served API.
pub struct Api {
    pub url: String,
    pub client: reqwest::Client,
}

/// An answer: status, headers and JSON (or text as a JSON string).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }
}

impl Harness {
    /// Serves the API over this harness's pipeline.
    pub async fn serve_api(&self) -> Api {
        self.serve_api_with(Some(ADMIN_KEY), vec![]).await
    }

    /// Serves the API with `admin_key` (`None`: the admin API off) and the console's named
    /// `console_admins`.
    pub async fn serve_api_with(
        &self,
        admin_key: Option<&str>,
        console_admins: Vec<postd_host::config::ConsoleAdmin>,
    ) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(
            ApiState::new(
                self.pipeline.clone(),
                admin_key.map(str::to_string),
                url.clone(),
                None,
            )
            .with_console_admins(console_admins),
        );
        tokio::spawn(async move { axum::serve(listener, service(state)).await.unwrap() });
        Api {
            url,
            // Redirects are answers to check, never followed (an OAuth `return_to` names the tenant's app).
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Creates `tenant` (if needed) and an API key for it.
    pub async fn tenant_key(&self, tenant: &str) -> String {
        let now = self.pipeline.now();
        self.store.create_tenant(tenant, tenant, now).await.unwrap();
        self.store
            .tenant(tenant)
            .create_api_key("test", now)
            .await
            .unwrap()
    }
}

impl Api {
    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.url));
        match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    pub async fn send(&self, builder: RequestBuilder) -> Answer {
        let response = builder.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            json,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Answer {
        self.send(self.request(Method::GET, path, Some(key))).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Answer {
        self.send(json(self.request(Method::POST, path, Some(key)), &body))
            .await
    }
}

/// A JSON body.
pub fn json(builder: RequestBuilder, body: &Value) -> RequestBuilder {
    builder
        .header("content-type", "application/json")
        .body(body.to_string())
}
