"""The reply shapes the emulator serves, as the real endpoint documents them (or, where it does
not, as we chose): the gateway's and the service's error bodies, a proxy's HTML page, the
gateway's rate-limit reply, and a person's thumbnail list with presigned URLs."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from aiohttp import web

from worker.emulator.state import Person

__all__ = [
    "GATEWAY_ERRORS", "LAST_THUMBNAIL_CODE", "PERSON_NOT_FOUND_CODE", "gateway_error",
    "invalid_request", "last_thumbnail_kept", "person_not_found", "proxy_page", "rate_limited",
    "service_error", "thumbnail_list",
]  # fmt: skip

# status -> (errorCode, message) of the API Gateway's error body
GATEWAY_ERRORS = {
    401: ("200", "Authentication Failed"),
    404: ("300", "Not Found Exception"),
    429: ("410", "Throttle Limited"),  # what injected 429 faults send
    500: ("900", "Unexpected Error"),
    503: ("500", "Endpoint Error"),
    504: ("510", "Endpoint Timeout"),
}
_RATE_LIMITED = ("420", "Rate Limited")  # the gateway's 429 when a key's rate is exceeded
# The real code for "a person must keep a thumbnail" is undocumented; this one is our choice.
LAST_THUMBNAIL_CODE = "10010"
PERSON_NOT_FOUND_CODE = "10404"  # also undocumented; our choice
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_STORAGE = "https://kr.object.ncloudstorage.com/emulator"  # where the thumbnail URLs point


def gateway_error(status: int, details: str, headers: dict[str, str] | None = None) -> web.Response:
    """An API Gateway error body: {"error": {"errorCode", "message", "details"}}."""
    code, message = GATEWAY_ERRORS[status]
    body = {"error": {"errorCode": code, "message": message, "details": details}}
    return web.json_response(body, status=status, headers=headers)


def rate_limited() -> web.Response:
    """The gateway's 429 for a key over its rate: errorCode 420, and no Retry-After."""
    code, message = _RATE_LIMITED
    details = "request rate limit exceeded"
    body = {"error": {"errorCode": code, "message": message, "details": details}}
    return web.json_response(body, status=429)


def service_error(status: int, code: str, message: str) -> web.Response:
    """A Media Intelligence error body: {"code", "message"}."""
    return web.json_response({"code": code, "message": message}, status=status)


def invalid_request() -> web.Response:
    """The service's 400 for a malformed person id or body."""
    return service_error(400, "10001", "Invalid Request.")


def last_thumbnail_kept() -> web.Response:
    """The service's 400 for a removal that would leave a person without a thumbnail."""
    message = "A person must keep at least one thumbnail; the request was not applied."
    return service_error(400, LAST_THUMBNAIL_CODE, message)


def person_not_found() -> web.Response:
    """The service's 404 for a person it does not know."""
    return service_error(404, PERSON_NOT_FOUND_CODE, "Person not found.")


def proxy_page(status: int, headers: dict[str, str]) -> web.Response:
    """An HTML error page as a proxy in front of the gateway (nginx) sends it."""
    page = _PROXY_PAGE.format(status=status)
    return web.Response(status=status, text=page, content_type="text/html", headers=headers)


def thumbnail_list(workspace: str, person_id: int, person: Person) -> web.Response:
    """Success, code "0", with the person's thumbnails: ids, presigned URLs, which is primary."""
    base = f"{_STORAGE}/{quote(workspace, safe='')}"
    thumbnails = [
        {
            "id": tid,
            "url": f"{base}/{person_id}/{tid}.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires=300&X-Amz-Signature={secrets.token_hex(32)}",
            "isPrimaryThumbnail": tid == person.primary,
        }
        for tid in person.thumbnails
    ]
    result = {"thumbnailList": thumbnails}
    return web.json_response({"code": "0", "message": "success", "result": result})
