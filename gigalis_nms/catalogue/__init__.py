"""The wholesale offer catalogue: offers, prices, terms and SLA classes, read from
``billing/catalogue.yaml`` and served as TMF620 product offerings."""
