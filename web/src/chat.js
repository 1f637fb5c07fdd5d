// The live-chat widget: a small, accessible socket.io client of the Rasa channel
// channels/webchat.py. Protocol (all events on the default namespace):
//   client -> server  connect with auth {token} (signed-in member) or {visitor} (anonymous resume)
//                     "session_request" {}            -> "session_confirm" {anonymous, visitor_token, history}
//                     "user_uttered" {message, id}    -> "user_echo" {id, text} (redacted), then replies
//   server -> client  "bot_uttered" {text, quick_replies?, buttons?, attachment?}
//                     "session_ended" {}  the portal session ended (sign-out): the socket closes
// Messages are written with textContent (never as HTML); links become <a> for http(s) only.
import { io } from "socket.io-client";
import { element } from "./dom.js";

const MAX_MESSAGE = 2000;
const TYPING_TIMEOUT_MS = 20000;
const OPEN_KEY = "portal-chat-open";
const URL_PATTERN = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)])/g;

// Text with its web links as anchors; everything else stays plain text.
function richText(text) {
  const fragment = document.createDocumentFragment();
  let cursor = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    fragment.append(text.slice(cursor, match.index));
    fragment.append(element("a", { href: match[0], target: "_blank", rel: "noopener noreferrer",
      text: match[0] }));
    cursor = match.index + match[0].length;
  }
  fragment.append(text.slice(cursor));
  return fragment;
}

function buttonsOf(message) {
  const raw = message.buttons || message.quick_replies || [];
  return Array.isArray(raw) ? raw.filter((b) => b && b.title && b.payload) : [];
}

export class ChatWidget {
  // options: {root, socketUrl, socketPath, title, getAuth: async () => ({token} | {visitor}),
  //           onVisitorToken: (token) => void, describeSpeaker: (anonymous) => string}
  constructor(options) {
    this.options = options;
    this.counter = 0;
    this.pending = new Map(); // id -> {bubble, typed}: awaiting the server's (redacted) echo
    this.tokenRetried = false;
    this.render();
    this.connect();
    if (sessionStorage.getItem(OPEN_KEY) === "yes") this.open({ focus: false });
  }

