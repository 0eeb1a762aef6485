"""The HTTP edge of the service (issue 13): routers built by factories that take the
caller dependency (`tenancy.current_caller`), mounted by `app.create_app`."""
