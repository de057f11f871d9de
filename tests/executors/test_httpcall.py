"""The http step's command against a real server: what it sends, prints and decides."""

from __future__ import annotations

import pytest

from tests.http_fixture import Server, http_server
from trainyard.executors.httpcall import (
    JUDGED_FAILED,
    NO_RESPONSE,
    REQUEST_VARIABLE,
    SUCCEEDED,
    HttpRequest,
    canonical,
    main,
    shown_url,
)

__all__ = ["http_server"]


def call(request: HttpRequest, capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main({REQUEST_VARIABLE: request.to_json()})
    out, err = capfd.readouterr()
    return code, out, err


def test_get_prints_the_body_and_sends_the_headers(
    http_server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    request = HttpRequest(url=f"{http_server.url}/hello", headers=[("X-Team", "vision")])
    code, out, err = call(request, capfd)
    assert code == SUCCEEDED
    # One newline more than the body: the engine drops it, so `result` is the body exactly.
    assert out == '{"method": "GET", "path": "/hello", "body": ""}\n'
    assert err.strip() == f"GET {http_server.url}/hello: 200 OK"
    assert http_server.got("/hello")[0].headers["X-Team"] == "vision"


def test_post_sends_method_and_body(http_server: Server, capfd: pytest.CaptureFixture[str]) -> None:
    request = HttpRequest(url=f"{http_server.url}/items", method="POST", body=b'{"a": 1}')
    code, out, _ = call(request, capfd)
    assert code == SUCCEEDED
    got = http_server.got("/items")[0]
    assert (got.method, got.body) == ("POST", b'{"a": 1}')
    assert '"method": "POST"' in out


def test_a_404_fails_and_says_so(http_server: Server, capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(HttpRequest(url=f"{http_server.url}/missing"), capfd)
    assert code == JUDGED_FAILED
    assert out == "no such thing\n\n"
    assert err.splitlines()[-1] == "received non-2xx response code: 404"


def test_success_condition_over_status_body_and_headers(
    http_server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    condition = (
        'response.statusCode == 201 && response.body contains "made" '
        '&& response.headers["X-Kind"][0] == "test" && request.headers["X-A"][0] == "1"'
    )
    request = HttpRequest(
        url=f"{http_server.url}/created", headers=[("X-A", "1")], success_condition=condition
    )
    assert call(request, capfd)[0] == SUCCEEDED
    failing = HttpRequest(
        url=f"{http_server.url}/created", success_condition="response.statusCode == 200"
    )
    code, _, err = call(failing, capfd)
    assert code == JUDGED_FAILED
    assert err.splitlines()[-1] == "successCondition 'response.statusCode == 200' evaluated false"


def test_a_success_condition_may_accept_a_404(
    http_server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    request = HttpRequest(
        url=f"{http_server.url}/missing", success_condition="response.statusCode == 404"
    )
    assert call(request, capfd)[0] == SUCCEEDED


def test_a_condition_that_is_not_boolean_fails_clearly(
    http_server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    request = HttpRequest(url=f"{http_server.url}/x", success_condition="response.statusCode")
    code, _, err = call(request, capfd)
    assert code == JUDGED_FAILED
    assert "must be true or false, not 200" in err.splitlines()[-1]


def test_timeout_seconds_bounds_the_wait(
    http_server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(HttpRequest(url=f"{http_server.url}/slow", timeout=0.5), capfd)
    assert (code, out) == (NO_RESPONSE, "")
    assert err.strip() == f'GET "{http_server.url}/slow": no response within 0.5s'


def test_no_server_is_no_response(capfd: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(HttpRequest(url="http://127.0.0.1:9/"), capfd)
    assert code == NO_RESPONSE
    assert err.startswith('GET "http://127.0.0.1:9/": ')
    assert "refused" in err


def test_secret_headers_are_sent_but_never_shown(
    http_server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    request = HttpRequest(
        url=f"{http_server.url}/private",
        headers=[("Authorization", "Bearer t0p-s3cret")],
        secret_headers=frozenset({"Authorization"}),
        success_condition='len(request.headers) == 0 && response.body == "welcome"',
    )
    code, out, err = call(request, capfd)
    assert code == SUCCEEDED
    assert "s3cret" not in out + err


def test_names_and_urls_as_shown() -> None:
    assert canonical("content-type") == "Content-Type"
    assert canonical("X-REQUEST-id") == "X-Request-Id"
    assert (
        shown_url("https://bob:pw@example.com:8443/a?b=1")
        == "https://bob:***@example.com:8443/a?b=1"
    )
    assert shown_url("http://example.com/") == "http://example.com/"
