//! The exports a caller can invoke, as data: one [`Invocation`] in, one [`Answer`] out.

use wasmtime::Store;

use super::state::CallState;
use super::wit::ConnectorPre;
use super::wit::connector::Account;
use super::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthorizeRequest, ConnectionInfo, DeleteRequest, Guest,
    HealthReport, JobContext, Metric, PluginManifest, Post, PublishOutcome, TaskContext,
    TokenExpiry, WebhookEvent, WebhookRequest, WebhookResponse,
};
use super::wit::types::ConnectorError;
use crate::capability::Redactor;

/// What a connector answered, or the error it reported (a connector error is data).
pub type Reply<T> = Result<T, ConnectorError>;

/// One call of the `connector` export.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// `manifest()`.
    Manifest,
    /// `authorize-url(request)`.
    AuthorizeUrl(AuthorizeRequest),
    /// `complete-auth(callback)`.
    CompleteAuth(AuthCallback),
    /// `refresh()`.
    Refresh,
    /// `list-accounts()`.
    ListAccounts,
    /// `publish(post, job)`.
    Publish(Post, JobContext),
    /// `delete-post(request)`.
    DeletePost(DeleteRequest),
    /// `analytics(request)`.
    Analytics(AnalyticsRequest),
    /// `health()`.
    Health,
    /// `webhook-challenge(request)`.
    WebhookChallenge(WebhookRequest),
    /// `verify-webhook(request)`.
    VerifyWebhook(WebhookRequest),
    /// `handle-task(context)`.
    HandleTask(TaskContext),
}

/// The answer to an [`Invocation`], case for case.
#[derive(Debug, Clone)]
pub enum Answer {
    /// From `manifest()`.
    Manifest(PluginManifest),
    /// From `authorize-url`.
    AuthorizeUrl(Reply<String>),
    /// From `complete-auth`.
    CompleteAuth(Reply<ConnectionInfo>),
    /// From `refresh`.
    Refresh(Reply<TokenExpiry>),
    /// From `list-accounts`.
    ListAccounts(Reply<Vec<Account>>),
    /// From `publish`.
    Publish(Reply<PublishOutcome>),
    /// From `delete-post`.
    DeletePost(Reply<()>),
    /// From `analytics`.
    Analytics(Reply<Vec<Metric>>),
    /// From `health`.
    Health(Reply<HealthReport>),
    /// From `webhook-challenge`.
    WebhookChallenge(Reply<Option<WebhookResponse>>),
    /// From `verify-webhook`.
    VerifyWebhook(Reply<Vec<WebhookEvent>>),
    /// From `handle-task`.
    HandleTask(Reply<PublishOutcome>),
}

impl Invocation {
    /// The export's WIT name, for logs and metrics.
    pub fn export_name(&self) -> &'static str {
        match self {
            Invocation::Manifest => "manifest",
            Invocation::AuthorizeUrl(_) => "authorize-url",
            Invocation::CompleteAuth(_) => "complete-auth",
            Invocation::Refresh => "refresh",
            Invocation::ListAccounts => "list-accounts",
            Invocation::Publish(..) => "publish",
            Invocation::DeletePost(_) => "delete-post",
            Invocation::Analytics(_) => "analytics",
            Invocation::Health => "health",
            Invocation::WebhookChallenge(_) => "webhook-challenge",
            Invocation::VerifyWebhook(_) => "verify-webhook",
            Invocation::HandleTask(_) => "handle-task",
        }
    }

    /// Instantiates `pre` and calls the export, in the component's contract version. A
    /// connector's error text reaches API answers, attempts and logs, so every secret the call
    /// was handed or wrote is redacted from it.
    pub(crate) async fn call(
        self,
        pre: &ConnectorPre,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Answer> {
        let answer = pre.call(&mut *store, self).await?;
        Ok(answer.redact_error(store.data().vault.redactor()))
    }

    /// Calls the export on a `guest` of the newest contract version.
    pub(crate) async fn call_newest(
        self,
        guest: &Guest,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Answer> {
        Ok(match self {
            Invocation::Manifest => Answer::Manifest(guest.call_manifest(store).await?),
            Invocation::AuthorizeUrl(r) => {
                Answer::AuthorizeUrl(guest.call_authorize_url(store, &r).await?)
            }
            Invocation::CompleteAuth(c) => {
                Answer::CompleteAuth(guest.call_complete_auth(store, &c).await?)
            }
            Invocation::Refresh => Answer::Refresh(guest.call_refresh(store).await?),
            Invocation::ListAccounts => {
                Answer::ListAccounts(guest.call_list_accounts(store).await?)
            }
            Invocation::Publish(p, j) => Answer::Publish(guest.call_publish(store, &p, &j).await?),
            Invocation::DeletePost(r) => {
                Answer::DeletePost(guest.call_delete_post(store, &r).await?)
            }
            Invocation::Analytics(r) => Answer::Analytics(guest.call_analytics(store, &r).await?),
            Invocation::Health => Answer::Health(guest.call_health(store).await?),
            Invocation::WebhookChallenge(r) => {
                Answer::WebhookChallenge(guest.call_webhook_challenge(store, &r).await?)
            }
            Invocation::VerifyWebhook(r) => {
                Answer::VerifyWebhook(guest.call_verify_webhook(store, &r).await?)
            }
            Invocation::HandleTask(c) => {
                Answer::HandleTask(guest.call_handle_task(store, &c).await?)
            }
        })
    }
}

impl Answer {
    /// The connector error the answer carries, if it is one.
    pub fn error_mut(&mut self) -> Option<&mut ConnectorError> {
        match self {
            Answer::Manifest(_) => None,
            Answer::AuthorizeUrl(r) => r.as_mut().err(),
            Answer::CompleteAuth(r) => r.as_mut().err(),
            Answer::Refresh(r) => r.as_mut().err(),
            Answer::ListAccounts(r) => r.as_mut().err(),
            Answer::Publish(r) | Answer::HandleTask(r) => r.as_mut().err(),
            Answer::DeletePost(r) => r.as_mut().err(),
            Answer::Analytics(r) => r.as_mut().err(),
            Answer::Health(r) => r.as_mut().err(),
            Answer::WebhookChallenge(r) => r.as_mut().err(),
            Answer::VerifyWebhook(r) => r.as_mut().err(),
        }
    }

    /// The same answer, with every secret `redactor` knows replaced in its connector error.
    fn redact_error(mut self, redactor: &Redactor) -> Self {
        if let Some(error) = self.error_mut() {
            redactor.redact_connector_error(error);
        }
        self
    }
}
