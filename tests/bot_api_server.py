"""A small, faithful fake of the Telegram Bot API for end-to-end tests of the PTB application.

Why it exists: unit tests with mocked ``Bot`` objects cannot catch wiring mistakes (handlers that
never fire, HTML that Telegram would reject, callback data that is too long, keyboards that vanish
after an edit, flood-control handling).  This server speaks HTTP on ``127.0.0.1`` exactly the way
python-telegram-bot talks to Telegram, so the real ``Bot``/``Application`` can run against it.

Usage::

    with FakeBotApi() as server:
        app = ApplicationBuilder().token(server.token).base_url(server.base_url).build()
        ...
        server.push_message(42, "/start")
        messages = await server.wait_for_messages(42, 1)

Standard library only.  URL shape is ``{base_url}{token}/{method}`` (``base_url`` ends in ``/bot``);
method names are case-insensitive like the real API.  Parameters are accepted as query string,
``application/x-www-form-urlencoded`` (PTB's default: strings verbatim, everything else as JSON
text), ``multipart/form-data`` (uploads become :class:`UploadedFile`) and ``application/json``.

Implemented with realistic results and Telegram's error texts: getMe, getUpdates (long polling,
offset confirmation, allowed_updates, "terminated by other getUpdates request"), setWebhook,
deleteWebhook, getWebhookInfo, set/get/deleteMyCommands, set/getMyDescription,
set/getMyShortDescription, set/getMyName, sendMessage, sendPhoto/Document/Audio/Video/Animation/
Voice/VideoNote/Sticker/Location/Contact/Dice, sendMediaGroup, copyMessage, forwardMessage,
editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage(s), answerCallbackQuery,
answerInlineQuery, sendChatAction, set/getChatMenuButton, getChat, getChatMember, getFile (plus
file downloads under ``file_base_url``), close, logOut.  **Every other real Bot API method is
recorded and answered with ``{"ok": true, "result": true}``** (PTB will fail to parse that where it
expects an object); names that are not Bot API methods get 404 "Not Found: method not found".

Deliberate differences from the real service, chosen to make bugs visible or tests simple:

* ``strict_html_entities=True`` (default): with ``parse_mode=HTML`` a bare ``&`` that does not
  start an entity is rejected.  Real Telegram keeps it literally, but it is almost always an
  escaping bug (``html.escape`` was not called).  Pass ``False`` for Telegram's exact behaviour.
* Markdown/MarkdownV2 text is accepted without validation and returned unparsed.
* ``auto_create_chats=True`` (default): sending to an integer chat the server has never seen
  creates it (positive id: private, negative: group/supergroup) instead of "chat not found".
* ``group_privacy=True`` (default, matching ``can_read_all_group_messages: false``): plain group
  messages pushed by the test that neither start with ``/``, mention the bot nor reply to it are
  withheld like Telegram's privacy mode does; they land in :attr:`FakeBotApi.withheld_updates`.

Faithful on purpose: a request held back with :meth:`FakeBotApi.delay` still executes after the
client timed out, exactly like a request that reached Telegram (so a retry can double-send).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.message
import json
import math
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "CONFLICT_OTHER_GET_UPDATES",
    "Call",
    "EntityParseError",
    "FakeBotApi",
    "UploadedFile",
    "parse_telegram_html",
]

HOST = "127.0.0.1"
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
DEFAULT_GROUP_USER_ID = 424242

CONFLICT_OTHER_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a content and reply markup of the current message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# All Bot API methods PTB 22 knows (extracted from telegram/_bot.py); real API names are camelCase.
_BOT_API_METHODS = tuple(
    """
    addStickerToSet answerCallbackQuery answerGuestQuery answerInlineQuery
    answerPreCheckoutQuery answerShippingQuery answerWebAppQuery approveChatJoinRequest
    approveSuggestedPost banChatMember banChatSenderChat close closeForumTopic
    closeGeneralForumTopic convertGiftToStars copyMessage copyMessages createChatInviteLink
    createChatSubscriptionInviteLink createForumTopic createInvoiceLink createNewStickerSet
    declineChatJoinRequest declineSuggestedPost deleteAllMessageReactions
    deleteBusinessMessages deleteChatPhoto deleteChatStickerSet deleteForumTopic deleteMessage
    deleteMessageReaction deleteMessages deleteMyCommands deleteStickerFromSet deleteStickerSet
    deleteStory deleteWebhook editChatInviteLink editChatSubscriptionInviteLink editForumTopic
    editGeneralForumTopic editMessageCaption editMessageChecklist editMessageLiveLocation
    editMessageMedia editMessageReplyMarkup editMessageText editStory editUserStarSubscription
    exportChatInviteLink forwardMessage forwardMessages getAvailableGifts
    getBusinessAccountGifts getBusinessAccountStarBalance getBusinessConnection getChat
    getChatAdministrators getChatGifts getChatMember getChatMemberCount getChatMenuButton
    getCustomEmojiStickers getFile getForumTopicIconStickers getGameHighScores
    getManagedBotAccessSettings getManagedBotToken getMe getMyCommands
    getMyDefaultAdministratorRights getMyDescription getMyName getMyShortDescription
    getMyStarBalance getStarTransactions getStickerSet getUpdates getUserChatBoosts
    getUserGifts getUserPersonalChatMessages getUserProfileAudios getUserProfilePhotos
    getWebhookInfo giftPremiumSubscription hideGeneralForumTopic leaveChat logOut
    pinChatMessage postStory promoteChatMember readBusinessMessage refundStarPayment
    removeBusinessAccountProfilePhoto removeChatVerification removeMyProfilePhoto
    removeUserVerification reopenForumTopic reopenGeneralForumTopic replaceManagedBotToken
    replaceStickerInSet repostStory restrictChatMember revokeChatInviteLink
    savePreparedInlineMessage savePreparedKeyboardButton sendAnimation sendAudio sendChatAction
    sendChecklist sendContact sendDice sendDocument sendGame sendGift sendInvoice sendLivePhoto
    sendLocation sendMediaGroup sendMessage sendMessageDraft sendPaidMedia sendPhoto sendPoll
    sendSticker sendVenue sendVideo sendVideoNote sendVoice setBusinessAccountBio
    setBusinessAccountGiftSettings setBusinessAccountName setBusinessAccountProfilePhoto
    setBusinessAccountUsername setChatAdministratorCustomTitle setChatDescription
    setChatMemberTag setChatMenuButton setChatPermissions setChatPhoto setChatStickerSet
    setChatTitle setCustomEmojiStickerSetThumbnail setGameScore setManagedBotAccessSettings
    setMessageReaction setMyCommands setMyDefaultAdministratorRights setMyDescription setMyName
    setMyProfilePhoto setMyShortDescription setPassportDataErrors setStickerEmojiList
    setStickerKeywords setStickerMaskPosition setStickerPositionInSet setStickerSetThumbnail
    setStickerSetTitle setUserEmojiStatus setWebhook stopMessageLiveLocation stopPoll
    transferBusinessAccountStars transferGift unbanChatMember unbanChatSenderChat
    unhideGeneralForumTopic unpinAllChatMessages unpinAllForumTopicMessages
    unpinAllGeneralForumTopicMessages unpinChatMessage upgradeGift uploadStickerFile verifyChat
    verifyUser
    """.split()  # noqa: SIM905 - a word list is far easier to scan
)
_METHOD_BY_LOWER = {name.lower(): name for name in _BOT_API_METHODS}

# Form values of these parameters are plain strings; every other form value is JSON text (that is
# how PTB encodes them), so "123" means the int 123 for chat_id but the string "123" for text.
_STRING_PARAMS = frozenset(
    """
    text caption parse_mode callback_query_id inline_query_id inline_message_id url query
    next_offset switch_pm_text switch_pm_parameter action description short_description name
    title secret_token language_code emoji ip_address business_connection_id message_effect_id
    question explanation address phone_number first_name last_name vcard foursquare_id
    foursquare_type google_place_id google_place_type game_short_name payload provider_token
    currency start_parameter provider_data custom_title invite_link shipping_query_id
    pre_checkout_query_id error_message sticker_set_name set_name custom_emoji_id
    web_app_query_id gift_id telegram_payment_charge_id emoji_status_custom_emoji_id bio
    username file_id photo document audio video animation voice video_note sticker thumbnail
    """.split()  # noqa: SIM905 - a word list is far easier to scan
)

# Send methods that Telegram's flood control counts as "messages".
_RATE_LIMITED_METHODS = frozenset(
    """
    sendMessage sendPhoto sendDocument sendAudio sendVideo sendAnimation sendVoice
    sendVideoNote sendSticker sendLocation sendContact sendDice sendMediaGroup sendPoll
    sendVenue copyMessage forwardMessage
    """.split()  # noqa: SIM905 - a word list is far easier to scan
)
_MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendAudio": "audio",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendVoice": "voice",
    "sendVideoNote": "video_note",
    "sendSticker": "sticker",
}
_CAPTIONLESS_MEDIA = frozenset({"sticker", "video_note"})
_MEDIA_KEYS = frozenset({"photo", "document", "audio", "video", "animation", "voice"})
_CHAT_ACTIONS = frozenset(
    """
    typing upload_photo record_video upload_video record_voice upload_voice upload_document
    choose_sticker find_location record_video_note upload_video_note
    """.split()  # noqa: SIM905 - a word list is far easier to scan
)
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MESSAGE_UPDATE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)

_API_PATH_RE = re.compile(r"/bot([^/]*)/([^/]*)")
_FILE_PATH_RE = re.compile(r"/file/bot([^/]*)/(.+)")
_TOKEN_SHAPE_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
# tdlib's bot command regexp: /cmd (1-64 chars) with an optional @botname (3-32 chars).
_COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{3,32}))?(?![\w/<>])")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


# --------------------------------------------------------------------------------------------
# Public value types


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request; ``data`` is left out of ``repr`` to keep logs short."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class Call:
    """One request the bot made, with decoded parameters and the outcome the bot saw."""

    method: str
    params: dict[str, Any]
    time: float
    ok: bool = True
    result: Any = None
    error_code: int | None = None
    description: str | None = None


class EntityParseError(ValueError):
    """Raised by :func:`parse_telegram_html` with tdlib's wording of the problem."""


