"""The web chat in a real browser: Debian's Chromium, headless, driven by Playwright."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from bot import content
from tests.conftest import PROJECT_DIR

CHROMIUM = "/usr/bin/chromium"
AXE = PROJECT_DIR / ".build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_DIR / "reports" / "screenshots"
EXIT_URL = "https://www.bbc.co.uk/weather"
CONTACTS = content.load_contacts()
ANSWERS = content.load_answers()
expect.set_options(timeout=30_000)  # the servers are busy with other tests too
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def watched_page(browser, url: str) -> Iterator[Page]:
    """`url` in a fresh context, with every URL it asks for in page.requests and quick exit's
    neutral site answered locally; the page's address in page.demo."""
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.requests = []  # every URL the page asks for
    page.on("request", lambda request: page.requests.append(request.url))
    page.route("https://www.bbc.co.uk/**", lambda route: route.fulfill(body="<title>Weather</title>",
                                                                        content_type="text/html"))
    page.demo = url
    page.goto(page.demo)
    yield page
    context.close()


@pytest.fixture
def page(browser, servers):
    yield from watched_page(browser, servers["rasa"].url + "/webchat/")


def open_chat(page: Page) -> None:
    page.get_by_role("button", name="Online safety help").click()
    expect(page.locator(".osc-bot").first).to_contain_text("automated assistant")


def ask(page: Page, text: str) -> None:
    count = page.locator(".osc-bot").count()
    page.get_by_label("Type your question").fill(text)
    page.get_by_label("Type your question").press("Enter")
    expect(page.locator(".osc-bot")).not_to_have_count(count)


def test_ask_a_question_and_read_the_answer(page):
    open_chat(page)
    ask(page, "is roblox safe for my 8 year old")
    expect(page.locator(".osc-bot").filter(has_text="Roblox: ")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "demo-page-with-answer.png"))


def test_click_a_button(page):
    open_chat(page)
    page.get_by_role("button", name="Checking friends").click()
    first = ANSWERS["check_friends"].messages[0][:40]
    expect(page.locator(".osc-bot").filter(has_text=first)).to_have_count(1)


def test_html_in_a_message_is_shown_as_text_and_runs_nothing(page):
    open_chat(page)
    hostile = '<img src=x onerror="window.pwned=1"><b>bold</b><script>window.pwned=2</script>'
    ask(page, hostile)
    expect(page.locator(".osc-user .osc-body").last).to_have_text(hostile)
    assert page.locator(".osc-log img, .osc-log b, .osc-log script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_links_open_safely_and_only_http(page):
    open_chat(page)
    ask(page, "how do i report someone to ceop")
    links = page.locator(".osc-log a")
    expect(links.first).to_be_visible()
    for i in range(links.count()):
        link = links.nth(i)
        assert link.get_attribute("href").startswith(("https://", "http://"))
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert link.get_attribute("target") == "_blank"


def test_a_reload_keeps_the_conversation(page):
    open_chat(page)
    ask(page, "how much screen time for a 10 year old")
    before = page.locator(".osc-message").all_text_contents()
    page.reload()
    expect(page.locator(".osc-message")).to_have_count(len(before))
    assert page.locator(".osc-message").all_text_contents() == before
    expect(page.get_by_label("Type your question")).to_be_visible()


def assert_exited(page: Page) -> None:
    page.wait_for_url(EXIT_URL + "*")
    page.goto(page.demo)  # back on the site: the chat is gone from the session
    expect(page.get_by_role("button", name="Online safety help")).to_be_visible()
    assert page.locator(".osc-message").count() == 0
    assert page.evaluate("sessionStorage.length") == 0


def test_quick_exit_by_button(page):
    open_chat(page)
    ask(page, "my daughter is being bullied")
    page.get_by_role("button", name="Exit this page").click()
    assert_exited(page)


def test_quick_exit_by_pressing_shift_three_times(page):
    open_chat(page)
    for _ in range(3):
        page.keyboard.press("Shift")
    assert_exited(page)


def test_keyboard_only(page):
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "osc-launcher":
            break
    assert page.evaluate("document.activeElement.className") == "osc-launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_label("Type your question")).to_be_focused()
    expect(page.locator(".osc-bot").first).to_contain_text("automated assistant")
    page.keyboard.type("what age is tiktok for")
    page.keyboard.press("Enter")
    expect(page.locator(".osc-bot").filter(has_text="TikTok: ")).to_have_count(1)
    page.locator(".osc-choice").last.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".osc-user")).to_have_count(3)
    page.keyboard.press("Escape")
    expect(page.locator(".osc-panel")).to_be_hidden()
    assert page.evaluate("document.activeElement.className") == "osc-launcher"