  render() {
    const { root, title } = this.options;
    this.launcher = element("button", { type: "button", className: "chat-launcher",
      "aria-expanded": "false", "aria-controls": "chat-panel", text: "Chat with the assistant" });
    this.heading = element("h2", { id: "chat-title", text: title });
    this.closeButton = element("button", { type: "button", className: "chat-close",
      "aria-label": "Close the chat", text: "×" });
    this.status = element("p", { className: "chat-status", role: "status", text: "Connecting…" });
    this.log = element("ol", { className: "chat-log", role: "log", "aria-live": "polite",
      "aria-label": "Conversation", tabindex: "0" });
    this.typing = element("p", { className: "chat-typing", hidden: "", text: "The assistant is typing…" });
    this.input = element("input", { id: "chat-input", type: "text", autocomplete: "off",
      maxlength: String(MAX_MESSAGE), "aria-describedby": "chat-hint" });
    this.sendButton = element("button", { type: "submit", text: "Send" });
    this.form = element("form", { className: "chat-form" },
      element("label", { for: "chat-input", text: "Your message" }),
      element("div", { className: "chat-input-row" }, this.input, this.sendButton),
      element("p", { id: "chat-hint", className: "chat-hint",
        text: "Never type card numbers here: cards are added on a secure payment page." }));
    this.panel = element("section", { id: "chat-panel", className: "chat-panel",
      "aria-labelledby": "chat-title", hidden: "" },
      element("div", { className: "chat-header" }, this.heading, this.closeButton),
      this.status, this.log, this.typing, this.form);
    root.append(this.launcher, this.panel);

    this.launcher.addEventListener("click", () =>
      (this.panel.hidden ? this.open({ focus: true }) : this.close()));
    this.closeButton.addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send(text, text, { typed: true });
    });
  }

  open({ focus }) {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    sessionStorage.setItem(OPEN_KEY, "yes");
    if (focus) this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    sessionStorage.removeItem(OPEN_KEY);
    this.launcher.focus();
  }

  connect() {
    const { socketUrl, socketPath, getAuth } = this.options;
    // WebSocket only: the Origin header is checked on the upgrade, and no CORS is involved.
    this.socket = io(socketUrl, {
      path: socketPath,
      transports: ["websocket"],
      auth: (callback) => getAuth().then(callback, () => callback({})),
    });
    this.socket.on("connect", () => {
      this.tokenRetried = false;
      this.socket.emit("session_request", {});
    });
    this.socket.on("session_confirm", (session) => this.onSession(session || {}));
    this.socket.on("bot_uttered", (message) => this.onBotMessage(message || {}));
    this.socket.on("user_echo", (echo) => this.onUserEcho(echo || {}));
    this.socket.on("session_ended", () => {
      this.sessionEnded = true;
      this.setStatus(this.options.onSessionEnded ? this.options.onSessionEnded()
        : "Your session has ended. Reload the page to chat again.");
    });
    this.socket.on("disconnect", () => {
      if (!this.sessionEnded) this.setStatus("Connection lost; reconnecting…");
    });
    this.socket.on("connect_error", (error) => this.onConnectError(error));
  }

  onConnectError(error) {
    const reason = (error && error.message) || "";
    // A refused token may simply have expired: the auth callback fetches a new one.
    if (reason === "invalid_token" && !this.tokenRetried) {
      this.tokenRetried = true;
      this.socket.connect();
      return;
    }
    if (reason === "session_ended") {
      this.setStatus("Your session has ended. Reload the page to chat again.");
    } else if (reason === "origin_not_allowed") {
      this.setStatus("This page is not allowed to open the chat.");
    } else if (this.socket.active) {
      this.setStatus("Can't reach the assistant; retrying…");
    } else {
      this.setStatus("Can't connect to the assistant. Reload the page to try again.");
    }
  }

  onSession(session) {
    if (session.anonymous && session.visitor_token && this.options.onVisitorToken) {
      this.options.onVisitorToken(session.visitor_token);
    }
    this.setStatus(this.options.describeSpeaker(Boolean(session.anonymous)));
    this.renderHistory(Array.isArray(session.history) ? session.history : []);
  }

  renderHistory(history) {
    // Past messages are not announced again: the live region is quiet while they are drawn.
    this.log.setAttribute("aria-live", "off");
    this.log.replaceChildren();
    this.pending.clear();
    for (const message of history) {
      if (message.sender === "user") this.addUserBubble(message.text);
      else this.addBotBubble(message);
    }
    const lastUser = [...this.log.querySelectorAll(".msg-user")].pop();
    this.log.querySelectorAll(".choices").forEach((group) => {
      if (lastUser && lastUser.compareDocumentPosition(group) & Node.DOCUMENT_POSITION_PRECEDING) {
        this.disableChoices(group);
      }
    });
    this.scrollToEnd();
    requestAnimationFrame(() => this.log.setAttribute("aria-live", "polite"));
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  addUserBubble(text) {
    const content = element("span", { className: "msg-text", text });
    this.log.append(element("li", { className: "msg msg-user" },
      element("span", { className: "visually-hidden", text: "You said: " }), content));
    this.scrollToEnd();
    return content;
  }

  addBotBubble(message) {
    const item = element("li", { className: "msg msg-bot" },
      element("span", { className: "visually-hidden", text: "Assistant: " }));
    const text = typeof message.text === "string" ? message.text : "";
    if (text) item.append(element("span", { className: "msg-text" }, richText(text)));
    const attachment = message.attachment && message.attachment.payload;
    if (attachment && typeof attachment.src === "string" && /^https?:/.test(attachment.src)) {
      item.append(element("img", { src: attachment.src, alt: "Image sent by the assistant" }));
    }
    const buttons = buttonsOf(message);
    if (buttons.length) item.append(this.choiceGroup(text, buttons));
    if (item.childNodes.length > 1) this.log.append(item);
    this.scrollToEnd();
  }

  choiceGroup(text, buttons) {
    const group = element("div", { className: "choices", role: "group",
      "aria-label": text ? `Choices: ${text.slice(0, 80)}` : "Choices" });
    for (const button of buttons) {
      const node = element("button", { type: "button", className: "choice", text: button.title });
      node.addEventListener("click", () => {
        this.disableChoices(group);
        node.classList.add("chosen");
        node.setAttribute("aria-pressed", "true");
        this.send(button.title, button.payload, { typed: false });
      });
      group.append(node);
    }
    return group;
  }

  disableChoices(group) {
    group.querySelectorAll("button").forEach((node) => { node.disabled = true; });
  }

  send(shown, message, { typed }) {
    if (!this.socket.connected) {
      this.setStatus("Not connected yet; your message was not sent. Try again in a moment.");
      return;
    }
    this.log.querySelectorAll(".choices").forEach((group) => this.disableChoices(group));
    const id = `m${Date.now().toString(36)}${(this.counter += 1)}`;
    this.pending.set(id, { bubble: this.addUserBubble(shown), typed });
    this.socket.emit("user_uttered", { message: message.slice(0, MAX_MESSAGE), id });
    this.showTyping(true);
    // Focus stays somewhere useful: the chosen button is now disabled.
    this.input.focus();
  }

  onUserEcho(echo) {
    const pending = this.pending.get(echo.id);
    if (pending) {
      // The server's copy: a card number typed by mistake is shown as removed, as it was stored.
      if (pending.typed && typeof echo.text === "string") pending.bubble.textContent = echo.text;
      this.pending.delete(echo.id);
    } else if (typeof echo.text === "string" && !echo.text.startsWith("/")) {
      this.addUserBubble(echo.text); // said in another tab of the same person
    }
  }

  onBotMessage(message) {
    this.showTyping(false);
    this.addBotBubble(message);
  }

  showTyping(visible) {
    clearTimeout(this.typingTimer);
    this.typing.hidden = !visible;
    if (visible) this.typingTimer = setTimeout(() => { this.typing.hidden = true; }, TYPING_TIMEOUT_MS);
  }
}
