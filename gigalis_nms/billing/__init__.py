"""Wholesale billing: subscriptions that follow circuits, the monthly run of invoices and SLA
credit notes, their PDF/Factur-X documents, and revenue reports."""
