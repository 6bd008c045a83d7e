//! An export's arguments as JSON, in the contract's own field names (`account-id`,
//! `redirect-uri`), for `postd-host try` and the test kit.
//!
//! Every field has a default, so `{}` is a valid argument for every export: a publish of an
//! empty text to account `""`, an authorize request with no scopes. `fields` (query, headers,
//! options, callback parameters) are JSON objects of strings.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::runtime::Invocation;
use crate::runtime::wit::connector::{
    AnalyticsRequest, AuthCallback, AuthorizeRequest, DeleteRequest, JobContext, Media, MediaKind,
    Post, TaskContext, WebhookRequest,
};
use crate::runtime::wit::queue::Task;

/// The exports `try` can call, in the contract's names.
pub const EXPORTS: &[&str] = &[
    "manifest",
    "authorize-url",
    "complete-auth",
    "refresh",
    "list-accounts",
    "publish",
    "delete-post",
    "analytics",
    "health",
    "webhook-challenge",
    "verify-webhook",
    "handle-task",
];

type Fields = BTreeMap<String, String>;

fn pairs(fields: Fields) -> Vec<(String, String)> {
    fields.into_iter().collect()
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct AuthorizeArgs {
    state: String,
    redirect_uri: String,
    scopes: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct CallbackArgs {
    params: Fields,
    redirect_uri: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum KindArg {
    Image,
    Video,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct MediaArgs {
    kind: KindArg,
    url: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    size_bytes: Option<u64>,
    #[serde(default)]
    alt_text: Option<String>,
}

/// `publish` and `handle-task` take the job's attempt and recovery point beside their own
/// fields.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct PublishArgs {
    account_id: String,
    text: String,
    link: Option<String>,
    media: Vec<MediaArgs>,
    scheduled_for: Option<i64>,
    options: Fields,
    attempt: Option<u32>,
    recovery_point: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct DeleteArgs {
    account_id: String,
    post_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct AnalyticsArgs {
    account_id: String,
    post_id: Option<String>,
    since: i64,
    until: i64,
    metrics: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct WebhookArgs {
    method: Option<String>,
    path: String,
    query: Fields,
    headers: Fields,
    /// The body as text (UTF-8).
    body: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct TaskArgs {
    kind: String,
    payload: String,
    attempt: Option<u32>,
    recovery_point: Option<String>,
}

fn job(job_id: &str, attempt: Option<u32>, recovery_point: Option<String>) -> JobContext {
    JobContext {
        job_id: job_id.into(),
        attempt: attempt.unwrap_or(1),
        recovery_point,
    }
}

fn parse<T: for<'de> Deserialize<'de> + Default>(
    export: &str,
    json: Option<&str>,
) -> Result<T, String> {
    match json {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("the arguments of `{export}` are not valid: {e}")),
    }
}

/// The invocation of `export` with `json` (absent: every field at its default). `job_id` names
/// the job of `publish` and `handle-task`.
pub fn invocation(export: &str, json: Option<&str>, job_id: &str) -> Result<Invocation, String> {
    let takes_no_arguments = matches!(export, "manifest" | "refresh" | "list-accounts" | "health");
    if takes_no_arguments && json.is_some_and(|j| !j.trim().is_empty() && j.trim() != "{}") {
        return Err(format!("`{export}` takes no arguments"));
    }
    Ok(match export {
        "manifest" => Invocation::Manifest,
        "refresh" => Invocation::Refresh,
        "list-accounts" => Invocation::ListAccounts,
        "health" => Invocation::Health,
        "authorize-url" => {
            let a: AuthorizeArgs = parse(export, json)?;
            Invocation::AuthorizeUrl(AuthorizeRequest {
                state: a.state,
                redirect_uri: a.redirect_uri,
                scopes: a.scopes,
            })
        }
        "complete-auth" => {
            let a: CallbackArgs = parse(export, json)?;
            Invocation::CompleteAuth(AuthCallback {
                params: pairs(a.params),
                redirect_uri: a.redirect_uri,
            })
        }
        "publish" => {
            let a: PublishArgs = parse(export, json)?;
            let post = Post {
                account_id: a.account_id,
                text: a.text,
                link: a.link,
                media: a.media.into_iter().map(media).collect(),
                scheduled_for: a.scheduled_for,
                options: pairs(a.options),
            };
            Invocation::Publish(post, job(job_id, a.attempt, a.recovery_point))
        }
        "delete-post" => {
            let a: DeleteArgs = parse(export, json)?;
            Invocation::DeletePost(DeleteRequest {
                account_id: a.account_id,
                post_id: a.post_id,
            })
        }
        "analytics" => {
            let a: AnalyticsArgs = parse(export, json)?;
            Invocation::Analytics(AnalyticsRequest {
                account_id: a.account_id,
                post_id: a.post_id,
                since: a.since,
                until: a.until,
                metrics: a.metrics,
            })
        }
        "webhook-challenge" | "verify-webhook" => {
            let a: WebhookArgs = parse(export, json)?;
            let request = WebhookRequest {
                method: a.method.unwrap_or_else(|| "POST".into()),
                path: a.path,
                query: pairs(a.query),
                headers: pairs(a.headers),
                body: a.body.into_bytes(),
            };
            if export == "webhook-challenge" {
                Invocation::WebhookChallenge(request)
            } else {
                Invocation::VerifyWebhook(request)
            }
        }
        "handle-task" => {
            let a: TaskArgs = parse(export, json)?;
            Invocation::HandleTask(TaskContext {
                task: Task {
                    kind: a.kind,
                    payload: a.payload,
                },
                job: job(job_id, a.attempt, a.recovery_point),
            })
        }
        other => {
            return Err(format!(
                "`{other}` is not an export of the contract; one of: {}",
                EXPORTS.join(", ")
            ));
        }
    })
}

fn media(m: MediaArgs) -> Media {
    Media {
        kind: match m.kind {
            KindArg::Image => MediaKind::Image,
            KindArg::Video => MediaKind::Video,
        },
        url: m.url,
        mime_type: m.mime_type,
        size_bytes: m.size_bytes,
        alt_text: m.alt_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_export_accepts_no_arguments() {
        for export in EXPORTS {
            assert!(invocation(export, None, "j").is_ok(), "{export}");
        }
    }

    #[test]
    fn publish_reads_the_contracts_field_names() {
        let json = r#"{"account-id": "a1", "text": "hi", "options": {"privacy-level": "SELF_ONLY"},
                       "media": [{"kind": "video", "url": "https://cdn.example/v.mp4"}], "attempt": 3}"#;
        let Invocation::Publish(post, job) = invocation("publish", Some(json), "j").unwrap() else {
            panic!("not a publish");
        };
        assert_eq!(post.account_id, "a1");
        assert_eq!(
            post.options,
            vec![("privacy-level".into(), "SELF_ONLY".into())]
        );
        assert!(matches!(post.media[0].kind, MediaKind::Video));
        assert_eq!((job.job_id.as_str(), job.attempt), ("j", 3));
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = invocation("publish", Some(r#"{"acount-id": "a"}"#), "j").unwrap_err();
        assert!(unknown.contains("acount-id"), "{unknown}");
        let export = invocation("post", None, "j").unwrap_err();
        assert!(export.contains("publish"), "{export}");
        let extra = invocation("health", Some(r#"{"x": 1}"#), "j").unwrap_err();
        assert!(extra.contains("no arguments"), "{extra}");
    }
}
