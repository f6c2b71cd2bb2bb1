"""Open data: the licence and attribution of everything the site publishes, and the ways
portals and statisticians take it whole: the DCAT-AP catalogue, Frictionless data
packages, each indicator's CSV with its metadata, schema.org markup and the bulk download.

Every read here goes through the public selectors (``stats.selectors``): only published,
current values, only public indicators (``indicators_public``).
"""
