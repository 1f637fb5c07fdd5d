// The chat widget on an organisation's own intranet. The intranet's server signs the signed-in
// employee's identity (HS256, with the organisation's embed key) and puts it on the script tag:
//   <div id="therapy-chat"></div>
//   <script src="https://<service>/portal/assets/embed.js" data-organisation="<id>"
//           data-identity-token="<JWT>" data-root="therapy-chat"></script>
// The widget trades that token for a chat identity token at the service (cross-origin; the
// intranet's origin must be in WEB_ALLOWED_ORIGINS) and talks to the assistant as that member.
import { ChatWidget } from "./chat.js";
import { element } from "./dom.js";

const script = document.currentScript;
const service = new URL(script.src).origin;
const organisationId = Number(script.dataset.organisation);
const identityToken = script.dataset.identityToken || "";

async function chatToken() {
  const response = await fetch(`${service}/portal/api/embed/chat-token`, {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ organisation_id: organisationId, token: identityToken }),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error((payload.error && payload.error.message) || `Request failed (${response.status}).`);
  }
  return payload;
}

async function start() {
  const rootId = script.dataset.root || "therapy-chat";
  let root = document.getElementById(rootId);
  if (!root) {
    root = element("div", { id: rootId });
    document.body.append(root);
  }
  let first;
  try {
    first = await chatToken();
  } catch (problem) {
    root.append(element("p", { className: "chat-status", role: "status",
      text: `The chat is unavailable: ${problem.message}` }));
    return;
  }
  let pending = first;
  new ChatWidget({
    root,
    socketUrl: first.chat.socket_url,
    socketPath: first.chat.socket_path,
    title: "Therapy sessions assistant",
    getAuth: async () => {
      const answer = pending || (await chatToken());
      pending = null;
      return { token: answer.token };
    },
    describeSpeaker: (anonymous) => (anonymous ? "Connected." : "Connected as yourself, through your organisation's sign-in."),
  });
}

start();
