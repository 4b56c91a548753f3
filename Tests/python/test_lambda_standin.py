"""The Lambda stand-in's SigV4 check accepts exactly the requests a correct signer produces."""

import importlib.util
import pathlib

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = importlib.util.spec_from_file_location(
    "lambda_standin", pathlib.Path(__file__).parents[1] / "simulators" / "lambda_standin.py")
standin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(standin)

SECRETS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
PATH = "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn/invocations"


def signed(body=b'{"a":1}', secret=SECRETS["AKIDEXAMPLE"]):
    request = AWSRequest(method="POST", url="http://127.0.0.1:9001" + PATH, data=body,
                         headers={"content-type": "application/json", "x-amz-invocation-type": "RequestResponse"})
    SigV4Auth(Credentials("AKIDEXAMPLE", secret), "lambda", "us-east-1").add_auth(request)
    headers = {key.lower(): value for key, value in request.headers.items()}
    headers["host"] = "127.0.0.1:9001"
    return headers


def test_a_correct_signature_verifies():
    assert standin.verify("POST", PATH, signed(), b'{"a":1}', SECRETS) == ("AKIDEXAMPLE", None)


def test_a_changed_body_fails():
    akid, problem = standin.verify("POST", PATH, signed(), b'{"a":2}', SECRETS)
    assert akid == "AKIDEXAMPLE" and "does not match" in problem


def test_a_wrong_secret_fails():
    _, problem = standin.verify("POST", PATH, signed(secret="not-the-secret"), b'{"a":1}', SECRETS)
    assert "does not match" in problem


def test_unknown_key_and_missing_header_fail():
    assert "unknown access key" in standin.verify("POST", PATH, signed(), b'{"a":1}', {"OTHER": "x"})[1]
    headers = signed()
    del headers["x-amz-invocation-type"]
    assert "missing" in standin.verify("POST", PATH, headers, b'{"a":1}', SECRETS)[1]
    assert standin.verify("POST", PATH, {"host": "h"}, b"", SECRETS) == (None, "no SigV4 Authorization header")
