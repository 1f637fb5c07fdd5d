// The portal page: who is signed in (by a one-time email link; development sign-in when the
// server allows it) and the chat widget, which carries the signed-in member's identity token.
// Every state-changing call sends the CSRF token the session answer gave this browser.
import { ChatWidget } from "./chat.js";
import { element } from "./dom.js";

const VISITOR_KEY = "portal-chat-visitor";
let csrfToken = "";

async function api(path, { method = "GET", body } = {}) {
  const headers = body ? { "Content-Type": "application/json" } : {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(`/portal/api/${path}`, {
    method,
    credentials: "same-origin",
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (payload.error && payload.error.message) || `Request failed (${response.status}).`;
    throw new Error(message);
  }
  return payload;
}

function describe(session) {
  const { user, person } = session;
  if (user) return `${user.name} (${user.role}, ${user.organisation_name})`;
  return `${person.name} (${person.kind})`;
}

function emailSignInForm() {
  const input = element("input", { id: "sign-in-email", type: "email", name: "email",
    autocomplete: "email", required: "" });
  const answer = element("p", { id: "sign-in-answer", role: "status" });
  const button = element("button", { type: "submit", text: "Email me a sign-in link" });
  const form = element("form", { id: "email-sign-in" },
    element("p", { text: "Sign in with your work email address: we send you a link that " +
      "signs you in, once, in this browser." }),
    element("label", { for: "sign-in-email", text: "Email address" }),
    input, button, answer);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const reply = await api("sign-in/email", { method: "POST", body: { email: input.value } });
      answer.textContent = reply.message;
    } catch (problem) {
      answer.textContent = problem.message;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function signOutButton() {
  const button = element("button", { type: "button", id: "sign-out", text: "Sign out" });
  button.addEventListener("click", async () => {
    await api("logout", { method: "POST" });
    sessionStorage.removeItem(VISITOR_KEY);
    window.location.reload();
  });
  return button;
}

// Single sign-on: the browser itself goes to the organisation's provider (a navigation, not a
// form submission, which the page's Content-Security-Policy `form-action 'self'` would stop at
// the redirect to the provider).
function ssoSignInForm() {
  const input = element("input", { id: "sso-email", type: "email", name: "email",
    autocomplete: "email", required: "" });
  const form = element("form", { id: "sso-sign-in" },
    element("label", { for: "sso-email", text: "Work address for single sign-on" }),
    input,
    element("button", { type: "submit", text: "Sign in with your organisation" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.assign(`/portal/sign-in/sso?${new URLSearchParams({ email: input.value.trim() })}`);
  });
  return form;
}

function devSignInForm(choices) {
  const select = element("select", { id: "dev-person", name: "member_id" });
  const groups = new Map();
  for (const person of choices) {
    if (!groups.has(person.organisation_id)) {
      const group = element("optgroup", { label: person.organisation_name });
      groups.set(person.organisation_id, group);
      select.append(group);
    }
    groups.get(person.organisation_id).append(element("option", { value: String(person.member_id),
      text: `${person.name} – ${person.role}${person.email ? `, ${person.email}` : ""}` }));
  }
  const error = element("p", { className: "form-error", role: "alert" });
  const form = element("form", { id: "dev-sign-in", "aria-describedby": "dev-warning" },
    element("p", { id: "dev-warning", className: "dev-warning" },
      element("strong", { text: "Development sign-in. " }),
      "For development and demos only: anyone can sign in as anyone. Production servers " +
      "refuse to start with it."),
    element("label", { for: "dev-person", text: "Sign in as" }),
    select,
    element("button", { type: "submit", text: "Sign in" }),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("dev-login", { method: "POST", body: { member_id: Number(select.value) } });
      sessionStorage.removeItem(VISITOR_KEY);
      window.location.reload();
    } catch (problem) {
      error.textContent = problem.message;
    }
  });
  return form;
}

// "Disconnect" beside a connected workspace/tenant, for admins: asks first (the browser's
// confirmation), then POSTs the one shown, so that a page left open never disconnects another.
function disconnectButton({ id, shown, label, question, path, body, status }) {
  const button = element("button", { type: "button", id, text: label });
  button.addEventListener("click", async () => {
    if (!window.confirm(question)) return;
    button.disabled = true;
    try {
      const reply = await api(path, { method: "POST", body });
      const outcome = reply.was_connected ? "disconnected" : "none";
      window.location.assign(`/portal?${new URLSearchParams({ [shown]: outcome })}`);
    } catch (problem) {
      status.textContent = problem.message;
      button.disabled = false;
    }
  });
  return button;
}

// "Add to Slack" for admins: the backend gives Slack's consent page with a state bound to this
// admin; the browser goes there (a navigation, like single sign-on) and Slack sends it back.
async function slackSection() {
  const section = element("section", { id: "slack", "aria-labelledby": "slack-title" },
    element("h2", { id: "slack-title", text: "Slack" }));
  const status = element("p", { id: "slack-status", role: "status" });
  section.append(status);
  const slackShown = new URLSearchParams(window.location.search).get("slack");
  if (slackShown === "connected") {
    status.textContent = "Slack is connected: the assistant has sent you a direct message there.";
  } else if (slackShown === "disconnected") {
    status.textContent = "Slack is disconnected: the assistant stops answering in that " +
      "workspace within a minute or so. Remove the app in Slack too (Slack's app settings).";
  } else if (slackShown === "none") {
    status.textContent = "No Slack workspace was connected: nothing changed.";
  }
  try {
    const connection = await api("slack");
    if (connection.connected) {
      section.append(element("p", { id: "slack-workspace",
        text: `Connected to the Slack workspace ${connection.team_name || connection.team_id}. ` +
          "Your people can send the assistant a direct message there." }),
        disconnectButton({ id: "disconnect-slack", shown: "slack", label: "Disconnect Slack", status,
          question: `Disconnect the Slack workspace ${connection.team_name || connection.team_id}? ` +
            "The assistant stops answering there and your people's Slack accounts are unlinked; " +
            "you can add it again later.",
          path: "slack/disconnect", body: { team_id: connection.team_id } }));
      return section;
    }
  } catch (problem) {
    status.textContent = problem.message;
    return section;
  }
  const button = element("button", { type: "button", id: "add-to-slack", text: "Add to Slack" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { authorize_url: target } = await api("slack/install", { method: "POST" });
      window.location.assign(target);
    } catch (problem) {
      status.textContent = problem.message;
      button.disabled = false;
    }
  });
  section.append(element("p", { text: "Connect your organisation's Slack workspace, so that " +
    "your people can talk to the assistant there." }), button);
  return section;
}

// "Connect Microsoft Teams" for admins, when the service has a Teams app: the backend gives
// Microsoft's admin-consent page with a state bound to this admin; Microsoft sends the browser
// back with the tenant the admin consented for.
async function teamsSection() {
  let connection;
  try {
    connection = await api("teams");
  } catch {
    return null; // not an admin's page any more, or the service is down: no section
  }
  if (!connection.offered) return null;
  const section = element("section", { id: "teams", "aria-labelledby": "teams-title" },
    element("h2", { id: "teams-title", text: "Microsoft Teams" }));
  const status = element("p", { id: "teams-status", role: "status" });
  section.append(status);
  const teamsShown = new URLSearchParams(window.location.search).get("teams");
  if (teamsShown === "connected") {
    status.textContent = "Microsoft Teams is connected: your people can now message the assistant there.";
  } else if (teamsShown === "disconnected") {
    status.textContent = "Microsoft Teams is disconnected: the assistant stops answering your " +
      "people there within a minute or so. Remove the app in Teams too if you no longer use it.";
  } else if (teamsShown === "none") {
    status.textContent = "No Microsoft Teams tenant was connected: nothing changed.";
  }
  if (connection.connected) {
    section.append(element("p", { id: "teams-tenant",
      text: `Connected to your organisation's Microsoft Teams (tenant ${connection.tenant_id}). ` +
        "Your people can send the assistant a personal message there." }),
      disconnectButton({ id: "disconnect-teams", shown: "teams", label: "Disconnect", status,
        question: `Disconnect Microsoft Teams (tenant ${connection.tenant_id})? The assistant ` +
          "stops answering your people there and their Teams accounts are unlinked; you can " +
          "connect it again later.",
        path: "teams/disconnect", body: { tenant_id: connection.tenant_id } }));
    return section;
  }
  const button = element("button", { type: "button", id: "connect-teams",
    text: "Connect Microsoft Teams" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { consent_url: target } = await api("teams/consent", { method: "POST" });
      window.location.assign(target);
    } catch (problem) {
      status.textContent = problem.message;
      button.disabled = false;
    }
  });
  section.append(element("p", { text: "Connect your organisation's Microsoft Teams, so that " +
    "your people can talk to the assistant there. An administrator of your Microsoft " +
    "organisation accepts the app's permissions on Microsoft's page." }), button);
  return section;
}

