// Web client of the console: the router and the sign-in screen. Everything else loads once a
// session exists, from the API.
const BUILD = "__BUILD__";
const config = JSON.parse(document.getElementById("app-config")?.textContent || "{}");
const api = config.api || {};
const root = document.getElementById("root");

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else if (value !== false && value != null) el.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child != null) el.append(child);
  return el;
}

function logo() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 32 32");
  svg.setAttribute("class", "logo");
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML =
    '<rect width="32" height="32" rx="7" fill="currentColor"/>' +
    '<path d="M9 20.5 14 11l4 6.5 2.5-3.5L24 20.5" fill="none" stroke="#fff" stroke-width="2.4" ' +
    'stroke-linecap="round" stroke-linejoin="round"/>';
  return svg;
}

function navigate(path, replace) {
  history[replace ? "replaceState" : "pushState"]({}, "", path);
  render();
}

function link(href, text, cls) {
  return h("a", {
    href,
    class: cls,
    onclick: (ev) => {
      ev.preventDefault();
      navigate(href);
    },
  }, text);
}

function shell(...content) {
  const product = config.product || "Console";
  return h("div", { class: "auth" },
    h("main", { class: "auth-card" },
      h("div", { class: "brand" }, logo(), h("span", {}, product)),
      ...content),
    h("footer", { class: "auth-foot" },
      `${product} v${config.version || "0.0.0"} \u00b7 build ${BUILD}` +
        (config.host ? ` \u00b7 ${config.host}` : "")));
}

function retryText(seconds) {
  if (!seconds) return "";
  const minutes = Math.ceil(seconds / 60);
  return seconds < 90 ? ` Try again in ${seconds} seconds.` : ` Try again in ${minutes} minutes.`;
}

function loginView(params) {
  const alert = h("div", { class: "alert", role: "alert", hidden: true });
  const user = h("input", {
    id: "login-username", type: "text", autocomplete: "username", autocapitalize: "none",
    spellcheck: "false", required: true, autofocus: true,
  });
  const password = h("input", {
    id: "login-password", type: "password", autocomplete: "current-password", required: true,
  });
  const remember = h("input", { id: "login-remember", type: "checkbox" });
  const button = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");

  function fail(text) {
    alert.textContent = text;
    alert.hidden = false;
  }

  async function submit(ev) {
    ev.preventDefault();
    if (!user.value || !password.value) {
      fail("Enter your username and password.");
      return;
    }
    alert.hidden = true;
    button.disabled = true;
    button.classList.add("is-loading");
    button.textContent = "Signing in\u2026";
    try {
      const resp = await fetch(api.login, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          username: user.value, password: password.value, remember: remember.checked,
        }),
      });
      let data = {};
      try {
        data = await resp.json();
      } catch (_) {
        data = {};
      }
      if (resp.ok) {
        location.assign(params.get("redirect") || "/overview");
        return;
      }
      let text = data.message || `Sign in failed (HTTP ${resp.status}).`;
      if (resp.status === 429) text += retryText(parseInt(resp.headers.get("Retry-After"), 10));
      fail(text);
      password.value = "";
      password.focus();
    } catch (_) {
      fail("Unable to reach the server. Check your connection and try again.");
    } finally {
      button.disabled = false;
      button.classList.remove("is-loading");
      button.textContent = "Sign in";
    }
  }

  return shell(
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, `to continue to ${config.product || "the console"}`),
    alert,
    h("form", { class: "form", novalidate: true, onsubmit: submit },
      h("div", { class: "field" }, h("label", { for: "login-username" }, "Email or username"), user),
      h("div", { class: "field" },
        h("div", { class: "field-row" },
          h("label", { for: "login-password" }, "Password"),
          link("/login/forgot", "Forgot password?", "link")),
        password),
      h("label", { class: "check" }, remember, h("span", {}, "Keep me signed in")),
      button),
    h("p", { class: "hint" }, "Access is restricted to authorised personnel. Activity is audited."));
}

function forgotView() {
  return shell(
    h("h1", {}, "Reset password"),
    h("p", { class: "muted" },
      "Passwords are managed by your directory. Ask your administrator or the service desk " +
      "to reset yours."),
    link("/login", "\u2190 Back to sign in", "link"));
}

function render() {
  const { pathname, search } = location;
  let view;
  if (pathname === "/login/forgot") view = forgotView();
  else if (pathname === "/login" || pathname === "/login/") view = loginView(new URLSearchParams(search));
  else {
    // Every other route needs a session; none survives a reload without one.
    const back = pathname === "/" ? "" : `?redirect=${encodeURIComponent(pathname + search)}`;
    history.replaceState({}, "", `/login${back}`);
    view = loginView(new URLSearchParams(back));
  }
  root.replaceChildren(view);
  document.title = config.title || document.title;
  root.querySelector("[autofocus]")?.focus();
}

window.addEventListener("popstate", render);
render();
