//! The 0.1 imports, forwarded to the capabilities' newest implementations.

use std::time::Duration;

use super::generated::postd::connector::{http, log, queue, vault};
use crate::capability::http::HttpState;
use crate::capability::log::LogState;
use crate::capability::queue::{ContinuationRefused, QueueState};
use crate::capability::vault::VaultState;
use crate::runtime::wit::convert::Convert;
use crate::runtime::wit::since_v0_2_0 as latest;

impl http::Host for HttpState {
    async fn send(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let answer = latest::http::Host::send(self, request.convert()).await?;
        Ok(answer.convert())
    }
}

impl vault::Host for VaultState {
    async fn get(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Option<String>, vault::VaultError>> {
        Ok(latest::vault::Host::get(self, name)
            .await?
            .map_err(Convert::convert))
    }

    fn put(
        &mut self,
        name: String,
        value: String,
    ) -> wasmtime::Result<Result<(), vault::VaultError>> {
        Ok(latest::vault::Host::put(self, name, value)?.map_err(Convert::convert))
    }

    async fn delete(&mut self, name: String) -> wasmtime::Result<Result<bool, vault::VaultError>> {
        Ok(latest::vault::Host::delete(self, name)
            .await?
            .map_err(Convert::convert))
    }

    fn app_secret(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        latest::vault::Host::app_secret(self, name)
    }

    fn app_setting(&mut self, name: String) -> Option<String> {
        latest::vault::Host::app_setting(self, name)
    }
}

impl queue::Host for QueueState {
    async fn enqueue(
        &mut self,
        task: queue::Task,
        delay_ms: u64,
    ) -> wasmtime::Result<Result<(), queue::QueueError>> {
        let accepted = self.accept(task.convert(), Duration::from_millis(delay_ms))?;
        Ok(accepted.map_err(|refused| match refused {
            ContinuationRefused::NoJob => queue::QueueError::NoJob,
            ContinuationRefused::TooMany(cap) => queue::QueueError::TooManyPending(cap),
            ContinuationRefused::DelayTooLong(cap) => queue::QueueError::DelayTooLong(cap),
            ContinuationRefused::TooLarge(cap) => queue::QueueError::TooLarge(cap),
        }))
    }

    async fn checkpoint(
        &mut self,
        recovery_point: String,
    ) -> wasmtime::Result<Result<(), queue::QueueError>> {
        let answer = latest::queue::Host::checkpoint(self, recovery_point).await?;
        Ok(answer.map_err(Convert::convert))
    }
}

impl log::Host for LogState {
    fn emit(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
        latest::log::Host::emit(self, level.convert(), message, fields)
    }
}
