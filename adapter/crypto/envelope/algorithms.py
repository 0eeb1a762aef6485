"""The algorithm identifiers of the envelope, as asn1crypto values, and their checks.

We write exactly one choice per slot (BSI TR-02102-1) and read only that choice, with the
parameters other implementations write for it (`openssl cms` included):

    digest            SHA-256 (parameters absent or NULL)
    signature         RSASSA-PSS: SHA-256, MGF1 with SHA-256, trailer 1; we use a salt of
                      32 bytes and read any salt length the parameters name (OpenSSL writes
                      the longest one); or ECDSA with SHA-256 on P-256
    key transport     RSAES-OAEP: SHA-256, MGF1 with SHA-256, empty label
    content           AES-256-GCM (RFC 5084): a 12-byte nonce, a 16-byte ICV

A value outside these is refused by the reader with a sentence that names it; the caller
turns that into the fitting error.
"""

from __future__ import annotations

from functools import cache

from asn1crypto import algos, cms, core

__all__ = [
    "GCM_NONCE_BYTES",
    "GCM_TAG_BYTES",
    "PSS_SALT_BYTES",
    "GcmParameters",
    "aes256_gcm",
    "ecdsa_sha256",
    "gcm_nonce",
    "oaep_problem",
    "oaep_sha256",
    "pss_salt_length",
    "pss_sha256",
    "sha256",
    "sha256_problem",
]

GCM_NONCE_BYTES = 12
GCM_TAG_BYTES = 16
PSS_SALT_BYTES = 32  # the digest's length, as TR-02102-1 recommends

_SHA256 = {"algorithm": "sha256"}
_MGF1_SHA256 = {"algorithm": "mgf1", "parameters": _SHA256}


class GcmParameters(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    """GCMParameters of RFC 5084: `aes-nonce`, `aes-ICVlen` (DEFAULT 12)."""

    _fields = [  # noqa: RUF012  (asn1crypto's class attribute, as it spells it)
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


# The identifiers we write never change: each is built once and read back from its DER
# for every envelope (asn1crypto takes about a millisecond to build PSS parameters).


def sha256() -> algos.DigestAlgorithm:
    return algos.DigestAlgorithm.load(_der("sha256"))


def pss_sha256() -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm.load(_der("pss"))


def ecdsa_sha256() -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm.load(_der("ecdsa"))


def oaep_sha256() -> cms.KeyEncryptionAlgorithm:
    return cms.KeyEncryptionAlgorithm.load(_der("oaep"))


def aes256_gcm(nonce: bytes) -> cms.EncryptionAlgorithm:
    params = GcmParameters({"aes_nonce": nonce, "aes_icvlen": GCM_TAG_BYTES})
    name = cms.EncryptionAlgorithmId.load(_der("aes256_gcm"))
    return cms.EncryptionAlgorithm({"algorithm": name, "parameters": params})


@cache
def _der(name: str) -> bytes:
    if name == "aes256_gcm":
        value = cms.EncryptionAlgorithmId("aes256_gcm")
    elif name == "sha256":
        value = algos.DigestAlgorithm(_SHA256)
    elif name == "ecdsa":
        value = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    elif name == "oaep":
        params = {"hash_algorithm": _SHA256, "mask_gen_algorithm": _MGF1_SHA256}
        value = cms.KeyEncryptionAlgorithm(
            {"algorithm": "rsaes_oaep", "parameters": algos.RSAESOAEPParams(params)}
        )
    else:
        pss = algos.RSASSAPSSParams(
            {
                "hash_algorithm": _SHA256,
                "mask_gen_algorithm": _MGF1_SHA256,
                "salt_length": PSS_SALT_BYTES,
            }
        )
        value = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": pss})
    der: bytes = value.dump()
    return der


def sha256_problem(digest: algos.DigestAlgorithm) -> str | None:
    """None for SHA-256 (parameters absent or NULL), else what it is."""
    if digest["algorithm"].native != "sha256":
        return f"the digest {digest['algorithm'].native} (only SHA-256 is accepted)"
    if not isinstance(digest["parameters"], core.Void | core.Null):
        return "SHA-256 with parameters"
    return None


def pss_salt_length(algorithm: algos.SignedDigestAlgorithm) -> int | str:
    """The salt length of RSASSA-PSS with SHA-256 and MGF1-SHA-256; a sentence otherwise."""
    params = algorithm["parameters"]
    if isinstance(params, core.Void):
        return "RSASSA-PSS without parameters (SHA-1)"
    problem = sha256_problem(params["hash_algorithm"])
    mgf = params["mask_gen_algorithm"]
    if problem is None and mgf["algorithm"].native != "mgf1":
        problem = f"the mask generation {mgf['algorithm'].native}"
    problem = problem or sha256_problem(mgf["parameters"])
    if problem is None and params["trailer_field"].native != "trailer_field_bc":
        problem = "a PSS trailer field other than 1"
    if problem is not None:
        return f"RSASSA-PSS with {problem}"
    salt: int = params["salt_length"].native
    return salt


def oaep_problem(algorithm: cms.KeyEncryptionAlgorithm) -> str | None:
    """None for RSAES-OAEP with SHA-256, MGF1-SHA-256 and an empty label; else what it is."""
    name = algorithm["algorithm"].native
    if name != "rsaes_oaep":
        return f"the key transport {name} (only RSAES-OAEP with SHA-256 is accepted)"
    params = algorithm["parameters"]
    if isinstance(params, core.Void):
        return "RSAES-OAEP without parameters (SHA-1)"
    mgf = params["mask_gen_algorithm"]
    problem = sha256_problem(params["hash_algorithm"])
    if problem is None and mgf["algorithm"].native != "mgf1":
        problem = f"the mask generation {mgf['algorithm'].native}"
    problem = problem or sha256_problem(mgf["parameters"])
    source = params["p_source_algorithm"]
    if problem is None and (source["algorithm"].native, source["parameters"].native) != (
        "p_specified",
        b"",
    ):
        problem = "a label"
    return f"RSAES-OAEP with {problem}" if problem else None


def gcm_nonce(algorithm: cms.EncryptionAlgorithm) -> bytes | str:
    """The nonce of AES-256-GCM with a 12-byte nonce and a 16-byte ICV; a sentence otherwise."""
    name = algorithm["algorithm"].native
    if name != "aes256_gcm":
        return f"the content encryption {name} (only AES-256-GCM is accepted)"
    params = algorithm["parameters"].parse(GcmParameters)
    nonce: bytes = params["aes_nonce"].native
    if len(nonce) != GCM_NONCE_BYTES:
        return f"AES-256-GCM with a {len(nonce)}-byte nonce (12 are required)"
    if params["aes_icvlen"].native != GCM_TAG_BYTES:
        return f"AES-256-GCM with a {params['aes_icvlen'].native}-byte ICV (16 are required)"
    return nonce
