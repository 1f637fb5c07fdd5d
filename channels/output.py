"""A Rasa output channel that renders whole bot messages (text, buttons, images, custom) at once.

Rasa calls `send_response` with the full message; the per-kind methods are kept for callers that
use them directly, and all lead to the channel's one `send_response`.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import OutputChannel


class WholeMessageOutput(OutputChannel):
    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"image": image})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"custom": json_message})
