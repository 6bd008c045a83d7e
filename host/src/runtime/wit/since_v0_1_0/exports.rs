//! Calling a 0.1 component's exports with the newest types.

use wasmtime::Store;

use super::generated::exports::postd::connector::connector::Guest;
use crate::runtime::invoke::{Answer, Invocation};
use crate::runtime::state::CallState;
use crate::runtime::wit::convert::Convert;

/// Calls `invocation` on a 0.1 `guest`: its arguments converted down, its answer converted up.
pub(crate) async fn call(
    guest: &Guest,
    store: &mut Store<CallState>,
    invocation: Invocation,
) -> wasmtime::Result<Answer> {
    Ok(match invocation {
        Invocation::Manifest => Answer::Manifest(guest.call_manifest(store).await?.convert()),
        Invocation::AuthorizeUrl(r) => Answer::AuthorizeUrl(
            guest
                .call_authorize_url(store, &r.convert())
                .await?
                .convert(),
        ),
        Invocation::CompleteAuth(c) => Answer::CompleteAuth(
            guest
                .call_complete_auth(store, &c.convert())
                .await?
                .convert(),
        ),
        Invocation::Refresh => Answer::Refresh(guest.call_refresh(store).await?.convert()),
        Invocation::ListAccounts => {
            Answer::ListAccounts(guest.call_list_accounts(store).await?.convert())
        }
        Invocation::Publish(p, j) => Answer::Publish(
            guest
                .call_publish(store, &p.convert(), &j.convert())
                .await?
                .convert(),
        ),
        Invocation::DeletePost(r) => {
            Answer::DeletePost(guest.call_delete_post(store, &r.convert()).await?.convert())
        }
        Invocation::Analytics(r) => {
            Answer::Analytics(guest.call_analytics(store, &r.convert()).await?.convert())
        }
        Invocation::Health => Answer::Health(guest.call_health(store).await?.convert()),
        Invocation::WebhookChallenge(r) => Answer::WebhookChallenge(
            guest
                .call_webhook_challenge(store, &r.convert())
                .await?
                .convert(),
        ),
        Invocation::VerifyWebhook(r) => Answer::VerifyWebhook(
            guest
                .call_verify_webhook(store, &r.convert())
                .await?
                .convert(),
        ),
        Invocation::HandleTask(c) => {
            Answer::HandleTask(guest.call_handle_task(store, &c.convert()).await?.convert())
        }
    })
}
