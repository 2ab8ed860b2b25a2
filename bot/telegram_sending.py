"""Sending replies within Telegram's limits: split under 4096 units, plain text when HTML is refused."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import render
from .split import split_html

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import ContextTypes

log = logging.getLogger(__name__)


async def reply(update: Update, text: str, *, html: bool = False, markup: Any = None) -> None:
    message = update.effective_message
    await send_pieces(message.get_bot(), message.chat_id, text, html=html, markup=markup, reply_to=message.message_id)


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, *, html: bool = False) -> None:
    await send_pieces(context.bot, chat_id, text, html=html)


async def send_pieces(
    bot: Any, chat_id: int, text: str, *, html: bool, markup: Any = None, reply_to: int | None = None
) -> None:
    """Send ``text`` as one or more messages within Telegram's limit; the button goes on the last.

    Plain text is escaped and sent as HTML too, so both kinds split the same way. If
    Telegram cannot parse a piece's entities, that piece is resent as plain text.
    """
    from telegram import ReplyParameters
    from telegram.error import BadRequest

    body = text if html else render.escape_html(text)
    pieces = [p for p in split_html(body) if p.strip()]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        kwargs: dict[str, Any] = {"reply_markup": markup if last else None}
        if i == 0 and reply_to is not None:
            kwargs["reply_parameters"] = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        try:
            await bot.send_message(chat_id, piece.strip(), parse_mode="HTML", **kwargs)
        except BadRequest as err:
            if "can't parse entities" not in str(err).lower():
                raise
            log.warning("Telegram refused our HTML (%s); sending plain text", err)
            for plain in split_html(render.html_to_plain(piece).strip()):
                await bot.send_message(chat_id, plain, **kwargs)
