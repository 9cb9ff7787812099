/*
 * The force's online-safety chat widget. Embed with one tag:
 *   <script src="https://ASSISTANT/webchat/widget.js" defer></script>
 * Optional attributes on that tag (docs/webchat.md):
 *   data-exit-url     where quick exit goes (default BBC Weather)
 *   data-title        the chat's heading (default "Online safety assistant")
 *   data-open-button  a CSS selector for the page's own button that opens the chat; the floating
 *                     launcher is then not shown
 * It may be served from another origin than the page (the assistant's own address): its requests
 * go to that address, without cookies or credentials, and the assistant allows only the force's
 * listed origins (WEBCHAT_ALLOWED_ORIGINS). Nothing is shown until its styles have loaded, and it
 * floats over the page, so the page never moves. No third-party requests, no inline scripts or
 * styles; message text is always inserted as text, never as HTML. The conversation is kept in
 * sessionStorage, so it survives a reload of the page but not the end of the browser session, and
 * quick exit wipes it at once.
 */
(function () {
  "use strict";
  if (window.__onlineSafetyChat) return;
  window.__onlineSafetyChat = true;

  var script = document.currentScript;
  var base = new URL(script.src, window.location.href);
  var api = new URL("/webchat/message", base).href;
  var exitUrl = script.getAttribute("data-exit-url") || "https://www.bbc.co.uk/weather";
  var TEXT = __TEXT__;  /* filled in by the server from data/content (one source of truth) */
  var titleText = script.getAttribute("data-title") || TEXT.title;
  var openButtonSelector = script.getAttribute("data-open-button");
  var STORE = "online-safety-chat";

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || null; } catch (e) { return null; }
  }
  function save() {
    try { sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function newSender() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  var state = load() || { sender: newSender(), transcript: [], open: false };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Text with http(s) links made clickable; everything else stays plain text. Punctuation that
     ends a sentence ("...report-it.") or closes a bracket is text, never part of the link. */
  var LINK = /https?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]}]/g;
  function renderText(container, text) {
    text = String(text);
    var last = 0;
    text.replace(LINK, function (url, at) {
      if (at > last) container.appendChild(document.createTextNode(text.slice(last, at)));
      var link = el("a", "osc-link", url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      container.appendChild(link);
      last = at + url.length;
      return url;
    });
    if (last < text.length) container.appendChild(document.createTextNode(text.slice(last)));
  }

  /* ---- the page elements ---- */
  var root = el("div", "osc-root");
  root.hidden = true;  /* until widget.css has loaded: nothing unstyled, nothing that moves the page */
  var launcher = el("button", "osc-launcher", TEXT.launcher);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "osc-panel");

  var panel = el("section", "osc-panel");
  panel.id = "osc-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "osc-title");
  panel.hidden = true;

  var header = el("div", "osc-header");
  var title = el("h2", "osc-title", titleText);
  title.id = "osc-title";
  var exitButton = el("button", "osc-exit", TEXT.exit);
  exitButton.type = "button";
  var closeButton = el("button", "osc-close", "Close");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Close the chat");
  header.appendChild(title);
  header.appendChild(exitButton);
  header.appendChild(closeButton);

  var privacy = el("p", "osc-privacy", TEXT.privacy);
  var exitHint = el("p", "osc-exit-hint", TEXT.exitHint);
  var log = el("div", "osc-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;
  var typing = el("p", "osc-typing", TEXT.typing);
  typing.setAttribute("role", "status");
  typing.hidden = true;

  var form = el("form", "osc-form");
  var label = el("label", "osc-label", TEXT.inputLabel);
  label.htmlFor = "osc-input";
  var input = el("input", "osc-input");
  input.id = "osc-input";
  input.type = "text";
  input.autocomplete = "off";
  input.maxLength = 1000;
  var send = el("button", "osc-send", "Send");
  send.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);

  panel.appendChild(header);
  panel.appendChild(privacy);
  panel.appendChild(exitHint);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  /* ---- the conversation ---- */
  function addMessage(entry, announce) {
    var item = el("div", "osc-message osc-" + entry.from);
    var who = el("span", "osc-who", entry.from === "user" ? "You said: " : "Assistant: ");
    item.appendChild(who);
    var body = el("span", "osc-body");
    renderText(body, entry.text || "");
    item.appendChild(body);
    if (entry.buttons && entry.buttons.length) {
      var choices = el("div", "osc-choices");
      entry.buttons.forEach(function (button) {
        var choice = el("button", "osc-choice", button.title);
        choice.type = "button";
        choice.addEventListener("click", function () { ask(button.payload, button.title); });
        choices.appendChild(choice);
      });
      item.appendChild(choices);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    if (announce !== false) { state.transcript.push(entry); save(); }
  }

  function ask(message, shown) {
    addMessage({ from: "user", text: shown || message });
    typing.hidden = false;
    fetch(api, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "omit",
      body: JSON.stringify({ sender: state.sender, message: message })
    }).then(function (response) {
      // A 429 or 503 still carries kind replies (with the emergency number): show them.
      return response.json().catch(function () { return null; }).then(function (replies) {
        if (!Array.isArray(replies) || !replies.length) throw new Error("HTTP " + response.status);
        return replies;
      });
    }).then(function (replies) {
      typing.hidden = true;
      replies.forEach(function (reply) {
        addMessage({ from: "bot", text: reply.text || "", buttons: reply.buttons || [] });
      });
    }).catch(function () {
      typing.hidden = true;
      addMessage({ from: "error", text: TEXT.unavailable });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    ask(text);
  });

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (pageButton) pageButton.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    if (!state.transcript.length) ask("/greet", "Hello");
    input.focus();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    if (pageButton) pageButton.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    (pageButton || launcher).focus();
  }
  var pageButton = null;  /* the force's own "open the chat" button, if the page has one */
  function toggle() { if (panel.hidden) open(); else close(); }
  launcher.addEventListener("click", toggle);
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });

  /* ---- quick exit: the button, or Shift pressed three times (as GOV.UK's "Exit this page") ---- */
  function quickExit() {
    try { sessionStorage.removeItem(STORE); } catch (e) { /* nothing kept */ }
    root.remove();
    document.title = "";
    window.location.replace(exitUrl);
  }
  exitButton.addEventListener("click", quickExit);
  var shiftPresses = [];
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift") { shiftPresses = []; return; }
    var now = Date.now();
    shiftPresses = shiftPresses.filter(function (t) { return now - t < 1500; });
    shiftPresses.push(now);
    if (shiftPresses.length >= 3) quickExit();
  });

  function start() {
    if (openButtonSelector) {
      try { pageButton = document.querySelector(openButtonSelector); } catch (e) { pageButton = null; }
    }
    if (pageButton) {
      launcher.hidden = true;
      pageButton.setAttribute("aria-controls", "osc-panel");
      pageButton.setAttribute("aria-expanded", "false");
      pageButton.addEventListener("click", function (event) { event.preventDefault(); toggle(); });
    }
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = new URL("/webchat/widget.css", base).href;
    function show() { root.hidden = false; }
    style.addEventListener("load", show);
    style.addEventListener("error", show);  /* styles blocked: plain, but a parent can still ask */
    document.head.appendChild(style);
    document.body.appendChild(root);
    state.transcript.forEach(function (entry) { addMessage(entry, false); });
    if (state.open) {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      if (pageButton) pageButton.setAttribute("aria-expanded", "true");
    }
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
