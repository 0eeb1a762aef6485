"""The HTTP edge of the service (issue 13): a layer beside the command line. Routes are
thin over the same use cases (`adapter.services`) the CLI calls; `app.create_app` builds
the service, `tenancy` resolves who calls, `outcome` turns errors into OperationOutcome."""
