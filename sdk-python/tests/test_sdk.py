"""The SDK's own logic under CPython, against componentize-py's stub bindings (whose host
functions are replaced here by fakes). `make python-connectors` runs it:

    PYTHONPATH=target/python/bindings:sdk-python python3 -m unittest discover -s sdk-python/tests
"""

import unittest

from componentize_py_types import Err
from wit_world.imports import http as wit_http
from wit_world.imports import types as wit_types
from wit_world.imports import vault as wit_vault

import postd_sdk as sdk
from postd_sdk import Error, http, oauth, retry_after_ms, webhook


class RetryAfter(unittest.TestCase):
    def test_seconds_and_dates_become_milliseconds(self):
        self.assertEqual(retry_after_ms("120", 0), 120_000)
        # 1994-11-06T08:49:37Z is 784111777.
        self.assertEqual(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_770), 7_000)
        self.assertEqual(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800), 0)
        self.assertIsNone(retry_after_ms("soon", 0))
        self.assertIsNone(retry_after_ms("Sun, 06 Nov 1994 25:49:37 GMT", 0))
        self.assertIsNone(retry_after_ms("-5", 0))
        self.assertIsNone(retry_after_ms("", 0))
        self.assertIsNone(retry_after_ms("\u00b2", 0), "only ASCII digits are seconds")

    def test_huge_values_saturate(self):
        self.assertEqual(retry_after_ms("99999999999999999999999999", 0), 2**64 - 1)
        self.assertEqual(retry_after_ms("18446744073709551", 0), 18_446_744_073_709_551_000)
        self.assertEqual(retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", 0), 253_402_300_799_000)
        self.assertIsNone(retry_after_ms("Sun, 06 Nov 99999 08:49:37 GMT", 0))


class Statuses(unittest.TestCase):
    def error(self, status, headers=()):
        return Error.from_status(status, list(headers), 0).value

    def test_statuses_map_to_the_taxonomy(self):
        self.assertIsInstance(self.error(401), wit_types.ConnectorError_AuthExpired)
        self.assertIsInstance(self.error(403), wit_types.ConnectorError_PermissionMissing)
        self.assertIsInstance(self.error(422), wit_types.ConnectorError_InvalidInput)
        self.assertIsInstance(self.error(502), wit_types.ConnectorError_Transient)
        self.assertIsInstance(self.error(500), wit_types.ConnectorError_Transient)
        self.assertIsInstance(self.error(408), wit_types.ConnectorError_Transient)
        self.assertIsInstance(self.error(503, [("retry-after", "30")]), wit_types.ConnectorError_RateLimited)
        teapot = self.error(418)
        self.assertIsInstance(teapot, wit_types.ConnectorError_Platform)
        self.assertEqual(teapot.value.code, "418")
        self.assertTrue(Error.from_status(500, [], 0).is_retryable())
        self.assertFalse(Error.from_status(400, [], 0).is_retryable())
        self.assertEqual(Error.from_status(500, [], 0).kind, "transient")

    def test_429_waits_for_retry_after_or_a_minute(self):
        self.assertEqual(self.error(429, [("Retry-After", "7")]).value.retry_after_ms, 7000)
        self.assertEqual(self.error(429).value.retry_after_ms, sdk.DEFAULT_RETRY_AFTER_MS)


class Requests(unittest.TestCase):
    def setUp(self):
        self.sent = []
        self.answer = wit_http.Response(200, [], b"{}")
        self.real_send = wit_http.send

        def send(request):
            self.sent.append(request)
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

        wit_http.send = send

    def tearDown(self):
        wit_http.send = self.real_send

    def test_query_parameters_are_encoded_and_appended(self):
        request = http.Request.get("https://api.example/v1/items").query("fields", "id,name").query("q", "a b&c=d")
        self.assertEqual(request.url, "https://api.example/v1/items?fields=id%2Cname&q=a%20b%26c%3Dd")
        self.assertEqual(http.encode("a/b~c_d.e-f é"), "a%2Fb~c_d.e-f%20%C3%A9")

    def test_bodies_bearer_and_sending(self):
        self.answer = wit_http.Response(201, [("x-id", "7")], b'{"id":"7"}')
        answer = http.Request.post("https://x.example/posts").bearer("k").json({"a": 1, "b": None}).send()
        self.assertEqual(answer.error_for_status().json(), {"id": "7"})
        self.assertEqual(answer.header("X-Id"), "7")
        sent = self.sent[0]
        self.assertEqual(sent.method, wit_http.Method.POST)
        self.assertEqual(sent.body, b'{"a":1,"b":null}')
        self.assertIn(("authorization", "Bearer k"), sent.headers)
        self.assertIn(("content-type", "application/json"), sent.headers)
        form = http.Request.post("https://x.example/token").form([("grant_type", "refresh_token"), ("t", "r/1+")])
        self.assertEqual(form.body, b"grant_type=refresh_token&t=r%2F1%2B")

    def test_error_statuses_and_host_refusals_raise_connector_errors(self):
        self.answer = wit_http.Response(429, [("retry-after", "3")], b"")
        with self.assertRaises(Error) as limited:
            http.Request.get("https://x.example").send().error_for_status()
        self.assertEqual(limited.exception.value.value.retry_after_ms, 3000)
        self.answer = Err(wit_http.HttpError_Timeout())
        with self.assertRaises(Error) as timeout:
            http.Request.get("https://x.example").send()
        self.assertEqual(timeout.exception.kind, "transient")
        self.answer = Err(wit_http.HttpError_Denied("host not granted"))
        with self.assertRaises(Error) as denied:
            http.Request.get("https://x.example").send()
        self.assertEqual(denied.exception.value.value.code, "egress-denied")
        self.answer = wit_http.Response(200, [], b"<html>")
        with self.assertRaises(Error) as malformed:
            http.Request.get("https://x.example").send().json()
        self.assertEqual(malformed.exception.value.value.code, "malformed-response")


class Exports(unittest.TestCase):
    class Echo(sdk.Connector):
        def manifest(self):
            return sdk.Manifest("echo", "Echo", "1.2.3", sdk.AuthKind.API_KEY).with_rate_budget(10, 1)

        def health(self):
            raise Error.auth_revoked("gone")

        def list_accounts(self):
            return wit_vault.get("x")

    def test_the_manifest_is_stamped_and_errors_become_err(self):
        exported = sdk.export_connector(self.Echo)()
        manifest = exported.manifest()
        self.assertEqual((manifest.id, manifest.sdk_version), ("echo", sdk.SDK_VERSION))
        self.assertEqual(manifest.rate_budget, sdk.RateBudget(10, 1))
        with self.assertRaises(Err) as revoked:
            exported.health()
        self.assertIsInstance(revoked.exception.value, wit_types.ConnectorError_AuthRevoked)
        with self.assertRaises(Err) as unsupported:
            exported.publish(None, None)
        self.assertEqual(unsupported.exception.value, wit_types.ConnectorError_NotSupported("publish"))

    def test_an_unhandled_import_error_is_mapped(self):
        real = wit_vault.get

        def unavailable(name):
            raise Err(wit_vault.VaultError_Unavailable("down"))

        wit_vault.get = unavailable
        try:
            with self.assertRaises(Err) as raised:
                sdk.export_connector(self.Echo)().list_accounts()
        finally:
            wit_vault.get = real
        self.assertIsInstance(raised.exception.value, wit_types.ConnectorError_Transient)

    def test_only_connector_subclasses_are_exported(self):
        with self.assertRaises(TypeError):
            sdk.export_connector(object)


class OAuthAndWebhooks(unittest.TestCase):
    def test_authorize_url_encodes_every_parameter(self):
        url = oauth.authorize_url(
            "https://x.example/auth?v=2", "client 1", "https://app.example/cb?x=1", ["a", "b"], ",", "st/ate"
        )
        self.assertEqual(
            url,
            "https://x.example/auth?v=2&response_type=code&client_id=client%201"
            "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&scope=a%2Cb&state=st%2Fate",
        )

    def test_token_responses_and_oauth_errors(self):
        token = oauth.TokenResponse.parse(
            b'{"access_token":"a","expires_in":"86400","refresh_token":"","refresh_expires_in":10,"scope":"x y,z"}'
        )
        self.assertEqual((token.expires_at(100), token.refresh_expires_at(0)), (86_500, 10))
        self.assertIsNone(token.refresh_token, "an empty refresh token must never replace a stored one")
        self.assertEqual(token.scopes(), ["x", "y", "z"])
        with self.assertRaises(Error) as grant:
            oauth.TokenResponse.parse(b'{"error":"invalid_grant"}')
        self.assertEqual(grant.exception.kind, "auth-revoked")
        self.assertEqual(oauth.oauth_error(b"<html>").kind, "platform")
        absurd = oauth.TokenResponse.parse(
            b'{"access_token":"a","expires_in":9223372036854775807,"refresh_expires_in":-9223372036854775808}'
        )
        self.assertEqual(absurd.expires_at(1_790_000_000), 2**63 - 1)
        self.assertEqual(absurd.refresh_expires_at(-1), -(2**63))

    def test_hmac_signatures(self):
        # RFC 4231 test case 2.
        signature = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        self.assertTrue(webhook.verify_hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?", signature.upper()))
        self.assertFalse(webhook.verify_hmac_sha256_hex(b"Jefe", b"what do ya want", signature))
        self.assertFalse(webhook.verify_hmac_sha256_hex(b"Jefe", b"x", "zz"))


if __name__ == "__main__":
    unittest.main()
