"""The HTTP client edge that reads a FHIR server (issue 13): searches with paging
(`client`), SMART Backend Services or a static bearer token (`auth`), a request-rate
limit (`pacing`), and the Bulk Data `$export` kick-off, poll and download (`bulk`).

It speaks JSON and HTTP only: what the resources mean is `adapter.fhir`'s, what is kept
of them `adapter.services`'. Nothing here logs or keeps a resource, a token or a key.
"""
