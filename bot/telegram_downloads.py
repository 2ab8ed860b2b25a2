"""Documents sent to the bot, downloaded with a byte cap whatever size the sender declared."""

from __future__ import annotations

from typing import Any

from retrieval.redaction import redact


class TooLarge(Exception):
    """A download went over its byte cap."""


class DownloadFailed(Exception):
    """A document could not be read from the Bot API (its message never quotes the file URL)."""


async def download_capped(document: Any, cap: int, *, timeout: float = 30.0) -> bytes:
    """A document's bytes, refused (:class:`TooLarge`) past ``cap`` bytes whatever its declared size.

    The size in the message is optional and the sender's word: the download itself is capped.
    A network wait over ``timeout`` raises :class:`TimeoutError` (the caller bounds the whole); any
    other failure to get the file (Bot API or file server) is a :class:`DownloadFailed`.
    """
    from telegram.error import BadRequest, TelegramError, TimedOut

    try:
        file = await document.get_file()
        if (file.file_size or 0) > cap:
            raise TooLarge
        path = file.file_path or ""
        if not path.startswith(("http://", "https://")):  # a local Bot API server hands out file paths
            raw = bytes(await file.download_as_bytearray())
            if len(raw) > cap:
                raise TooLarge
            return raw
    except BadRequest as err:
        if "too big" in str(err).lower():  # the Bot API serves no file over 20 MB
            raise TooLarge from None
        raise DownloadFailed(f"the Bot API refused getFile: {redact(str(err))}") from None
    except TimedOut:
        raise TimeoutError from None
    except TelegramError as err:
        raise DownloadFailed(f"{type(err).__name__}: {redact(str(err))}") from None
    return await _fetch_capped(path, cap, timeout)


async def _fetch_capped(url: str, cap: int, timeout: float) -> bytes:
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        async with httpx.AsyncClient(timeout=timeout) as client, client.stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise TooLarge
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise TooLarge
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise TimeoutError from None
    except httpx.HTTPError as err:
        # httpx's message quotes the URL, and a Bot API file URL holds the token.
        status = getattr(getattr(err, "response", None), "status_code", None)
        raise DownloadFailed(
            f"download from the Bot API file server failed ({type(err).__name__}{f' {status}' if status else ''})"
        ) from None
    return b"".join(chunks)