function renderAccount(session) {
  const body = document.getElementById("account-body");
  const summary = document.getElementById("account-summary");
  const title = document.getElementById("account-title");
  if (session.signed_in) {
    title.textContent = "Your account";
    if (session.user) {
      document.getElementById("organisation-name").textContent = `· ${session.user.organisation_name}`;
    }
    body.replaceChildren(element("p", { id: "signed-in-as", text: `Signed in as ${describe(session)}.` }));
    summary.replaceChildren(element("span", { text: session.person.name }), " ", signOutButton());
    if (session.user && session.user.role === "admin") {
      slackSection().then((slack) => {
        document.getElementById("account").after(slack);
        return teamsSection().then((teams) => { if (teams) slack.after(teams); });
      });
    }
  } else {
    body.replaceChildren(emailSignInForm(), ssoSignInForm());
    if (session.dev_login) body.append(devSignInForm(session.sign_in_choices || []));
  }
}

async function start() {
  let session;
  try {
    session = await api("session");
  } catch (problem) {
    document.getElementById("account-body").textContent = `The portal is unavailable: ${problem.message}`;
    return;
  }
  csrfToken = session.csrf_token;
  renderAccount(session);
  new ChatWidget({
    root: document.getElementById("chat-root"),
    socketUrl: session.chat.socket_url,
    socketPath: session.chat.socket_path,
    title: "Therapy sessions assistant",
    getAuth: async () => {
      if (session.user) {
        const { token } = await api("chat-token", { method: "POST" });
        return { token };
      }
      const visitor = sessionStorage.getItem(VISITOR_KEY);
      return visitor ? { visitor } : {};
    },
    onVisitorToken: (token) => sessionStorage.setItem(VISITOR_KEY, token),
    describeSpeaker: (anonymous) => (anonymous
      ? "Connected. You are not signed in: you can ask questions, but sign in to redeem an invite or book."
      : `Connected as ${session.user.name}.`),
    onSessionEnded: () => "You signed out (here or in another tab). Reload the page to chat again.",
  });
}

start();
