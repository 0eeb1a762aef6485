"""Bearer JWTs (D-122): a token signed by the configured issuer's key, for the right
audience, naming a tenant and a role, is a caller; any other token is a 401, an unknown
role a 403. The keys: an EC P-256 pair made here, its public half as the JWKS file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from adapter.settings.service import JwtSettings
from tests.api.service import Service, make_service
from tests.submission.pki import SubmissionPki
from tests.submission.setup import sealing_for

ISSUER, AUDIENCE = "https://idp.example/realms/practices", "substreg"


@pytest.fixture(scope="module")
def signer() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def service(
    submission_pki: SubmissionPki, tmp_path: Path, signer: ec.EllipticCurvePrivateKey
) -> Service:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(signer.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "ES256"}]}))
    settings = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=jwks, jwks_url=None)
    return make_service(sealing_for(submission_pki, tmp_path), jwt=settings)


def _token(signer: Any, **changes: Any) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "dr.example",
        "exp": int(time.time()) + 300,
        "substreg_tenant": "alpha",
        "substreg_role": "doctor",
    } | changes
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, signer, algorithm="ES256", headers={"kid": "k1"})


def _get(service: Service, token: str, path: str = "/reports") -> int:
    answer = service.client().get(path, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


def test_a_token_of_the_issuer_is_a_caller_of_its_tenant_and_role(
    service: Service, signer: Any
) -> None:
    assert _get(service, _token(signer)) == 200
    assert _get(service, _token(signer), "/tenant/keys") == 403  # a doctor is no admin
    assert _get(service, _token(signer, substreg_role="admin"), "/tenant/keys") == 200
    beta = service.tenants["beta"]
    client = service.client()
    approve = f"/reports/{beta.pending[0]}/approve"
    header = {"Authorization": f"Bearer {_token(signer)}"}
    assert client.post(approve, headers=header).status_code == 404  # alpha's token


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://other.example"},
        {"aud": "someone-else"},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"sub": None},
        {"substreg_tenant": None},
        {"substreg_tenant": "gamma"},  # a tenant this service does not hold
    ],
    ids=["issuer", "audience", "expired", "no-expiry", "no-subject", "no-tenant", "unknown"],
)
def test_any_other_token_is_refused_with_401(
    service: Service, signer: Any, changes: dict[str, Any]
) -> None:
    assert _get(service, _token(signer, **changes)) == 401


def test_a_token_signed_by_another_key_or_with_a_shared_secret_is_refused(
    service: Service,
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert _get(service, _token(stranger)) == 401
    claims = jwt.decode(_token(stranger), options={"verify_signature": False})
    assert _get(service, jwt.encode(claims, "secret" * 6, algorithm="HS256")) == 401
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _get(service, unsigned) == 401


def test_a_role_the_service_does_not_know_is_forbidden(service: Service, signer: Any) -> None:
    assert _get(service, _token(signer, substreg_role="nurse")) == 403
