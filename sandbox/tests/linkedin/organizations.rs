//! LinkedIn organizations on the versioned API: roles, the batch lookup, share statistics, and
//! Rest.li 2.0 lists read from the raw query (structure unencoded, values encoded).

use super::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn administered_organizations_come_from_the_versioned_roles_and_lookup() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let get = |path: String| {
        let (sb, token) = (&sb, token.clone());
        async move { rest(sb, reqwest::Method::GET, &path, &token, None).await }
    };

    let acls =
        get("organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED".into()).await;
    assert_eq!(acls.status, 200, "{}", acls.text);
    let elements = acls.body["elements"].as_array().expect("elements");
    assert_eq!(elements.len(), 1, "only the administered organization");
    assert_eq!(elements[0]["role"], "ADMINISTRATOR");
    assert_eq!(elements[0]["state"], "APPROVED");
    assert_eq!(elements[0]["organization"], org(LINKEDIN_ORG_ID).as_str());
    assert_eq!(elements[0]["roleAssignee"], person().as_str());

    // Decoration is gone from the versioned APIs; names come from the lookup.
    let decorated = get(
        "organizationAcls?q=roleAssignee&projection=(elements*(organization~(localizedName)))"
            .into(),
    )
    .await;
    assert_eq!(decorated.status, 400, "{}", decorated.text);
    let names = get(format!(
        "organizations?ids=List({LINKEDIN_ORG_ID},{LINKEDIN_OTHER_ORG_ID},999)"
    ))
    .await;
    assert_eq!(names.status, 200, "{}", names.text);
    assert_eq!(
        names.body["results"][LINKEDIN_ORG_ID]["localizedName"],
        "Sandbox Corp"
    );
    assert_eq!(names.body["statuses"][LINKEDIN_ORG_ID], 200);
    assert_eq!(names.body["statuses"]["999"], 404);
    assert!(names.body["errors"]["999"].is_object());

    // The legacy form is gone.
    let legacy = get_bearer(
        &format!(
            "{}/v2/organizationalEntityAcls?q=roleAssignee",
            sb.url(Platform::Linkedin)
        ),
        &token,
    )
    .await;
    assert_eq!(legacy.status, 404);
}

#[tokio::test]
async fn a_rest_li_list_whose_structure_is_percent_encoded_is_refused() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let encoded = rest(
        &sb,
        reqwest::Method::GET,
        &format!("organizations?ids=List%28{LINKEDIN_ORG_ID}%29"),
        &token,
        None,
    )
    .await;
    assert_eq!(encoded.status, 400, "{}", encoded.text);
    assert!(
        encoded.body["message"]
            .as_str()
            .unwrap()
            .contains("must not be percent-encoded"),
        "{}",
        encoded.text
    );

    let created = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&post_body(&org(LINKEDIN_ORG_ID))),
    )
    .await;
    let share = created.header("x-restli-id").expect("urn");
    let base = format!(
        "organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}",
        enc(&org(LINKEDIN_ORG_ID))
    );
    // As the SDK's ordinary encoder would send it: one literal string, not a list.
    let literal = rest(
        &sb,
        reqwest::Method::GET,
        &format!("{base}&shares={}", enc(&format!("List({share})"))),
        &token,
        None,
    )
    .await;
    assert_eq!(literal.status, 400, "{}", literal.text);
    // Rest.li 2.0: structure as is, the URN inside encoded.
    let list = rest(
        &sb,
        reqwest::Method::GET,
        &format!("{base}&shares=List({})", enc(&share)),
        &token,
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["elements"][0]["share"], share.as_str());
}

#[tokio::test]
async fn organization_share_statistics_only_for_administered_organizations() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let stats = |org_id: &str| {
        format!(
            "organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}",
            enc(&org(org_id))
        )
    };
    let total = rest(
        &sb,
        reqwest::Method::GET,
        &stats(LINKEDIN_ORG_ID),
        &token,
        None,
    )
    .await;
    assert_eq!(total.status, 200, "{}", total.text);
    let s = &total.body["elements"][0]["totalShareStatistics"];
    for k in [
        "impressionCount",
        "clickCount",
        "likeCount",
        "commentCount",
        "shareCount",
        "engagement",
    ] {
        assert!(s[k].is_number(), "{k}");
    }
    let other = rest(
        &sb,
        reqwest::Method::GET,
        &stats(LINKEDIN_OTHER_ORG_ID),
        &token,
        None,
    )
    .await;
    assert_eq!(other.status, 403);
    let legacy = get_bearer(
        &format!(
            "{}/v2/{}",
            sb.url(Platform::Linkedin),
            stats(LINKEDIN_ORG_ID)
        ),
        &token,
    )
    .await;
    assert_eq!(legacy.status, 404, "the versioned form replaces it");
}
