"""The staff back-office: the Django admin, customised (site, queue, case page, audit, dashboard,
two-factor login). Admin classes here read through kyc.queue and write through kyc.services and
kyc.reviews only."""
