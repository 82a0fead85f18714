def test_a_missing_page_renders_our_own_page_in_chromium(live_server, page, screenshot):
    response = page.goto(live_server + "/no-such-page")
    assert response.status == 404
    assert page.locator("html").get_attribute("lang") == "en"
    assert "There is nothing at this address." in page.inner_text("h1")
    assert screenshot("not-found").exists()
