// The portal page: who is signed in (development sign-in only; real SSO is out of scope) and the
// chat widget, which carries the signed-in member's identity token from the backend.
import { ChatWidget } from "./chat.js";
import { element } from "./dom.js";

const VISITOR_KEY = "portal-chat-visitor";

async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(`/portal/api/${path}`, {
    method,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (payload.error && payload.error.message) || `Request failed (${response.status}).`;
    throw new Error(message);
  }
  return payload;
}

function describe(user) {
  return `${user.name} (${user.role}, ${user.organisation_name})`;
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
      "For development and demos only: anyone can sign in as anyone. Real sign-in (single " +
      "sign-on) is not part of this project."),
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

function renderAccount(session) {
  const body = document.getElementById("account-body");
  const summary = document.getElementById("account-summary");
  const title = document.getElementById("account-title");
  if (session.signed_in) {
    title.textContent = "Your account";
    document.getElementById("organisation-name").textContent = `· ${session.user.organisation_name}`;
    body.replaceChildren(element("p", { id: "signed-in-as", text: `Signed in as ${describe(session.user)}.` }));
    summary.replaceChildren(element("span", { text: session.user.name }), " ", signOutButton());
  } else if (session.dev_login) {
    body.replaceChildren(devSignInForm(session.sign_in_choices || []));
  } else {
    body.replaceChildren(element("p", { text: "Signing in is not available on this server. You " +
      "can still ask the assistant questions; to book or redeem an invite, use the chat in " +
      "Slack or Microsoft Teams." }));
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
  renderAccount(session);
  new ChatWidget({
    root: document.getElementById("chat-root"),
    socketUrl: session.chat.socket_url,
    socketPath: session.chat.socket_path,
    title: "Therapy sessions assistant",
    getAuth: async () => {
      if (session.signed_in) {
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
  });
}

start();