def serious_violations(browser, url: str, report: str) -> list:
    """axe-core's serious and critical findings on `url` with the chat open and answering; all
    its findings are saved to reports/screenshots/`report`."""
    context = browser.new_context(bypass_csp=True)  # to inject axe-core into the page
    page = context.new_page()
    page.goto(url)
    open_chat(page)
    ask(page, "is snapchat ok for my 11 year old")
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / report).write_text(json.dumps(results["violations"], indent=1))
    context.close()
    return [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]])
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def test_no_serious_accessibility_violations(browser, servers):
    assert serious_violations(browser, servers["rasa"].url + "/webchat/", "axe-violations.json") == []


def test_usable_at_320px_and_targets_at_least_24px(browser, servers):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(servers["rasa"].url + "/webchat/")
    open_chat(page)
    ask(page, "how do i set up parental controls")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 320
    box = page.locator(".osc-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320
    for target in page.locator(".osc-root button, .osc-root input").all():
        if target.is_visible():
            size = target.bounding_box()
            assert size["width"] >= 24 and size["height"] >= 24
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "demo-page-320px.png"), full_page=True)
    context.close()


def test_usable_at_200_percent_zoom(browser, servers):
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    page.goto(servers["rasa"].url + "/webchat/")
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    open_chat(page)
    expect(page.get_by_label("Type your question")).to_be_visible()
    expect(page.get_by_role("button", name="Exit this page")).to_be_visible()
    context.close()


def test_no_cookies_no_third_party_requests_and_a_strict_csp(page):
    response = page.goto(page.demo)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    open_chat(page)
    ask(page, "hello")
    assert page.context.cookies() == []
    origin = page.demo.split("/webchat/")[0]
    assert [url for url in page.requests if not url.startswith(origin)] == []


def test_an_error_says_the_assistant_is_unavailable_and_gives_999(page):
    open_chat(page)
    page.route("**/webchat/message", lambda route: route.abort())
    page.get_by_label("Type your question").fill("is fortnite ok")
    page.get_by_label("Type your question").press("Enter")
    expect(page.locator(".osc-error").last).to_contain_text(f"call {CONTACTS['emergency']}")


def test_a_503_or_429_with_replies_shows_those_replies(page):
    open_chat(page)
    busy = "Sorry, I can't answer that right now. If a child is in danger, call 999."
    page.route("**/webchat/message", lambda route: route.fulfill(
        status=503, content_type="application/json", body=json.dumps([{"text": busy}])))
    page.get_by_label("Type your question").fill("is fortnite ok")
    page.get_by_label("Type your question").press("Enter")
    expect(page.locator(".osc-bot").last).to_contain_text(busy)


# ---- On the force's own site: another origin, with only the script tag ----

@pytest.fixture
def host_page(browser, servers, host_sites):
    """A page on an origin the assistant allows, carrying only the widget's tag."""
    yield from watched_page(browser, host_sites["allowed"].origin + "/")