class ApiError(Exception):
    """An error answer; the HTTP status equals ``error_code`` like on the real server."""

    def __init__(
        self, error_code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters or {})

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


# --------------------------------------------------------------------------------------------
# Telegram HTML (a port of tdlib's parse_html, so error texts and offsets match the real server)

_HTML_SPACE = frozenset(b" \t\r\n\f\v\x00")  # tdlib's is_space() treats NUL (end) as space
_HTML_TAGS = frozenset(
    """
    a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote
    """.split()  # noqa: SIM905 - a word list is far easier to scan
)
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_DEC_DIGITS = frozenset(b"0123456789")
_ASCII_ALPHA = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_TOKEN = _ASCII_ALPHA | _DEC_DIGITS | frozenset(b".-")
_NAMED_ENTITIES = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_html_entity(raw: bytes, pos: int) -> tuple[int, int]:
    """Return (code point, position after the entity), or (0, pos) when ``&`` starts none."""
    size = len(raw)

    def at(k: int) -> int:
        return raw[k] if k < size else 0

    end = pos + 1
    code = 0
    if at(end) == 0x23:  # '#': numeric character reference
        end += 1
        if at(end) == 0x78:  # 'x'
            end += 1
            while at(end) in _HEX_DIGITS:
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while at(end) in _DEC_DIGITS:
                code = code * 10 + at(end) - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while at(end) in _ASCII_ALPHA:
            end += 1
        code = _NAMED_ENTITIES.get(raw[pos + 1 : end], 0)
        if code == 0:
            return 0, pos
    if at(end) == 0x3B:  # ';' is optional, as in tdlib
        end += 1
    return code, end


