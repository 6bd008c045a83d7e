//! Meta Graph imitation, tested against ../shared/platforms/meta.md.

#[path = "meta/limits.rs"]
mod limits;
#[path = "meta/lost_answers.rs"]
mod lost_answers;
#[path = "meta/oauth.rs"]
mod oauth;
#[path = "meta/pages.rs"]
mod pages;
mod support;
#[path = "meta/versions.rs"]
mod versions;
#[path = "meta/webhooks.rs"]
mod webhooks;

use std::time::Duration;

use postd_sandbox::seed::*;
use postd_sandbox::{DeliveryOptions, FaultRule, MetaConfig, Platform, SandboxConfig};
use serde_json::{Value, json};
use support::meta::*;
use support::*;