def test_on_an_allowed_second_origin_the_widget_answers_and_runs_no_third_party(
        host_page, servers, host_sites):
    assistant, site = servers["rasa"].url, host_sites["allowed"].origin
    assert assistant.split(":")[-1] != site.split(":")[-1]  # really another origin
    open_chat(host_page)
    ask(host_page, "is roblox safe for my 8 year old")
    expect(host_page.locator(".osc-bot").filter(has_text="Roblox: ")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    host_page.screenshot(path=str(SCREENSHOTS / "second-origin-with-answer.png"))
    host_page.get_by_role("button", name="Checking friends").last.click()
    first = ANSWERS["check_friends"].messages[0][:40]
    expect(host_page.locator(".osc-bot").filter(has_text=first)).to_have_count(1)
    assert host_page.context.cookies() == []
    assert [url for url in host_page.requests if not url.startswith((assistant, site))] == []
    host_page.get_by_role("button", name="Exit this page").click()
    assert_exited(host_page)


def test_the_host_page_does_not_move_when_the_widget_loads(host_page):
    expect(host_page.get_by_role("button", name="Online safety help")).to_be_visible()
    shift = host_page.evaluate("""() => new Promise(resolve => {
        let total = 0;
        new PerformanceObserver(list => list.getEntries().forEach(e => { total += e.value; }))
            .observe({type: "layout-shift", buffered: true});
        setTimeout(() => resolve(total), 500);
    })""")
    assert shift == 0


def test_no_serious_accessibility_violations_on_the_host_page(browser, servers, host_sites):
    assert serious_violations(browser, host_sites["allowed"].origin + "/",
                              "axe-violations-second-origin.json") == []


def test_the_forces_own_button_and_title(browser, servers, host_sites):
    context = browser.new_context()
    page = context.new_page()
    page.goto(host_sites["allowed"].origin + "/with-button")
    own = page.get_by_role("button", name="Ask our online safety assistant")
    expect(own).to_have_attribute("aria-controls", "osc-panel")
    assert page.locator(".osc-launcher").is_hidden()
    own.click()
    expect(page.get_by_role("heading", name="Ask Cumbria Police")).to_be_visible()
    expect(page.locator(".osc-bot").first).to_contain_text("automated assistant")
    expect(own).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(page.locator(".osc-panel")).to_be_hidden()
    expect(own).to_be_focused()
    context.close()


def test_an_unlisted_origin_is_refused_and_the_widget_gives_999(browser, servers, host_sites):
    context = browser.new_context()
    page = context.new_page()
    page.goto(host_sites["unlisted"].origin + "/")
    page.get_by_role("button", name="Online safety help").click()
    expect(page.locator(".osc-error").last).to_contain_text(f"call {CONTACTS['emergency']}")
    assert page.locator(".osc-bot").count() == 0
    context.close()


def preflight(url: str, origin: str) -> tuple:
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_the_preflight_allows_only_the_listed_origin(servers, host_sites):
    url = servers["rasa"].url + "/webchat/message"
    status, headers = preflight(url, host_sites["allowed"].origin)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == host_sites["allowed"].origin
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert "Access-Control-Allow-Credentials" not in headers
    for origin in (host_sites["unlisted"].origin, "null", "https://evil.example"):
        status, headers = preflight(url, origin)
        assert status == 403 and "Access-Control-Allow-Origin" not in headers
    # The rest of the HTTP API is not opened to the listed origin.
    status, headers = preflight(servers["rasa"].url + "/model/parse", host_sites["allowed"].origin)
    assert "Access-Control-Allow-Origin" not in headers


def test_a_post_from_an_unlisted_origin_does_no_work(servers, host_sites):
    request = urllib.request.Request(
        servers["rasa"].url + "/webchat/message", method="POST",
        data=json.dumps({"sender": "web-unlisted", "message": "hello"}).encode(),
        headers={"Content-Type": "text/plain", "Origin": host_sites["unlisted"].origin})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    assert "Access-Control-Allow-Origin" not in refused.value.headers
    assert f"call {CONTACTS['emergency']}" in refused.value.read().decode()


def test_the_widget_script_loads_from_anywhere(servers):
    with urllib.request.urlopen(servers["rasa"].url + "/webchat/widget.js", timeout=30) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("application/javascript")


def test_punctuation_after_a_link_is_not_part_of_it(page):
    open_chat(page)
    report = "https://www.cumbria.police.uk/report-it"
    page.route("**/webchat/message", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps([{"text": f"Report it at {report}. Or see {report}, or ({report})."}])))
    ask(page, "how do i report")
    links = page.locator(".osc-bot").last.locator("a")
    expect(links).to_have_count(3)
    assert {links.nth(i).get_attribute("href") for i in range(3)} == {report}
    expect(page.locator(".osc-bot").last).to_contain_text(f"{report}. Or see {report}, or ({report}).")