def parse_telegram_html(
    text: str, *, strict_ampersand: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (plain text, Bot API entities with UTF-16 offsets).

    Mirrors tdlib so that escaping bugs fail here exactly as they would in production; raises
    :class:`EntityParseError`.  ``strict_ampersand`` additionally rejects a bare ``&``.
    """
    raw = text.encode("utf-8")
    size = len(raw)

    def at(k: int) -> int:
        return raw[k] if k < size else 0

    out = bytearray()
    entities: list[dict[str, Any]] = []
    # open tags: (name, argument, utf16 offset, byte offset in ``out``)
    stack: list[tuple[str, str, int, int]] = []
    utf16 = 0
    i = 0
    while i < size:
        c = raw[i]
        if c == 0x26:  # '&'
            code, after = _decode_html_entity(raw, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                out += chr(code).encode("utf-8")
                utf16 += 2 if code > 0xFFFF else 1
                i = after
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f'Character "&" at byte offset {i} does not start an HTML entity; '
                    'escape it as "&amp;" (strict mode of the fake Bot API server)'
                )
        if c != 0x3C:  # not '<'
            if c & 0xC0 != 0x80:  # first byte of a UTF-8 sequence
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != 0x2F:  # start tag
            while at(i) not in _HTML_SPACE and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = raw[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) and at(i) in _HTML_SPACE:
                    i += 1
                if at(i) == 0x3E:
                    break
                attr_begin = i
                while at(i) not in _HTML_SPACE and at(i) not in (0x3D, 0x3E):
                    i += 1
                attr = raw[attr_begin:i].decode("utf-8", "replace")
                if not attr:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while at(i) and at(i) in _HTML_SPACE:
                    i += 1
                if at(i) != 0x3D:  # '='
                    if tag == "blockquote" and attr == "expandable":
                        argument = "expandable"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while at(i) and at(i) in _HTML_SPACE:
                    i += 1
                if at(i) == 0:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                value = bytearray()
                if at(i) not in (0x22, 0x27):  # a name token, case-insensitive
                    token_begin = i
                    while at(i) in _NAME_TOKEN:
                        i += 1
                    value += raw[token_begin:i].lower()
                    if at(i) not in _HTML_SPACE and at(i) != 0x3E:
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:  # a quoted string literal
                    quote = at(i)
                    i += 1
                    while at(i) != quote and at(i) != 0:
                        if at(i) == 0x26:
                            code, after = _decode_html_entity(raw, i)
                            if code:
                                value += chr(code).encode("utf-8")
                                i = after
                                continue
                        value.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                if at(i) == 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
                decoded = value.decode("utf-8", "replace")
                if tag == "a" and attr == "href":
                    argument = decoded
                elif tag == "code" and attr == "class" and decoded.startswith("language-"):
                    argument = decoded[len("language-") :]
                elif tag == "span" and attr == "class" and decoded.startswith("tg-"):
                    argument = decoded[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = decoded
            i += 1  # skip '>'
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append((tag, argument, utf16, len(out)))
            continue

        # end tag
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        while at(i) not in _HTML_SPACE and at(i) != 0x3E:
            i += 1
        end_name = raw[begin + 2 : i].decode("utf-8", "replace")
        while at(i) and at(i) in _HTML_SPACE:
            i += 1
        if at(i) != 0x3E:
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        tag, argument, start16, start_byte = stack.pop()
        if end_name and end_name != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        if utf16 > start16:
            _close_html_entity(
                entities, tag, argument, start16, utf16 - start16, bytes(out[start_byte:])
            )
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.decode("utf-8"), entities


def _close_html_entity(
    entities: list[dict[str, Any]],
    tag: str,
    argument: str,
    offset: int,
    length: int,
    inner: bytes,
) -> None:
    entity: dict[str, Any] = {"offset": offset, "length": length}
    last = entities[-1] if entities else None
    same_span = last is not None and (last["offset"], last["length"]) == (offset, length)
    if tag in _SIMPLE_TAG_TYPES:
        entity["type"] = _SIMPLE_TAG_TYPES[tag]
    elif tag == "a":
        url = argument or inner.decode("utf-8")
        if not url:
            return
        entity.update(type="text_link", url=url)
    elif tag == "tg-emoji":
        if not argument.isdigit():
            raise EntityParseError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=argument)
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if argument else "blockquote"
    elif tag == "pre":
        entity["type"] = "pre"
        if same_span and last is not None and last["type"] == "code" and last.get("_language"):
            entities.pop()  # <pre><code class="language-x"> is one pre entity with a language
            entity["language"] = last["_language"]
    else:  # code
        if same_span and last is not None and last["type"] == "pre" and argument:
            last["language"] = argument
            return
        entity["type"] = "code"
        if argument:
            entity["_language"] = argument
    entities.append(entity)


def _strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does and shift entities along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------------
# Request decoding


def _decode_value(key: str, value: Any) -> Any:
    if key in _STRING_PARAMS:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    headers = email.message.Message()
    headers["content-type"] = content_type
    boundary = headers.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, Any] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        content = content.removesuffix(b"\r\n")
        part = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                part[name.strip()] = value.strip()
        field_name = part.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            continue
        filename = part.get_filename()
        if filename is None:
            fields[field_name] = content.decode("utf-8")
        else:
            fields[field_name] = UploadedFile(
                filename=filename,
                content_type=part.get("content-type"),
                data=content,
            )
    return fields


def _decode_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if body:
        if media_type == "application/json":
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            raw.update(data)
        elif media_type == "multipart/form-data":
            raw.update(_parse_multipart(content_type, body))
        else:
            raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {key: _decode_value(key, value) for key, value in raw.items()}


def _int_param(params: Mapping[str, Any], key: str, default: int | None = None) -> int:
    """Read an Integer parameter; bad input is the client's 400, not a crash of the fake."""
    value = params.get(key)
    if value is None or value == "":
        if default is None:
            raise ApiError(400, f'Bad Request: parameter "{key}" is required')
        return default
    if isinstance(value, bool):
        raise ApiError(400, f'Bad Request: field "{key}" must be of type Integer')
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f'Bad Request: field "{key}" must be of type Integer') from None


