"""The REST API: the inventory under /api/v1/, with one error shape and one transaction per
request."""
