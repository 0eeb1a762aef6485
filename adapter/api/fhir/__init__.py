"""The FHIR REST endpoint `/fhir` (issue 13): `router.fhir_router`, over the use cases
`adapter.services.fhir_resources` and `fhir_bundle`."""
