//! Bridges an author's [`Connector`] to the generated export trait.

use core::marker::PhantomData;

use crate::bindings::exports::postd::connector::connector::{self as export, Guest};
use crate::bindings::postd::connector::types::ConnectorError;
use crate::{Connector, SDK_VERSION};

/// The generated `Guest` implementation for any [`Connector`]. Used by
/// [`register_connector!`](crate::register_connector); authors never name it.
pub struct Adapter<T>(PhantomData<T>);

impl<T: Connector> Guest for Adapter<T> {
    fn manifest() -> export::PluginManifest {
        let mut manifest = T::manifest();
        manifest.sdk_version = SDK_VERSION.to_string();
        manifest
    }

    fn authorize_url(request: export::AuthorizeRequest) -> Result<String, ConnectorError> {
        T::authorize_url(request)
    }

    fn complete_auth(
        callback: export::AuthCallback,
    ) -> Result<export::ConnectionInfo, ConnectorError> {
        T::complete_auth(callback)
    }

    fn refresh() -> Result<export::TokenExpiry, ConnectorError> {
        T::refresh()
    }

    fn list_accounts() -> Result<Vec<export::Account>, ConnectorError> {
        T::list_accounts()
    }

    fn publish(
        post: export::Post,
        job: export::JobContext,
    ) -> Result<export::PublishOutcome, ConnectorError> {
        T::publish(post, job)
    }

    fn delete_post(request: export::DeleteRequest) -> Result<(), ConnectorError> {
        T::delete_post(request)
    }

    fn analytics(request: export::AnalyticsRequest) -> Result<Vec<export::Metric>, ConnectorError> {
        T::analytics(request)
    }

    fn health() -> Result<export::HealthReport, ConnectorError> {
        T::health()
    }

    fn webhook_challenge(
        request: export::WebhookRequest,
    ) -> Result<Option<export::WebhookResponse>, ConnectorError> {
        T::webhook_challenge(request)
    }

    fn verify_webhook(
        request: export::WebhookRequest,
    ) -> Result<Vec<export::WebhookEvent>, ConnectorError> {
        T::verify_webhook(request)
    }

    fn handle_task(context: export::TaskContext) -> Result<export::PublishOutcome, ConnectorError> {
        T::handle_task(context)
    }
}
