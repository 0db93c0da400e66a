//! The tenants page in a real headless browser: the ledger's tenants are listed, the filters
//! narrow them, a row's link opens its trace's timeline (read from the ledger), and a status
//! change arrives without a reload.

use chrono::Utc;
use eda_tests::broker::TestBroker;

use crate::browser::Browser;
use crate::helpers::*;
use crate::ledger::TestLedger;

/// How many tenant rows the page shows.
async fn rows(browser: &Browser) -> usize {
    browser.find_all("#tenants tbody tr").await
}

#[tokio::test]
async fn the_tenants_page_lists_filters_opens_timelines_and_follows_a_change_live() {
    let ledger = TestLedger::create().await;
    let at = Utc::now() - chrono::Duration::hours(1);
    ledger.tenant("tenant-a1", "product-a", "dedicated", "provisioning", at).await;
    let provisioned = ledger.tenant("tenant-a2", "product-b", "classic", "provisioned", at).await;
    ledger.tenant("tenant-b1", "product-a", "dedicated", "failed", at).await;

    let t = TestBroker::new().await;
    let mut config = config_with_login(&t, "ops", "tenants pass");
    config.database_url = Some(ledger.reader_url.clone().into());
    let app = TestApp::spawn_with(t, config, true).await;

    let browser = Browser::start().await;
    browser.goto(&app.url("/").replace("http://", "http://ops:tenants%20pass@")).await;
    browser.click("#nav-tenants").await;
    browser.wait_for_url(|u| u.ends_with("/tenants")).await; // the portal links to the tenants page
    assert_eq!(rows(&browser).await, 3, "every tenant of the ledger");
    let a1 = "#tenants tr[data-key='tenant-a1/product-a']";
    assert_eq!(browser.text(&format!("{a1} .badge")).await, "provisioning");
    assert_eq!(
        browser.text("#tenants tr[data-key='tenant-a2/product-b'] td[data-label='Hardware']").await,
        "classic"
    );

    // A change published now reaches the open page: the live stream is connected first.
    browser.wait_for_text("live", "Live: changes appear as they happen.").await;
    app.publish_as("provisioner", &provisioner_event("tenant-a1", "provisioned", uuid::Uuid::new_v4())).await;
    assert_eq!(browser.wait_for_css_text(&format!("{a1} .badge"), "provisioned").await, "provisioned");

    // Filters: a status, then a client prefix (the form sends "any status" as an empty value).
    browser.click("#status-filter option[value='failed']").await;
    browser.click("#filter").await;
    browser.wait_for_url(|u| u.contains("status=failed")).await;
    assert_eq!(rows(&browser).await, 1);
    assert_eq!(browser.text("#tenants tbody tr td[data-label='Client']").await, "tenant-b1");
    browser.click("#status-filter option[value='']").await;
    browser.type_into("#client-filter", "tenant-a").await;
    browser.click("#filter").await;
    browser.wait_for_url(|u| u.contains("client=tenant-a")).await;
    assert_eq!(rows(&browser).await, 2);

    // A row's link opens its trace's timeline, which this producer never saw: from the ledger.
    browser.click("#tenants tr[data-key='tenant-a2/product-b'] a.trace").await;
    browser.wait_for_url(|u| u.ends_with(&format!("/orders/{provisioned}"))).await;
    assert_eq!(browser.find_all("#events li").await, 3, "published, provisioning, provisioned");
    assert_eq!(browser.text("#status").await, "provisioned");

    browser.quit().await;
    app.stop().await;
}