def _same_chat(chat_id: Any, wanted: Any) -> bool:
    return wanted is None or str(chat_id) == str(wanted)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # bursts of hundreds of connections must not overflow the backlog

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would do a reverse DNS lookup (getfqdn), which can stall.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        """Unblock handler threads parked on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (cancelled long poll, timeout) is normal, not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        if exc is not None:
            self.api.server_errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out separately; no 40 ms ACK waits
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr access log."""

    def do_GET(self) -> None:
        self._respond()

    def do_POST(self) -> None:
        self._respond()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _respond(self) -> None:
        body = self._read_body()
        status, payload, content_type = self.server.api._serve(self.path, self.headers, body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close" if self.close_connection else "keep-alive")
        self.end_headers()
        self.wfile.write(payload)


# --------------------------------------------------------------------------------------------
# The fake server


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int | None
    chat_id: str | None


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int | None


@dataclass(frozen=True)
class _RateLimits:
    per_chat_per_second: float
    overall_per_second: float
    group_per_minute: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


_MethodHandler = Callable[[dict[str, Any]], Any]


class FakeBotApi:
    """In-process Telegram Bot API double; every public method is thread-safe.

    State lives behind one re-entrant lock; a condition variable on that lock wakes long polls
    (new updates) and :meth:`wait_for` (new calls).  See the module docstring for semantics.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "firming_faq_bot",
        bot_id: int = 123456,
        *,
        bot_first_name: str = "Test Bot",
        strict_html_entities: bool = True,
        auto_create_chats: bool = True,
        group_privacy: bool = True,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.strict_html_entities = strict_html_entities
        self.auto_create_chats = auto_create_chats
        self.group_privacy = group_privacy

        self.calls: list[Call] = []
        self.withheld_updates: list[dict[str, Any]] = []
        # Exceptions raised inside the fake itself.  Kept as objects: formatting a traceback
        # parses source with ``ast``, which CPython 3.11 does not tolerate on two threads at once.
        self.server_errors: list[BaseException] = []
        self.rate_limited_count = 0

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._poll_generation = 0
        self._long_polls_waiting = 0
        self._allowed_updates: list[str] | None = None
        self._webhook: dict[str, Any] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._inline_queries: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._query_counter = 0
        self._media_group_counter = 0
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._rate_limits: _RateLimits | None = None
        self._send_log: dict[int, deque[float]] = {}
        self._overall_send_log: deque[float] = deque()

        self._handlers: dict[str, _MethodHandler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": lambda p: self._set_bot_text("description", p),
            "getMyDescription": lambda p: self._get_bot_text("description", p),
            "setMyShortDescription": lambda p: self._set_bot_text("short_description", p),
            "getMyShortDescription": lambda p: self._get_bot_text("short_description", p),
            "setMyName": lambda p: self._set_bot_text("name", p),
            "getMyName": lambda p: self._get_bot_text("name", p),
            "sendMessage": self._send_message,
            "sendLocation": self._send_location,
            "sendContact": self._send_contact,
            "sendDice": self._send_dice,
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "sendChatAction": self._send_chat_action,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getFile": self._get_file,
            "close": lambda p: True,
            "logOut": lambda p: True,
        }
        for method, kind in _MEDIA_METHODS.items():
            self._handlers[method] = lambda p, kind=kind: self._send_media(kind, p)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already running")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeBotApi",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes long polls and delayed requests so nothing lingers."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Pass to ``Bot(base_url=...)``/``ApplicationBuilder().base_url(...)``."""
        return f"http://{HOST}:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """Pass to ``base_file_url`` so ``File.download_*`` hits this server too."""
        return f"http://{HOST}:{self.port}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ---- HTTP entry point --------------------------------------------------------------------

    def _serve(
        self, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        url = urlsplit(raw_path)
        path = unquote(url.path)  # PTB percent-encodes the ':' of the token in file URLs
        file_match = _FILE_PATH_RE.fullmatch(path)
        if file_match:
            return self._serve_file(*file_match.groups())
        match = _API_PATH_RE.fullmatch(path)
        if match is None:
            return self._error_response(ApiError(404, "Not Found"))
        token, method_name = match.groups()
        if token != self.token:
            if _TOKEN_SHAPE_RE.fullmatch(token):
                return self._error_response(ApiError(401, "Unauthorized"))
            return self._error_response(ApiError(404, "Not Found"))

        received = time.time()
        decode_error: ApiError | None = None
        try:
            params = _decode_params(url.query, headers.get("Content-Type", ""), body)
        except (ValueError, UnicodeDecodeError) as exc:
            params, decode_error = {}, ApiError(400, f"Bad Request: can't parse request: {exc}")
        method = _METHOD_BY_LOWER.get(method_name.lower())
        if method is None:
            error = ApiError(404, "Not Found: method not found")
            with self._cond:
                self._record(Call(method_name, params, received), error=error)
            return self._error_response(error)

        pause = self._take_delay(method)
        if pause:
            self._stopping.wait(pause)

        with self._cond:
            try:
                if decode_error is not None:
                    raise decode_error
                self._apply_faults(method, params)
                if method in _RATE_LIMITED_METHODS:
                    self._check_rate_limits(params)
                handler = self._handlers.get(method)
                result = handler(params) if handler is not None else True
                if method in _RATE_LIMITED_METHODS:
                    self._note_send(params)
            except ApiError as exc:
                self._record(Call(method, params, received), error=exc)
                return self._error_response(exc)
            except Exception as exc:  # a bug in the fake itself must be loud, not a hang
                self.server_errors.append(exc)
                error = ApiError(500, f"Internal Server Error: fake Bot API bug: {exc!r}")
                self._record(Call(method, params, received), error=error)
                return self._error_response(error)
            result = copy.deepcopy(result)
            self._record(Call(method, params, received, result=result))
            payload = json.dumps({"ok": True, "result": result}).encode("utf-8")
        return 200, payload, "application/json"

    @staticmethod
    def _error_response(error: ApiError) -> tuple[int, bytes, str]:
        return error.error_code, json.dumps(error.payload()).encode("utf-8"), "application/json"

    def _record(self, call: Call, *, error: ApiError | None = None) -> None:
        if error is not None:
            call.ok, call.error_code, call.description = False, error.error_code, error.description
        self.calls.append(call)
        self._cond.notify_all()

    def _serve_file(self, token: str, path: str) -> tuple[int, bytes, str]:
        if token != self.token:
            return self._error_response(ApiError(401, "Unauthorized"))
        with self._lock:
            for stored in self._files.values():
                if stored.file_path == path:
                    return 200, stored.data, "application/octet-stream"
        return self._error_response(ApiError(404, "Not Found"))

    # ---- fault injection --------------------------------------------------------------------

    @staticmethod
    def _canonical(method: str) -> str:
        try:
            return _METHOD_BY_LOWER[method.lower()]
        except KeyError:
            raise ValueError(f"{method!r} is not a Bot API method") from None

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember reports for this user in this chat ("member" unless set)."""
        with self._lock:
            self._member_status[(chat_id, user_id)] = status

    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``None``: all) fail with this error."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        parameters: dict[str, Any] = {}
        if error_code == 429 and retry_after is None:  # Telegram always sends it with a 429
            found = re.search(r"retry after (\d+)", description)
            retry_after = int(found.group(1)) if found else 1
        if retry_after is not None:
            parameters["retry_after"] = int(retry_after)
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        fault = _Fault(
            method=self._canonical(method),
            error=ApiError(error_code, description, parameters),
            remaining=times,
            chat_id=None if chat_id is None else str(chat_id),
        )
        with self._lock:
            self._faults.append(fault)

    def delay(self, method: str, seconds: float, *, times: int | None = 1) -> None:
        """Hold the answer to the next ``times`` calls for ``seconds`` (the call still executes)."""
        with self._lock:
            self._delays.append(_Delay(self._canonical(method), seconds, times))

    def conflict_on_get_updates(self, *, times: int | None = None) -> None:
        """Emulate a second bot instance polling with the same token."""
        self.fail("getUpdates", 409, CONFLICT_OTHER_GET_UPDATES, times=times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def _take_delay(self, method: str) -> float:
        with self._lock:
            for pending in self._delays:
                if pending.method == method:
                    if pending.remaining is not None:
                        pending.remaining -= 1
                        if pending.remaining == 0:
                            self._delays.remove(pending)
                    return pending.seconds
        return 0.0

    def _apply_faults(self, method: str, params: dict[str, Any]) -> None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != fault.chat_id:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
            raise ApiError(fault.error.error_code, fault.error.description, fault.error.parameters)

    # ---- rate limits ------------------------------------------------------------------------

    def emulate_rate_limits(
        self,
        per_chat_per_second: float = 1.0,
        overall_per_second: float = 30.0,
        group_per_minute: int = 20,
    ) -> None:
        """Answer message sends beyond Telegram's documented limits with 429 + retry_after."""
        with self._lock:
            self._rate_limits = _RateLimits(
                per_chat_per_second, overall_per_second, group_per_minute
            )
            self._send_log.clear()
            self._overall_send_log.clear()

    def disable_rate_limits(self) -> None:
        with self._lock:
            self._rate_limits = None

    @staticmethod
    def _window_wait(stamps: deque[float], now: float, rate: float) -> float:
        window = max(1.0, 1.0 / rate)
        capacity = max(1, int(rate * window))
        recent = [stamp for stamp in stamps if stamp > now - window]
        if len(recent) < capacity:
            return 0.0
        return recent[-capacity] + window - now

    def _chat_key(self, params: dict[str, Any]) -> int | None:
        try:
            return int(self._chat_for(params)["id"])
        except ApiError:
            return None

    def _check_rate_limits(self, params: dict[str, Any]) -> None:
        limits = self._rate_limits
        chat_id = self._chat_key(params)
        if limits is None or chat_id is None:
            return
        now = time.monotonic()
        chat_log = self._send_log.get(chat_id, deque())
        waits = [
            self._window_wait(chat_log, now, limits.per_chat_per_second),
            self._window_wait(self._overall_send_log, now, limits.overall_per_second),
        ]
        if self._chats.get(chat_id, {}).get("type") in ("group", "supergroup", "channel"):
            recent = [stamp for stamp in chat_log if stamp > now - 60.0]
            if len(recent) >= limits.group_per_minute:
                waits.append(recent[-limits.group_per_minute] + 60.0 - now)
        wait = max(waits)
        if wait > 0:
            self.rate_limited_count += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def _note_send(self, params: dict[str, Any]) -> None:
        if self._rate_limits is None:
            return
        chat_id = self._chat_key(params)
        now = time.monotonic()
        if chat_id is not None:
            log = self._send_log.setdefault(chat_id, deque())
            log.append(now)
            while log and log[0] < now - 60.0:
                log.popleft()
        self._overall_send_log.append(now)
        while self._overall_send_log and self._overall_send_log[0] < now - 60.0:
            self._overall_send_log.popleft()

    # ---- recorded traffic -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        canonical = self._canonical(method)
        with self._lock:
            return [call for call in self.calls if call.method == canonical]

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Parameters of successful sendMessage calls (text exactly as the bot sent it)."""
        with self._lock:
            return [
                copy.deepcopy(call.params)
                for call in self.calls
                if call.method == "sendMessage"
                and call.ok
                and _same_chat(call.params.get("chat_id"), chat_id)
            ]

    def edits(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Parameters of successful editMessageText/Caption/ReplyMarkup calls."""
        methods = ("editMessageText", "editMessageCaption", "editMessageReplyMarkup")
        with self._lock:
            return [
                copy.deepcopy(call.params)
                for call in self.calls
                if call.method in methods
                and call.ok
                and _same_chat(call.params.get("chat_id"), chat_id)
            ]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The message as Telegram would show it now (after edits), or None if deleted/unknown."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            return copy.deepcopy(stored)

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def long_polls_waiting(self) -> int:
        """getUpdates requests currently parked on the server (lets tests sync with a poller)."""
        with self._lock:
            return self._long_polls_waiting

    @property
    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    # ---- waiting ----------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until ``predicate()`` is truthy and return it; re-checked on every call.

        Do not use from a coroutine that shares the loop with the bot; use async_wait_for.
        Re-checked at least every 50 ms too, for predicates on the bot's own state.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(predicate, timeout))
                self._cond.wait(min(remaining, 0.05))

    async def async_wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - same signature as wait_for, on purpose
    ) -> Any:
        """Like wait_for, but yields to the event loop so an in-process Application can run."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(predicate, timeout))
            await asyncio.sleep(0.005)

    async def wait_for_messages(
        self,
        chat_id: int | str,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain number reads better in tests
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; return all of them."""

        def enough() -> list[dict[str, Any]] | None:
            sent = self.sent_messages(chat_id)
            return sent if len(sent) >= count else None

        enough.__qualname__ = f"{count} sendMessage call(s) to chat {chat_id}"
        return await self.async_wait_for(enough, timeout)

    def _timeout_report(self, predicate: Callable[[], Any], timeout: float) -> str:
        what = getattr(predicate, "__qualname__", repr(predicate))
        with self._lock:
            lines = [f"Timed out after {timeout}s waiting for {what}."]
            recent = self.calls[-15:]
            if recent:
                lines.append(f"Last {len(recent)} of {len(self.calls)} Bot API calls:")
                for call in recent:
                    outcome = "ok" if call.ok else f"{call.error_code} {call.description}"
                    params = ", ".join(f"{k}={_short(v, 60)}" for k, v in call.params.items())
                    lines.append(f"  {call.method}({params}) -> {outcome}")
            else:
                lines.append("The bot made no Bot API calls at all (is it polling this server?).")
            if self._updates:
                lines.append(
                    f"{len(self._updates)} pushed update(s) not yet confirmed by getUpdates."
                )
            if self.withheld_updates:
                lines.append(
                    f"{len(self.withheld_updates)} group update(s) withheld by privacy mode "
                    "(group_privacy=True)."
                )
            if self.server_errors:
                last = self.server_errors[-1]
                lines.append("Fake server error:\n" + "".join(traceback.format_exception(last)))
        return "\n".join(lines)

    # ---- injecting user traffic -------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (update_id is assigned unless given); returns it."""
        return self._enqueue(update, withhold=False)

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to_message: int | dict[str, Any] | None = None,
        message_id: int | None = None,
        chat_title: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a user sending ``text``; commands get their ``bot_command`` entity."""
        if not text.strip():
            raise ValueError("Telegram clients cannot send an empty message")
        content: dict[str, Any] = {"text": text}
        if entities is None:
            entities = []
            command = _COMMAND_RE.match(text)
            if command:
                entities.append(
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
                )
        if entities:
            content["entities"] = entities
        message = self._user_message(
            chat_id,
            content,
            user_id=user_id,
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            reply_to_message=reply_to_message,
            message_id=message_id,
            chat_title=chat_title,
            language_code=language_code,
        )
        return self._enqueue({"message": message}, withhold=self._withheld_by_privacy(message))

    def push_edited_message(
        self,
        chat_id: int,
        text: str,
        *,
        message_id: int,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Simulate the user editing one of their messages (the original is reused if known)."""
        with self._lock:
            original = copy.deepcopy(self._messages.get((chat_id, message_id)))
        if original is None or original.get("from", {}).get("id") == self.bot_id:
            original = self._user_message(
                chat_id,
                {},
                user_id=user_id,
                chat_type=chat_type,
                first_name=first_name,
                username=username,
                message_id=message_id,
            )
        original["text"] = text
        original.pop("entities", None)
        if entities:
            original["entities"] = entities
        original["edit_date"] = int(time.time())
        update = {"edited_message": original}
        return self._enqueue(update, withhold=self._withheld_by_privacy(original))

    def push_callback_query(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        first_name: str = "Test",
        username: str | None = None,
    ) -> dict[str, Any]:
        """Simulate pressing an inline button under the bot's message ``message_id``."""
        with self._lock:
            message = copy.deepcopy(self._messages.get((chat_id, message_id)))
            chat = copy.deepcopy(self._chats.get(chat_id)) or self._synthetic_chat(chat_id)
            self._query_counter += 1
            query_id = str(4_000_000_000_000_000 + self._query_counter)
        if message is None:  # not sent through this server: build what Telegram would attach
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
            }
        if user_id is None:
            user_id = chat_id if chat["type"] == "private" else DEFAULT_GROUP_USER_ID
        query = {
            "id": query_id,
            "from": self._user(user_id, first_name, username, None),
            "message": message,
            "chat_instance": str((chat_id * 2_654_435_761) % 10**18),
            "data": data,
        }
        return self._enqueue({"callback_query": query}, withhold=False)

    def push_inline_query(
        self,
        user_id: int,
        query: str,
        offset: str = "",
        *,
        chat_type: str | None = "sender",
        first_name: str = "Test",
        username: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            self._query_counter += 1
            query_id = str(5_000_000_000_000_000 + self._query_counter)
        inline_query: dict[str, Any] = {
            "id": query_id,
            "from": self._user(user_id, first_name, username, None),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            inline_query["chat_type"] = chat_type
        return self._enqueue({"inline_query": inline_query}, withhold=False)

    def push_photo(
        self, chat_id: int, *, caption: str | None = None, data: bytes | None = None, **sender: Any
    ) -> dict[str, Any]:
        """Sender keywords are those of push_message (user_id, chat_type, first_name, ...)."""
        photo = self._media_object("photo", data if data is not None else b"\xff\xd8fake-jpeg")
        return self._push_content(chat_id, {"photo": photo}, caption, sender)

    def push_document(
        self,
        chat_id: int,
        *,
        caption: str | None = None,
        data: bytes | None = None,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        **sender: Any,
    ) -> dict[str, Any]:
        document = self._media_object("document", data if data is not None else b"%PDF-fake")
        document.update(file_name=file_name, mime_type=mime_type)
        return self._push_content(chat_id, {"document": document}, caption, sender)

    def push_voice(
        self, chat_id: int, *, duration: int = 3, data: bytes | None = None, **sender: Any
    ) -> dict[str, Any]:
        voice = self._media_object("voice", data if data is not None else b"OggSfake-voice")
        voice["duration"] = duration
        return self._push_content(chat_id, {"voice": voice}, None, sender)

    def push_sticker(self, chat_id: int, *, emoji: str = "👍", **sender: Any) -> dict[str, Any]:
        sticker = self._media_object("sticker", b"RIFFfake-webp")
        sticker["emoji"] = emoji
        return self._push_content(chat_id, {"sticker": sticker}, None, sender)

    def _push_content(
        self, chat_id: int, content: dict[str, Any], caption: str | None, sender: dict[str, Any]
    ) -> dict[str, Any]:
        if caption:
            content["caption"] = caption
        message = self._user_message(chat_id, content, **sender)
        return self._enqueue({"message": message}, withhold=self._withheld_by_privacy(message))

    def _user(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _user_message(
        self,
        chat_id: int,
        content: dict[str, Any],
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        reply_to_message: int | dict[str, Any] | None = None,
        message_id: int | None = None,
        chat_title: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        if chat_type == "private" and chat_id <= 0:
            raise ValueError("private chat ids are positive (they equal the user id)")
        if chat_type in ("group", "supergroup", "channel") and chat_id >= 0:
            raise ValueError(f"{chat_type} chat ids are negative")
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {chat_type!r}")
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER_ID
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        with self._lock:
            if chat_type == "private":
                chat["first_name"] = first_name
                if username:
                    chat["username"] = username
            else:
                known = self._chats.get(chat_id, {})
                chat["title"] = chat_title or known.get("title") or f"Test {chat_type} {chat_id}"
            if message_id is None:
                message_id = self._new_message_id(chat_id)
            else:
                self._last_message_id[chat_id] = max(
                    self._last_message_id.get(chat_id, 0), message_id
                )
            reply: dict[str, Any] | None = None
            if isinstance(reply_to_message, int):
                reply = copy.deepcopy(self._messages.get((chat_id, reply_to_message)))
                if reply is None:
                    raise ValueError(f"no message {reply_to_message} in chat {chat_id} to reply to")
                reply.pop("reply_to_message", None)
            elif reply_to_message is not None:
                reply = copy.deepcopy(reply_to_message)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._user(user_id, first_name, username, language_code),
            "chat": chat,
            "date": int(time.time()),
        }
        if reply is not None:
            message["reply_to_message"] = reply
        message.update(content)
        return message

    def _withheld_by_privacy(self, message: dict[str, Any]) -> bool:
        """Privacy mode: groups only deliver commands, mentions of the bot and replies to it."""
        if not self.group_privacy or message["chat"]["type"] not in ("group", "supergroup"):
            return False
        text = message.get("text") or message.get("caption") or ""
        command = _COMMAND_RE.match(text)
        if command:
            addressee = command.group(2)
            return addressee is not None and addressee.lower() != self.bot_username.lower()
        if f"@{self.bot_username}".lower() in text.lower():
            return False
        reply = message.get("reply_to_message") or {}
        return reply.get("from", {}).get("id") != self.bot_id

    def _enqueue(self, update: dict[str, Any], *, withhold: bool) -> dict[str, Any]:
        with self._cond:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            self._remember(update)
            stored = copy.deepcopy(update)
            if withhold:
                self.withheld_updates.append(stored)
            else:
                self._updates.append(stored)
            self._cond.notify_all()
        return update

    def _remember(self, update: dict[str, Any]) -> None:
        """Index chats, users, messages and query ids so later bot calls can refer to them."""
        for key in _MESSAGE_UPDATE_KEYS:
            if isinstance(update.get(key), dict):
                self._remember_message(update[key])
        for value in update.values():
            sender = value.get("from") if isinstance(value, dict) else None
            if isinstance(sender, dict) and "id" in sender:
                self._users[int(sender["id"])] = copy.deepcopy(sender)
        callback = update.get("callback_query")
        if isinstance(callback, dict):
            self._callback_queries[str(callback["id"])] = {"answered": False}
            if isinstance(callback.get("message"), dict):
                self._remember_chat(callback["message"].get("chat"))
        inline = update.get("inline_query")
        if isinstance(inline, dict):
            self._inline_queries[str(inline["id"])] = {"answered": False}

    def _remember_message(self, message: dict[str, Any]) -> None:
        chat = message.get("chat")
        self._remember_chat(chat)
        if isinstance(chat, dict) and "message_id" in message:
            key = (int(chat["id"]), int(message["message_id"]))
            self._messages[key] = copy.deepcopy(message)
            self._last_message_id[key[0]] = max(self._last_message_id.get(key[0], 0), key[1])

    def _remember_chat(self, chat: Any) -> None:
        if isinstance(chat, dict) and "id" in chat and "type" in chat:
            self._chats[int(chat["id"])] = {**self._chats.get(int(chat["id"]), {}), **chat}

    # ---- shared helpers for bot methods -----------------------------------------------------

    def _synthetic_chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}

    def _chat_for(self, params: dict[str, Any], key: str = "chat_id") -> dict[str, Any]:
        raw = params.get(key)
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for chat in self._chats.values():
                if str(chat.get("username", "")).lower() == raw[1:].lower():
                    return chat
            raise ApiError(400, "Bad Request: chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if isinstance(raw, bool) or chat_id == 0:
            raise ApiError(400, "Bad Request: chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            if not self.auto_create_chats:
                raise ApiError(400, "Bad Request: chat not found")
            chat = self._chats[chat_id] = self._synthetic_chat(chat_id)
        return chat

    def _new_message_id(self, chat_id: int) -> int:
        with self._lock:
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
            return message_id

    def _format_text(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        limit: int,
        empty_error: str | None,
        long_error: str,
    ) -> tuple[str, list[dict[str, Any]]]:
        text = "" if text is None else str(text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "Bad Request: strings must be encoded in UTF-8") from None
        mode = str(parse_mode).strip().lower() if parse_mode else ""
        if mode == "html":
            try:
                plain, parsed = parse_telegram_html(
                    text, strict_ampersand=self.strict_html_entities
                )
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif mode in ("", "markdown", "markdownv2"):
            plain = text  # Markdown is not validated by this fake (see module docstring)
            parsed = [dict(e) for e in entities] if isinstance(entities, list) else []
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        plain, parsed = _strip_text(plain, parsed)
        if not plain and empty_error:
            raise ApiError(400, empty_error)
        if _utf16_len(plain) > limit:
            raise ApiError(400, long_error)
        return plain, parsed

    def _check_reply_markup(self, markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be '
                "an Array of Arrays",
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        'Field "text" must be of type String',
                    )
                if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if (
                        not isinstance(data, str)
                        or not data
                        or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        return markup

    def _reply_target(self, chat: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
        reply_parameters = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        message_id: Any = None
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply", allow_missing))
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        target = self._messages.get(
            (int(chat["id"]), _int_param({"message_id": message_id}, "message_id"))
        )
        if target is None:
            if allow_missing:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        reply = copy.deepcopy(target)
        reply.pop("reply_to_message", None)
        return reply

    def _bot_message(
        self,
        chat: dict[str, Any],
        params: dict[str, Any],
        content: dict[str, Any],
        *,
        markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        reply = self._reply_target(chat, params)
        message: dict[str, Any] = {
            "message_id": self._new_message_id(int(chat["id"])),
            "from": self.bot_user,
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
        }
        if reply is not None:
            message["reply_to_message"] = reply
        message.update({key: value for key, value in content.items() if value not in (None, [])})
        if markup and "inline_keyboard" in markup:  # only inline keyboards are echoed back
            message["reply_markup"] = copy.deepcopy(markup)
        self._messages[(int(chat["id"]), int(message["message_id"]))] = message
        return message

    def _caption_content(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = self._format_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            empty_error=None,
            long_error="Bad Request: message caption is too long",
        )
        return {"caption": caption or None, "caption_entities": entities}

    def _register_file(self, kind: str, data: bytes, extension: str = "bin") -> _StoredFile:
        self._file_counter += 1
        number = self._file_counter
        stored = _StoredFile(
            file_id=f"Fake{kind.title().replace('_', '')}FileId{number:06d}",
            file_unique_id=f"FakeUnique{number:06d}",
            file_path=f"{kind}s/file_{number}.{extension}",
            data=data,
        )
        self._files[stored.file_id] = stored
        return stored

    def _media_object(self, kind: str, source: Any) -> Any:
        """Build the Bot API object for ``kind`` from upload bytes, a file_id or a URL."""
        with self._lock:
            if isinstance(source, UploadedFile):
                stored = self._register_file(kind, source.data)
            elif isinstance(source, bytes):
                stored = self._register_file(kind, source)
            elif isinstance(source, str) and source in self._files:
                stored = self._files[source]
            elif isinstance(source, str) and source.startswith(("http://", "https://")):
                stored = self._register_file(kind, b"")
            elif source is None or source == "":
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            else:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if kind == "photo":
            return [
                {**base, "file_unique_id": stored.file_unique_id + "s", "width": 90, "height": 67},
                {**base, "width": 1280, "height": 960},
            ]
        extra: dict[str, dict[str, Any]] = {
            "document": {"file_name": "file.bin", "mime_type": "application/octet-stream"},
            "audio": {"duration": 1, "mime_type": "audio/mpeg"},
            "video": {"width": 640, "height": 360, "duration": 1, "mime_type": "video/mp4"},
            "animation": {"width": 320, "height": 240, "duration": 1},
            "voice": {"duration": 1, "mime_type": "audio/ogg"},
            "video_note": {"length": 240, "duration": 1},
            "sticker": {
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        }
        base.update(extra.get(kind, {}))
        if kind == "document" and isinstance(source, UploadedFile) and source.filename:
            base["file_name"] = source.filename
        return base

    def _editable_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        if params.get("message_id") is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((int(chat["id"]), _int_param(params, "message_id")))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    @staticmethod
    def _inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
        return copy.deepcopy(markup) if markup and "inline_keyboard" in markup else None

    @staticmethod
    def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
        if value in (None, [], ""):
            message.pop(key, None)
        else:
            message[key] = value

    # ---- bot method handlers (called with the lock held) ------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook.get("url"):
            raise ApiError(409, CONFLICT_WEBHOOK_ACTIVE)
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        try:  # Integer in the docs; fractions are accepted so tests can poll briefly
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, 'Bad Request: field "timeout" must be of type Integer') from None
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if allowed else None
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        elif offset:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        # A newer getUpdates terminates an older one still waiting, like on the real server.
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        self._long_polls_waiting += 1
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, CONFLICT_OTHER_GET_UPDATES)
                batch = self._deliverable(limit)
                if batch or self._stopping.is_set():
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
        finally:
            self._long_polls_waiting -= 1

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        for update in list(self._updates):
            kinds = set(update) - {"update_id"}
            wanted = kinds & set(allowed) if allowed else kinds - _NOT_DELIVERED_BY_DEFAULT
            if not wanted:  # Telegram never delivers filtered-out updates
                self._updates.remove(update)
        return [copy.deepcopy(update) for update in list(self._updates)[:limit]]

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.lower().startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {key: value for key, value in params.items() if key != "certificate"}
        if not url:
            self._webhook = {}
        self._cond.notify_all()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if info["url"]:
            info["max_connections"] = int(self._webhook.get("max_connections") or 40)
            info["ip_address"] = HOST
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return self._commands.get(key, [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    def _set_bot_text(self, field_name: str, params: dict[str, Any]) -> bool:
        self._bot_texts[(field_name, str(params.get("language_code") or ""))] = str(
            params.get(field_name) or ""
        )
        return True

    def _get_bot_text(self, field_name: str, params: dict[str, Any]) -> dict[str, str]:
        language = str(params.get("language_code") or "")
        value = self._bot_texts.get((field_name, language), self._bot_texts.get((field_name, "")))
        if value is None and field_name == "name":
            value = self.bot_first_name
        return {field_name: value or ""}

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        text, entities = self._format_text(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_MESSAGE_LENGTH,
            empty_error="Bad Request: message text is empty",
            long_error="Bad Request: message is too long",
        )
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._bot_message(chat, params, {"text": text, "entities": entities}, markup=markup)

    def _send_media(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        content = {} if kind in _CAPTIONLESS_MEDIA else self._caption_content(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        content[kind] = self._media_object(kind, params.get(kind))
        return self._bot_message(chat, params, content, markup=markup)

    def _send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
        if not all(isinstance(v, int | float) for v in location.values()):
            raise ApiError(400, "Bad Request: wrong latitude/longitude specified")
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._bot_message(chat, params, {"location": location}, markup=markup)

    def _send_contact(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        contact = {
            key: params[key]
            for key in ("phone_number", "first_name", "last_name", "vcard")
            if params.get(key)
        }
        if "phone_number" not in contact or "first_name" not in contact:
            raise ApiError(400, "Bad Request: phone number and first name must be non-empty")
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._bot_message(chat, params, {"contact": contact}, markup=markup)

    def _send_dice(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        emoji = str(params.get("emoji") or "🎲")
        dice = {"emoji": emoji, "value": 4}
        return self._bot_message(chat, params, {"dice": dice})

    def _send_media_group(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat_for(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the media group")
        self._media_group_counter += 1
        group_id = str(13_000_000_000_000_000 + self._media_group_counter)
        messages = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise ApiError(400, "Bad Request: can't parse InputMedia JSON object")
            source = item.get("media")
            if isinstance(source, str) and source.startswith("attach://"):
                source = params.get(source[len("attach://") :])
            content = self._caption_content(item)
            content[kind] = self._media_object(kind, source)
            content["media_group_id"] = group_id
            messages.append(self._bot_message(chat, params, content))
        return messages

    def _source_message(self, params: dict[str, Any], what: str) -> dict[str, Any]:
        source_chat = self._chat_for(params, "from_chat_id")
        message_id = _int_param(params, "message_id")
        message = self._messages.get((int(source_chat["id"]), message_id))
        if message is None:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        return message

    def _copy_message(self, params: dict[str, Any]) -> dict[str, int]:
        chat = self._chat_for(params)
        source = self._source_message(params, "copy")
        content = {
            key: copy.deepcopy(value)
            for key, value in source.items()
            if key in _MEDIA_KEYS | {"text", "entities", "caption", "caption_entities", "sticker"}
        }
        if "caption" in params:
            content.update(self._caption_content(params))
        markup = self._check_reply_markup(params.get("reply_markup"))
        return {"message_id": self._bot_message(chat, params, content, markup=markup)["message_id"]}

    def _forward_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        source = self._source_message(params, "forward")
        content = {
            key: copy.deepcopy(value)
            for key, value in source.items()
            if key not in ("message_id", "from", "chat", "date", "reply_to_message", "edit_date")
        }
        sender = source.get("from") or self.bot_user
        content["forward_origin"] = {"type": "user", "sender_user": sender, "date": source["date"]}
        return self._bot_message(chat, params, content)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text, entities = self._format_text(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_MESSAGE_LENGTH,
            empty_error="Bad Request: message text is empty",
            long_error="Bad Request: message is too long",
        )
        markup = self._inline_only(self._check_reply_markup(params.get("reply_markup")))
        if params.get("inline_message_id"):
            return True
        message = self._editable_message(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        current = (message.get("text"), message.get("entities", []), message.get("reply_markup"))
        if current == (text, entities, markup):
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        message["text"] = text
        self._set_or_drop(message, "entities", entities)
        self._set_or_drop(message, "reply_markup", markup)  # no markup given: keyboard removed
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        content = self._caption_content(params)
        markup = self._inline_only(self._check_reply_markup(params.get("reply_markup")))
        if params.get("inline_message_id"):
            return True
        message = self._editable_message(params)
        if not _MEDIA_KEYS & set(message):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        current = (message.get("caption"), message.get("caption_entities", []))
        if (
            current == (content["caption"], content["caption_entities"])
            and message.get("reply_markup") == markup
        ):
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        self._set_or_drop(message, "caption", content["caption"])
        self._set_or_drop(message, "caption_entities", content["caption_entities"])
        self._set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = self._inline_only(self._check_reply_markup(params.get("reply_markup")))
        if params.get("inline_message_id"):
            return True
        message = self._editable_message(params)
        if message.get("reply_markup") == markup:
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        self._set_or_drop(message, "reply_markup", markup)
        return message

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._chat_for(params)
        key = (int(chat["id"]), _int_param(params, "message_id"))
        if self._messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _delete_messages(self, params: dict[str, Any]) -> bool:
        chat = self._chat_for(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        for message_id in ids:
            key = (int(chat["id"]), _int_param({"message_ids": message_id}, "message_ids"))
            self._messages.pop(key, None)
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        state = self._callback_queries.get(str(params.get("callback_query_id") or ""))
        if state is None or state["answered"]:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        state.update(answered=True, answer=copy.deepcopy(params))
        return True

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        state = self._inline_queries.get(query_id)
        if state is None or state["answered"]:
            raise ApiError(400, QUERY_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id")) for result in results if isinstance(result, dict)]
        if len(ids) != len(set(ids)):
            raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for result in results:
            if isinstance(result, dict):
                self._check_reply_markup(result.get("reply_markup"))
        state["answered"] = True
        self.inline_answers[query_id] = copy.deepcopy(params)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._chat_for(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        chat_id = None if params.get("chat_id") is None else int(self._chat_for(params)["id"])
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise ApiError(400, "Bad Request: can't parse menu button JSON object")
        self._menu_buttons[chat_id] = copy.deepcopy(button)
        return True

    def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = None if params.get("chat_id") is None else int(self._chat_for(params)["id"])
        return (
            self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "default"}
        )

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        user_id = _int_param(params, "user_id")
        if user_id == self.bot_id:
            return {"status": "member", "user": self.bot_user}
        user = self._users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        status = self._member_status.get((int(chat["id"]), user_id), "member")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                          can_delete_messages=True, can_manage_video_chats=True,
                          can_restrict_members=True, can_promote_members=False,
                          can_change_info=True, can_invite_users=True,
                          can_post_stories=False, can_edit_stories=False,
                          can_delete_stories=False)
        elif status == "creator":
            member.update(is_anonymous=False)
        return member

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
